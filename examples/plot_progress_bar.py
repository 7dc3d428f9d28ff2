"""
================================
Watching a fit: the progress bar
================================

skdbn's estimators support scikit-learn's callbacks (scikit-learn 1.9 or
later). ``ProgressBar`` (it needs ``rich``) draws one bar per task: the
fit, its stages (pretraining, the head, fine-tuning), each layer, and the
epochs. Whatever the version, every epoch of every stage is recorded in
``history_``.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skdbn import DBNClassifier
from skdbn.inspection import TrainingCurvesDisplay

X, y = load_digits(return_X_y=True)
clf = DBNClassifier((128, 64), max_iter=20, early_stopping=True, random_state=0)

try:
    from sklearn.callback import ProgressBar

    clf.set_callbacks(ProgressBar())
except ImportError:  # scikit-learn < 1.9, or rich missing
    pass
clf.fit(X / 16, y)

# %%
# The history, one record per epoch of every stage.
for record in clf.history_[:3] + clf.history_[-2:]:
    print(record)

# %%
TrainingCurvesDisplay.from_estimator(clf)
plt.show()

"""
=========================================
What an RBM learns: its filters on digits
=========================================

An RBM's hidden units are feature detectors: each has one weight per pixel,
and drawing those weights as an image shows what the unit responds to.
Trained on scikit-learn's 8x8 digits, the filters turn from noise into
smooth light and dark blobs a few pixels wide: at this coarse resolution a
piece of a digit is a blob of ink beside a blob of background (on 28x28
images such as Fashion-MNIST's, RBM filters show edges and strokes). Their
training curve shows the one-step reconstruction error falling epoch by
epoch.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skdbn import RBM
from skdbn.inspection import FiltersDisplay, TrainingCurvesDisplay

X, _ = load_digits(return_X_y=True)
X = X / 16  # Bernoulli visible units model values in [0, 1]

rbm = RBM(n_components=64, n_iter=30, random_state=0).fit(X)

# %%
# Each image is one hidden unit's 64 weights, on a grey scale centred on
# zero: white pixels excite the unit, black ones inhibit it.
display = FiltersDisplay.from_estimator(rbm, image_shape=(8, 8))

# %%
# The reconstruction error per epoch.
TrainingCurvesDisplay.from_estimator(rbm)
plt.show()

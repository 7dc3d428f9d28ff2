"""
============================================
Training on data that does not fit in memory
============================================

``partial_fit`` trains on one chunk at a time. With ``np.memmap`` the data
stays on disk and only the chunk being read is in memory: here the digits
are written to a file, then a ``DBNTransformer`` streams over its chunks
(one CD pass per layer and chunk) and a ``DBNClassifier`` fine-tunes on
them.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skdbn import DBNClassifier, DBNTransformer
from skdbn.inspection import TrainingCurvesDisplay

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
path = Path(tempfile.mkdtemp()) / "digits.f32"
X.tofile(path)
on_disk = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)

# %%
# Unsupervised: stream the stack over the file, ten passes of 200-row chunks.
stack = DBNTransformer((128, 32), random_state=0)
for _ in range(10):
    for start in range(0, len(on_disk), 200):
        stack.partial_fit(on_disk[start : start + 200])
print("codes:", stack.transform(on_disk[:3]).round(2))

# %%
# Each ``partial_fit`` call counts as one epoch of every layer: the curves
# show each layer's reconstruction error call after call, over the ten
# passes through the file.
TrainingCurvesDisplay.from_estimator(stack)

# %%
# Supervised: the first call pretrains on its chunk; every call then makes
# one fine-tuning epoch over the chunk it gets.
clf = DBNClassifier((128,), random_state=0)
accuracy = []
for _ in range(5):
    for start in range(0, 1500, 300):
        stop = start + 300
        clf.partial_fit(on_disk[start:stop], y[start:stop], classes=np.arange(10))
    accuracy.append(clf.score(on_disk[1500:], y[1500:]))
print(f"held-out accuracy {accuracy[-1]:.4f}")

# %%
# The held-out accuracy after each pass over the first 1500 rows.
fig, ax = plt.subplots(figsize=(5, 3), constrained_layout=True)
ax.plot(range(1, len(accuracy) + 1), accuracy, marker="o")
ax.set_xlabel("pass over the training chunks")
ax.set_ylabel("held-out accuracy")
ax.set_xticks(range(1, len(accuracy) + 1))

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

import numpy as np
from sklearn.datasets import load_digits

from skdbn import DBNClassifier, DBNTransformer

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
# Supervised: the first call pretrains on its chunk; every call then makes
# one fine-tuning epoch over the chunk it gets.
clf = DBNClassifier((128,), random_state=0)
for _ in range(5):
    for start in range(0, 1500, 300):
        stop = start + 300
        clf.partial_fit(on_disk[start:stop], y[start:stop], classes=np.arange(10))
print(f"held-out accuracy {clf.score(on_disk[1500:], y[1500:]):.4f}")

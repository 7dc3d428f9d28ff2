"""
======================================
A DBN that dreams digits of each class
======================================

The generative DBN of Hinton, Osindero & Teh (2006) learns images and their
labels jointly: its top RBM sees the penultimate layer together with ten
label units. Clamping one label and running Gibbs sampling in the top RBM,
then passing the state down through the generative weights, produces
images of that class. The same model classifies, by the top RBM's free
energy for each label.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdbn import GenerativeDBNClassifier
from skdbn.inspection import SamplesDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, stratify=y, random_state=0
)
dbn = GenerativeDBNClassifier((256, 512), random_state=0).fit(X_train, y_train)
print(f"test accuracy {dbn.score(X_test, y_test):.4f}")

# %%
# Ten dreams per class, one class per row.
images, labels = dbn.sample(100, y=np.repeat(dbn.classes_, 10), random_state=0)
fig, axes = plt.subplots(10, 10, figsize=(6, 6))
for ax, image in zip(axes.ravel(), images):
    ax.imshow(image.reshape(8, 8), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
for row, label in enumerate(dbn.classes_):
    axes[row, 0].set_ylabel(str(label), rotation=0, ha="right", va="center")

# %%
# One chain for a 3, after more and more Gibbs steps.
SamplesDisplay.from_estimator(
    dbn, image_shape=(8, 8), n_chains=6, steps=(1, 10, 100, 1000), y=3
)
plt.show()

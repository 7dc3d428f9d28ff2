"""
================================================
A deep autoencoder against PCA: codes and images
================================================

Hinton & Salakhutdinov (2006) pretrained a stack of RBMs, unrolled it into
an encoder and a decoder (the transposed weights) and fine-tuned the whole
autoencoder on reconstruction. Its codes kept far more of the data than
PCA's with as many components; their Fig. 3 showed the 2-D codes of
documents and digits separating into classes.

Here on the 8x8 digits: a 64-256-128-2 autoencoder against 2-component PCA,
then reconstructions with 8 code units.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skdbn import DBNTransformer
from skdbn.inspection import ReconstructionsDisplay

X, y = load_digits(return_X_y=True)
X = X / 16

autoencoder = DBNTransformer(
    (256, 128, 2), fine_tune=True, max_iter=100, random_state=0
).fit(X)
codes = autoencoder.transform(X)
pca_codes = PCA(n_components=2).fit_transform(X)

# %%
# Two-dimensional codes, one colour per digit.
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, points, title in zip(
    axes, (pca_codes, codes), ("PCA, 2 components", "autoencoder, 2 code units")
):
    scatter = ax.scatter(points[:, 0], points[:, 1], c=y, cmap="tab10", s=6)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
_ = fig.colorbar(scatter, ax=axes, ticks=range(10), label="digit")

# %%
# Reconstructions from 8 code units, next to PCA with 8 components fitted
# on the same images.
autoencoder8 = DBNTransformer(
    (256, 128, 8), fine_tune=True, max_iter=100, random_state=0
).fit(X)
display = ReconstructionsDisplay.from_estimator(
    autoencoder8, X, image_shape=(8, 8), n_images=10, pca=True
)
print(display.errors_)
plt.show()

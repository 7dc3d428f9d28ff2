"""
==========================================================
Comparing generative models by log-likelihood, not proxies
==========================================================

How well does an RBM model its data? Its reconstruction error and its
pseudo-log-likelihood are cheap to compute, but neither is the
log-likelihood, and they can rank two models the wrong way round. The
log-likelihood needs the partition function ``Z``; :mod:`skdbn.likelihood`
estimates ``log Z`` by annealed importance sampling (AIS), as Salakhutdinov
& Murray (2008) did for MNIST RBMs, and bounds a DBN's log-likelihood from
below.

Here RBMs with the same number of hidden units are trained on binarised
digits with CD-1, CD-10 and persistent CD (PCD) for the same number of
epochs, and a 2-layer DBN with layers trained as the CD-1 RBM is. All are
measured on held-out digits, in nats per image (higher is better). On these
digits the proxies disagree with the log-likelihood: the reconstruction
error ranks CD-1 first and PCD last, the log-likelihood the other way round.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdbn import RBM, DBNTransformer
from skdbn.likelihood import ais_log_partition, dbn_lower_bound, log_likelihood

X, _ = load_digits(return_X_y=True)
X = (X / 16 > 0.5).astype(np.float32)  # binary pixels: a proper Bernoulli model
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

settings = dict(n_components=64, n_iter=30, batch_size=20, random_state=0)
models = {
    "CD-1": RBM(**settings),
    "CD-10": RBM(n_gibbs_steps=10, **settings),
    "PCD": RBM(persistent=True, learning_rate=0.01, **settings),
}
rows = {}
for name, rbm in models.items():
    rbm.fit(X_train)
    log_z = ais_log_partition(
        rbm, X_train, n_chains=100, n_temperatures=3000, random_state=0
    )
    reconstruction = rbm.inverse_transform(rbm.transform(X_test))
    rows[name] = {
        "log-likelihood": float(log_likelihood(rbm, X_test, log_z).mean()),
        "+-": 3 * log_z.std_error,
        "pseudo-log-likelihood": float(rbm.score_samples(X_test).mean()),
        "reconstruction error": float(((X_test - reconstruction) ** 2).sum(1).mean()),
    }

# %%
# A DBN: a second RBM of 64 units on the first layer's hidden means, and the
# variational lower bound on its log-likelihood (the true value lies above).
dbn = DBNTransformer((64, 64), pretrain_epochs=30, batch_size=20, random_state=0).fit(
    X_train
)
bound = dbn_lower_bound(
    dbn, X_test, n_samples=10, n_chains=100, n_temperatures=3000, random_state=0
)
rows["DBN (bound)"] = {
    "log-likelihood": bound.mean,
    "+-": 3 * (bound.std_error + bound.log_partition.std_error),
}

print(f"{'model':12} {'log p (nats)':>14} {'PLL':>8} {'recon.':>8}")
for name, row in rows.items():
    pll = row.get("pseudo-log-likelihood", float("nan"))
    rec = row.get("reconstruction error", float("nan"))
    print(
        f"{name:12} {row['log-likelihood']:8.2f} +-{row['+-']:4.2f} "
        f"{pll:8.2f} {rec:8.2f}"
    )

# %%
# The three measures side by side. The reconstruction error rewards the
# model whose one-step reconstruction is closest to the data, which CD-1
# trains for directly; the log-likelihood asks how much probability the
# model puts on unseen digits, which is what a generative model is for.
names = list(models)
fig, axes = plt.subplots(1, 3, figsize=(10, 3), constrained_layout=True)
measures = ["log-likelihood", "pseudo-log-likelihood", "reconstruction error"]
for ax, measure in zip(axes, measures):
    ax.bar(names, [rows[name][measure] for name in names])
    ax.set_title(measure + (" (lower is better)" if "error" in measure else ""))
    low = min(rows[name][measure] for name in names)
    high = max(rows[name][measure] for name in names)
    ax.set_ylim(low - 0.2 * (high - low + 1e-9), high + 0.2 * (high - low + 1e-9))
plt.show()

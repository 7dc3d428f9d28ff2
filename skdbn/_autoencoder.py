"""Layer-wise pretraining by autoencoders, the alternative to RBMs.

Each layer trains a one-hidden-layer autoencoder on the output of the layers
below: an encoder ``f(v) = unit(v @ W.T + b_h)`` with the layer's hidden
units and a decoder ``g(h)`` with its own weights and the visible units,
whose loss follows the visible unit type (cross-entropy for Bernoulli,
squared error for Gaussian). The decoder is then dropped and the encoder
kept (Bengio et al., 2007); with ``noise`` the inputs are corrupted by
masking, the targets are not (denoising autoencoders, Vincent et al., 2008).
"""

import numpy as np

from ._network import Network
from ._training import TrainingState, make_optimizer, run_epochs
from ._units import glorot_uniform


def pretrain_autoencoder_layer(
    X,
    n_hidden,
    *,
    visible_unit,
    hidden_unit,
    epochs,
    batch_size,
    learning_rate,
    noise,
    rng,
    dtype,
    rows=None,
    verbose=0,
):
    """Train one layer's autoencoder on ``X`` (or its rows ``rows``).

    Adam with step ``learning_rate`` for ``epochs`` epochs of mini-batches.

    Returns
    -------
    W : ndarray of shape (n_hidden, n_visible)
        The encoder's weights, laid out as an RBM's ``components_``.
    b_h, b_v : ndarray
        The encoder's and the decoder's biases.
    loss_curve : list of float
        The reconstruction loss per epoch (per row, on the clean targets).
    """
    n_visible = X.shape[1]
    encoder = glorot_uniform(
        (n_visible, n_hidden), n_visible, n_hidden, hidden_unit, rng, dtype
    )
    decoder = glorot_uniform(
        (n_hidden, n_visible), n_hidden, n_visible, visible_unit, rng, dtype
    )
    net = Network(
        [encoder, decoder],
        [np.zeros(n_hidden, dtype=dtype), np.zeros(n_visible, dtype=dtype)],
        [hidden_unit, visible_unit],
    )
    state = TrainingState(make_optimizer("adam", net.params, learning_rate, 0.0))
    targets = X.toarray() if hasattr(X, "toarray") else X
    run_epochs(
        net,
        X,
        targets,
        state,
        n_epochs=epochs,
        batch_size=batch_size,
        rng=rng,
        input_noise=noise,
        check_convergence=False,
        verbose=verbose,
        label="autoencoder pretraining",
        learning_rate_name="learning_rate_init",
        rows=rows,
    )
    W = np.ascontiguousarray(net.coefs[0].T)
    return W, net.intercepts[0], net.intercepts[1], list(state.loss_curve)

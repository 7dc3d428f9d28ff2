"""Classical momentum and weight decay at the cost of one sweep per step.

The textbook step is ``velocity = momentum * velocity + lr * gradient -
decay * W`` then ``params += velocity``. Done as written it costs, besides
the gradient product, a pass to scale the velocity (through GEMM's
``beta``, which OpenBLAS applies as a separate pass over the output: on this
project's 2-core machine a ``(200x501).T @ (200x785)`` product takes 0.71
ms with ``beta=-0.9`` against 0.57 ms with ``beta=1``), one for the decay
and one for the update. :class:`DecayedMomentum` keeps three numbers beside
the arrays so that only the product (with ``beta=1``) and the update remain.
"""

import numpy as np

from ._blas import axpy

RESCALE_BELOW = 1e-4


class DecayedMomentum:
    """Parameters and velocity under momentum and weight decay, over scalars.

    The textbook step, ``velocity = momentum * velocity + lr * gradient -
    decay * W`` then ``params += velocity`` (``decay`` being the learning
    rate times the weight decay), costs a pass over the weights for the
    decay besides the one for the update. Here the parameters are stored as
    ``params = scale * stored_params`` and the velocity as
    ``velocity_scale * stored_velocity - k * W``. With ``m = momentum *
    velocity_scale`` and ``keep = 1 - momentum * k - decay``, the step is

    - ``stored_velocity += lr * gradient / m``: the product, ``beta=1``;
    - ``params' = keep * params + m * stored_velocity``: one axpy onto
      ``stored_params`` with ``m / (keep * scale)``, and ``scale *= keep``;
    - ``velocity' = (m / keep) * stored_velocity - k' * W'`` with ``k' =
      (momentum * k + decay) / keep``: numbers only.

    When ``|m|`` falls below :data:`RESCALE_BELOW` (one step in 87 at
    momentum 0.9) the product folds it in through ``beta`` and ``m`` becomes
    1; so does ``scale``, by one pass, if it ever gets that small. Products
    with the parameters take ``scale`` in their ``alpha``. In float32 the
    parameters stay within 1.5 times the textbook float32 loop's rounding
    error (tests/test_numerics.py).

    With ``packed_biases`` the last row and column are biases (see
    :func:`skdbn._rbm_numerics.pack_params`), which are not decayed and have
    no ``-k * W`` part: each step rescales those two edges, ``n_hidden +
    n_visible`` numbers, to keep the shared numbers true for them.

    Parameters
    ----------
    params, velocity : ndarray
        C-contiguous and alike; taken over and updated in place (call
        :meth:`normalize` to read them).
    packed_biases : bool, default=False
    """

    def __init__(self, params, velocity, *, packed_biases=False):
        self.params = params
        self.velocity = velocity
        # (params, velocity) views of the undecayed last row and column.
        self._bias_edges = (
            ((params[-1], velocity[-1]), (params[:-1, -1], velocity[:-1, -1]))
            if packed_biases
            else ()
        )
        self.scale = 1.0
        self.velocity_scale = 1.0
        self.k = 0.0
        self._step = None

    def begin_step(self, momentum, decay):
        """Start a step; return ``(alpha, beta)`` for the gradient product.

        The caller adds ``coefficient * gradient`` onto ``velocity`` with a
        product of ``alpha * coefficient`` and ``beta``, then calls
        :meth:`end_step`.
        """
        carried = momentum * self.velocity_scale
        alpha, beta = 1.0, carried  # fold the scale in: 0 without momentum
        if abs(carried) >= RESCALE_BELOW:
            alpha, beta = 1.0 / carried, 1.0
        # After the product, momentum * velocity + lr * gradient (its first
        # part) is ``applied * velocity``.
        applied = carried if beta == 1.0 else 1.0
        self._step = (momentum, decay, applied)
        return alpha, beta

    def end_step(self):
        """Add the velocity to the parameters and update the scalars."""
        momentum, decay, applied = self._step
        # The new parameters are keep * params + applied * stored_velocity,
        # keep = 1 - momentum * k - decay; the velocity's -k * W part
        # carries the decay over to later steps.
        keep = 1.0 - momentum * self.k - decay
        if not abs(keep) >= 0.5:
            # Only with a decay step near 1 or a diverging run: take the
            # step on plain values, which divides by nothing.
            self.velocity_scale = applied
            self.k = momentum * self.k + decay
            self.normalize()
            axpy(self.velocity, self.params, 1.0)
            return
        edges = self._bias_edges if keep != 1.0 else ()
        for p_edge, _ in edges:
            # Biases are not decayed (and their velocity has no -k * W
            # part): rescale their stored values so that the common numbers
            # hold for them too. In float64, so that float32 does not
            # round the same factor the same way at every step.
            p_edge[...] = p_edge / np.float64(keep)
        axpy(self.velocity, self.params, applied / (keep * self.scale))
        for _, v_edge in edges:
            v_edge[...] = v_edge * np.float64(keep)
        self.scale *= keep
        self.velocity_scale = applied / keep
        self.k = (momentum * self.k + decay) / keep
        if abs(self.scale) < RESCALE_BELOW:
            np.multiply(self.params, self.scale, out=self.params)
            self.scale = 1.0

    def normalize(self):
        """Store plain values: ``params`` and ``velocity`` hold them again."""
        if self.scale != 1.0:
            np.multiply(self.params, self.scale, out=self.params)
        if self.velocity_scale != 1.0:
            np.multiply(self.velocity, self.velocity_scale, out=self.velocity)
        if self.k:
            # -k * W on the decayed part alone (not on the bias edges).
            axpy(self.params, self.velocity, -self.k)
            for p_edge, v_edge in self._bias_edges:
                v_edge += self.k * p_edge
        self.scale = self.velocity_scale = 1.0
        self.k = 0.0
        return self.params, self.velocity

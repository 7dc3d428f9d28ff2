"""Classical momentum whose velocity is stored divided by a running scale.

A momentum step ``velocity = momentum * velocity + step`` scales the whole
velocity, and BLAS's GEMM can fold that into the gradient product only
through ``beta``, which OpenBLAS applies as a separate pass over the output
before the product (measured on this project's 2-core machine: a
``(200x501).T @ (200x785)`` product takes 0.71 ms with ``beta=-0.9``
against 0.57 ms with ``beta=1``). Keeping ``velocity = scale * stored``
instead, the step only shrinks the number ``scale`` and adds ``step /
scale`` onto ``stored``: a product with ``beta=1``. Every so often, when
``scale`` would fall below :data:`RESCALE_BELOW`, one product folds it back
into ``stored`` with ``beta``. The same values are stored in float32 as in
float64 up to rounding, since only the exponent range is at stake.
"""

from ._blas import axpy

# 0.9 ** 87 < 1e-4: with the usual momentum, one rescaling product in 87.
RESCALE_BELOW = 1e-4


class ScaledVelocity:
    """The velocity of one parameter array, as ``scale * stored``.

    Parameters
    ----------
    velocity : ndarray
        Initial velocity, C-contiguous; it is taken over and updated in
        place (call :meth:`normalize` to read it).
    """

    def __init__(self, velocity):
        self.stored = velocity
        self.scale = 1.0

    def begin_step(self, momentum):
        """Apply ``momentum`` to the velocity; return ``(alpha, beta)``.

        The caller then adds its step ``t`` with a product over ``stored``
        (``alpha`` times its own coefficient, and ``beta``), or with
        ``axpy(t, stored, coefficient / scale)``.
        """
        new_scale = momentum * self.scale
        if new_scale >= RESCALE_BELOW:
            self.scale = new_scale
            return 1.0 / new_scale, 1.0
        self.scale = 1.0
        return 1.0, new_scale  # 0 when momentum is 0: the product overwrites

    def apply(self, param):
        """``param += velocity``, one pass over both arrays."""
        axpy(self.stored, param, self.scale)
        return param

    def normalize(self):
        """Fold ``scale`` into ``stored``, which then holds the velocity."""
        if self.scale != 1.0:
            self.stored *= self.scale
            self.scale = 1.0
        return self.stored

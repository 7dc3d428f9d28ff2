"""Type aliases of the public API (skdbn ships ``py.typed``).

The estimators take NumPy array-likes, SciPy sparse matrices and, under
``sklearn.config_context(array_api_dispatch=True)``, the arrays of any Array
API namespace (PyTorch, CuPy, array-api-strict), and they return arrays of
the namespace they were given: :data:`Array` says so rather than promising a
NumPy array.
"""

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

#: Data an estimator reads: an array-like, a sparse matrix or array, or an
#: array of an Array API namespace.
MatrixLike = ArrayLike | sp.spmatrix | sp.sparray
#: An array an estimator returns: a NumPy array, or one of the namespace of
#: its input (a ``torch.Tensor`` for tensor input).
Array = Any
#: A seed, a ``RandomState`` instance, or None (fresh entropy).
RandomStateLike = int | np.random.RandomState | None

__all__ = ["Array", "ArrayLike", "MatrixLike", "RandomStateLike"]

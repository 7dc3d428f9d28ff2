"""scikit-learn compatible deep belief networks.

Estimators
----------
RBM
    One restricted Boltzmann machine layer, trained by contrastive divergence.
DBNTransformer
    A greedily pretrained stack of RBMs; optionally a deep autoencoder.
DBNClassifier, DBNRegressor
    Pretraining, a supervised head on the frozen features, then fine-tuning.
GenerativeDBNClassifier
    The generative DBN of Hinton, Osindero & Teh (2006): labels joined to the
    top RBM, up-down fine-tuning, class-conditional sampling.

show_versions
    The versions of Python, the dependencies and the BLAS libraries in use.
"""

from ._generative import GenerativeDBNClassifier
from ._rbm import RBM
from ._show_versions import show_versions
from ._supervised import DBNClassifier, DBNRegressor
from ._transformer import DBNTransformer
from ._validation import TrainingDivergedError
from .onnx import _register_when_skl2onnx_loads

# skl2onnx.to_onnx converts skdbn models once skl2onnx is imported (skdbn.onnx).
_register_when_skl2onnx_loads()

__all__ = [
    "RBM",
    "DBNClassifier",
    "DBNRegressor",
    "DBNTransformer",
    "GenerativeDBNClassifier",
    "TrainingDivergedError",
    "show_versions",
]
__version__ = "0.1.0.dev0"

"""ONNX export of fitted skdbn models, through ``skl2onnx``.

With the ``onnx`` extra installed (``pip install "skdbn[onnx]"``: skl2onnx
and onnxruntime), ``skl2onnx.to_onnx(model, X[:1])`` converts every skdbn
estimator, alone or inside a ``Pipeline``, and ``onnxruntime`` runs the
result without Python or pickle:

- :class:`~skdbn.RBM` and :class:`~skdbn.DBNTransformer`: ``transform`` (the
  up pass to the top layer);
- :class:`~skdbn.DBNClassifier`: the label and the probabilities (binary,
  multiclass, and for a multilabel model an indicator matrix and each
  label's probability), with skl2onnx's usual classifier options
  (``zipmap``);
- :class:`~skdbn.DBNRegressor`: ``predict``;
- :class:`~skdbn.GenerativeDBNClassifier`: the label and the probabilities,
  the top RBM's posterior over labels given the recognition pass.

The converters register with skl2onnx as soon as both packages are
imported, in either order: ``import skdbn`` arranges for it without
importing skl2onnx (whose import costs about a second) before you do, and
:func:`register_converters` does it at once. The graph computes in the
model's dtype: convert a float64 model with float64 input (``X[:1]``).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["register_converters"]

# skdbn's unit types as ONNX operators (None: the identity).
UNIT_OPERATORS = {
    "bernoulli": "Sigmoid",
    "gaussian": None,
    "relu": "Relu",
    "softmax": "Softmax",
}


def register_converters() -> None:
    """Register skdbn's converters and shape calculators with skl2onnx.

    Called on its own when skl2onnx is imported after skdbn; calling it
    again changes nothing.

    Raises
    ------
    ImportError
        When skl2onnx is not installed, naming the extra that brings it.
    """
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
        )
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError(
            "ONNX export needs skl2onnx (and onnxruntime to run the result): "
            'pip install "skdbn[onnx]"'
        ) from exc

    from ._generative import GenerativeDBNClassifier
    from ._rbm import RBM
    from ._supervised import DBNClassifier, DBNRegressor
    from ._transformer import DBNTransformer

    classifier_options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
    for model, shapes, convert, options in (
        (RBM, _transformer_shapes, _convert_transformer, None),
        (DBNTransformer, _transformer_shapes, _convert_transformer, None),
        (DBNRegressor, _regressor_shapes, _convert_regressor, None),
        (
            DBNClassifier,
            calculate_linear_classifier_output_shapes,
            _convert_classifier,
            classifier_options,
        ),
        (
            GenerativeDBNClassifier,
            calculate_linear_classifier_output_shapes,
            _convert_classifier,
            classifier_options,
        ),
    ):
        update_registered_converter(
            model,
            f"Skdbn{model.__name__}",
            shapes,
            convert,
            overwrite=True,
            options=options,
        )


# -- the networks each estimator predicts with ---------------------------------


def _encoder(model):
    """``(coefs, intercepts, units)`` of the up pass of an RBM or a transformer."""
    from ._rbm import RBM

    check_is_fitted(model)
    if isinstance(model, RBM):
        W = np.asarray(model.components_)
        return [W.T], [np.asarray(model.intercept_hidden_)], [model._units()[1]]
    n_layers = len(model._layers)
    return (
        [np.asarray(W) for W in model.coefs_[:n_layers]],
        [np.asarray(b) for b in model.intercepts_[:n_layers]],
        list(model._units[:n_layers]),
    )


def _dtype_of(model):
    from ._rbm import RBM

    weights = model.components_ if isinstance(model, RBM) else model.coefs_[0]
    return np.dtype(str(np.asarray(weights).dtype))


# -- graph building -------------------------------------------------------------


class _Graph:
    """Adds nodes and constants to skl2onnx's container in one dtype."""

    def __init__(self, scope, container, dtype):
        from skl2onnx.proto import onnx_proto

        self.scope, self.container = scope, container
        self.dtype = np.dtype(dtype)
        types = onnx_proto.TensorProto
        self.proto = types.DOUBLE if self.dtype == np.float64 else types.FLOAT

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def constant(self, values, hint="constant", dtype=None, proto=None):
        values = np.asarray(values, dtype=dtype or self.dtype)
        name = self.name(hint)
        self.container.add_initializer(
            name, proto or self.proto, list(values.shape), values.ravel()
        )
        return name

    def node(self, op_type, inputs, hint=None, output=None, domain=None, **attrs):
        output = output or self.name(hint or op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            output,
            op_domain=domain or "",
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return output

    def cast_input(self, name):
        return self.node("Cast", [name], "cast_input", to=self.proto)

    def output(self, name, variable):
        """``name`` cast to the type skl2onnx declared for ``variable``."""
        from skl2onnx.common.data_types import guess_proto_type

        self.node(
            "Cast",
            [name],
            output=variable.full_name,
            to=guess_proto_type(variable.type),
        )

    def affine(self, X, W, b, unit):
        """``unit``'s activation of ``X @ W + b``."""
        out = self.node("MatMul", [X, self.constant(W, "coefficient")])
        out = self.node("Add", [out, self.constant(np.reshape(b, (1, -1)), "bias")])
        op_type = UNIT_OPERATORS[unit]
        if op_type is None:
            return out
        attrs = {"axis": 1} if op_type == "Softmax" else {}
        return self.node(op_type, [out], **attrs)

    def stack(self, X, coefs, intercepts, units):
        for W, b, unit in zip(coefs, intercepts, units):
            X = self.affine(X, W, b, unit)
        return X


# -- shape calculators ----------------------------------------------------------


def _transformer_shapes(operator):
    model = operator.raw_operator
    _set_output(operator, _encoder(model)[0][-1].shape[1], _dtype_of(model))


def _regressor_shapes(operator):
    model = operator.raw_operator
    _set_output(operator, np.asarray(model.coefs_[-1]).shape[1], _dtype_of(model))


def _set_output(operator, n_columns, dtype):
    """One output of ``n_columns`` columns, in the model's precision."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    tensor_type = DoubleTensorType if dtype == np.float64 else FloatTensorType
    operator.outputs[0].type = tensor_type(
        [operator.inputs[0].type.shape[0], n_columns]
    )


# -- converters -------------------------------------------------------------------


def _convert_transformer(scope, operator, container):
    model = operator.raw_operator
    graph = _Graph(scope, container, _dtype_of(model))
    X = graph.cast_input(operator.inputs[0].full_name)
    graph.output(graph.stack(X, *_encoder(model)), operator.outputs[0])


def _convert_regressor(scope, operator, container):
    model = operator.raw_operator
    graph = _Graph(scope, container, _dtype_of(model))
    X = graph.cast_input(operator.inputs[0].full_name)
    out = graph.stack(X, *_network(model))
    # Back from the standardised targets the network was trained on.
    scale = np.asarray(model._y_scale, dtype=np.float64).reshape(1, -1)
    mean = np.asarray(model._y_mean, dtype=np.float64).reshape(1, -1)
    out = graph.node("Mul", [out, graph.constant(scale, "scale")])
    graph.output(
        graph.node("Add", [out, graph.constant(mean, "mean")]), operator.outputs[0]
    )


def _network(model):
    """The supervised DBN's whole network: its layers and its output unit."""
    check_is_fitted(model)
    return (
        [np.asarray(W) for W in model.coefs_],
        [np.asarray(b) for b in model.intercepts_],
        [*model._units, model._output_unit],
    )


def _convert_classifier(scope, operator, container):
    from ._generative import GenerativeDBNClassifier

    model = operator.raw_operator
    if isinstance(model, GenerativeDBNClassifier):
        graph = _Graph(scope, container, np.asarray(model._top_layer["W"]).dtype)
        X = graph.cast_input(operator.inputs[0].full_name)
        probabilities = _generative_probabilities(graph, X, model)
        multilabel = False
    else:
        graph = _Graph(scope, container, _dtype_of(model))
        X = graph.cast_input(operator.inputs[0].full_name)
        probabilities = graph.stack(X, *_network(model))
        multilabel = model._output_unit == "bernoulli"
    label_out = operator.outputs[0].full_name
    graph.output(probabilities, operator.outputs[1])
    if multilabel:
        # Each label whose probability is above 0.5, as predict does.
        above = graph.node(
            "Greater", [probabilities, graph.constant(0.5, "half")], "above"
        )
        graph.node("Cast", [above], output=label_out, to=7)  # int64
        return
    index = graph.node("ArgMax", [probabilities], "argmax", axis=1, keepdims=0)
    classes = np.asarray(model.classes_)
    # (scikit-learn's classifiers refuse fractional labels at fit: numeric
    # classes are whole numbers, exported as int64 as skl2onnx does.)
    from skl2onnx.proto import onnx_proto

    if np.issubdtype(classes.dtype, np.number) or classes.dtype == np.bool_:
        table = graph.constant(
            classes.astype(np.int64),
            "classes",
            dtype=np.int64,
            proto=onnx_proto.TensorProto.INT64,
        )
        graph.node("Gather", [table, index], output=label_out, axis=0)
    else:
        name = graph.name("classes")
        container.add_initializer(
            name,
            onnx_proto.TensorProto.STRING,
            [len(classes)],
            [str(c).encode("utf-8") for c in classes],
        )
        graph.node("Gather", [name, index], output=label_out, axis=0)


def _generative_probabilities(graph, X, model):
    """``P(label | x)`` of the top RBM given the recognition up pass.

    For each label ``c`` the log-odds are ``b_v[c] + sum_j softplus(pre_j +
    W[j, c])`` with ``pre`` the features' input to the top RBM's hidden
    units (see :func:`skdbn._updown.label_log_odds`); their softmax is the
    posterior.
    """
    from ._layer import params

    features = graph.stack(
        X,
        [np.asarray(W) for W in model.recognition_coefs_],
        [np.asarray(b) for b in model.recognition_intercepts_],
        list(model._units[1 : 1 + len(model.recognition_coefs_)]),
    )
    W, b_h, b_v = (np.asarray(p) for p in params(model._top_layer))
    n_labels = len(model.classes_)
    pre = graph.affine(features, W[:, n_labels:].T, b_h, "gaussian")  # (N, H)
    n_hidden = W.shape[0]
    pre = graph.node("Reshape", [pre, _shape(graph, [-1, 1, n_hidden])], "pre3d")
    per_label = graph.node(
        "Add", [pre, graph.constant(W[:, :n_labels].T[None, :, :], "label_weights")]
    )  # (N, labels, H)
    energy = graph.node("Softplus", [per_label])
    summed = graph.node(
        "MatMul", [energy, graph.constant(np.ones((n_hidden, 1)), "ones")]
    )  # (N, labels, 1)
    summed = graph.node("Reshape", [summed, _shape(graph, [-1, n_labels])], "summed")
    log_odds = graph.node(
        "Add", [summed, graph.constant(b_v[None, :n_labels], "label_bias")]
    )
    return graph.node("Softmax", [log_odds], axis=1)


def _shape(graph, dims):
    from skl2onnx.proto import onnx_proto

    return graph.constant(
        np.asarray(dims, dtype=np.int64),
        "shape",
        dtype=np.int64,
        proto=onnx_proto.TensorProto.INT64,
    )


def _register_when_skl2onnx_loads():
    """Register the converters as soon as skl2onnx is imported.

    ``import skdbn`` calls this: importing skl2onnx (and onnx) costs about a
    second, too much for everyone who never exports, so the registration
    waits for skl2onnx's own import, whenever that comes.
    """
    import importlib.abc
    import importlib.util
    import sys
    import warnings

    def register():
        try:
            register_converters()
        except Exception as exc:  # never break the user's import of skl2onnx
            warnings.warn(
                f"skdbn could not register its ONNX converters: {exc!r}",
                RuntimeWarning,
                stacklevel=3,
            )

    if "skl2onnx" in sys.modules:
        register()
        return

    class _WhenSkl2onnxLoads(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "skl2onnx":
                return None
            sys.meta_path.remove(self)  # once
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_register(module):
                exec_module(module)
                register()

            spec.loader.exec_module = exec_and_register
            return spec

    sys.meta_path.insert(0, _WhenSkl2onnxLoads())

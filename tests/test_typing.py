"""The public API carries type hints, and the package says so (PEP 561)."""

import configparser
import inspect
import typing
from pathlib import Path

import pytest

import skdbn
import skdbn.datasets
import skdbn.inspection
import skdbn.likelihood
import skdbn.onnx

ROOT = Path(skdbn.__file__).parent


def _public_callables():
    """Every public function and public method skdbn defines itself."""
    found = []
    for module in (
        skdbn,
        skdbn.inspection,
        skdbn.datasets,
        skdbn.likelihood,
        skdbn.onnx,
    ):
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.isclass(obj):
                found.append((name, obj))
                continue
            for attr, member in inspect.getmembers(obj):
                function = inspect.unwrap(getattr(member, "__func__", member))
                if (
                    not attr.startswith("_")
                    and callable(member)
                    and getattr(function, "__module__", "").startswith("skdbn")
                ):
                    found.append((f"{name}.{attr}", member))
    return found


def test_py_typed_marker_ships_with_the_package():
    assert (ROOT / "py.typed").is_file()
    config = configparser.ConfigParser()
    config.read(ROOT.parent / "setup.cfg")
    assert "py.typed" in config["options.package_data"]["skdbn"]


@pytest.mark.parametrize("name, function", _public_callables())
def test_public_callables_are_fully_annotated(name, function):
    signature = inspect.signature(function)
    unannotated = [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
    ]
    assert not unannotated, f"{name}: parameters without a type hint: {unannotated}"
    assert signature.return_annotation is not inspect.Signature.empty, name
    # The hints are strings (postponed evaluation): each must name a type.
    typing.get_type_hints(inspect.unwrap(getattr(function, "__func__", function)))


def test_the_public_surface_checked_is_not_empty():
    names = {name for name, _ in _public_callables()}
    assert {"RBM.fit", "DBNClassifier.predict_proba", "read_idx"} <= names
    assert len(names) >= 40

"""skdbn.show_versions: the versions and BLAS libraries a bug report needs."""

import sys

import numpy as np
import scipy
import sklearn
from threadpoolctl import threadpool_info

import skdbn


def test_versions_are_those_of_the_imported_packages():
    info = skdbn.show_versions(as_dict=True)
    dependencies = info["dependencies"]
    assert dependencies["skdbn"] == skdbn.__version__
    assert dependencies["numpy"] == np.__version__
    assert dependencies["scipy"] == scipy.__version__
    assert dependencies["scikit-learn"] == sklearn.__version__
    assert info["system"]["executable"] == sys.executable


def test_threadpools_are_the_loaded_blas_libraries():
    info = skdbn.show_versions(as_dict=True)
    reference = {pool["filepath"]: pool for pool in threadpool_info()}
    assert info["threadpools"]
    for pool in info["threadpools"]:
        assert pool["filepath"] in reference
        assert pool["num_threads"] == reference[pool["filepath"]]["num_threads"]
    assert any(
        pool["internal_api"] in ("openblas", "mkl", "blis")
        for pool in info["threadpools"]
    )


def test_a_missing_package_is_reported_not_raised(monkeypatch, capsys):
    from skdbn import _show_versions

    monkeypatch.setattr(
        _show_versions, "DEPENDENCIES", ("numpy", "no-such-package-skdbn")
    )
    info = skdbn.show_versions(as_dict=True)
    assert info["dependencies"]["no-such-package-skdbn"] is None
    assert skdbn.show_versions() is None
    out = capsys.readouterr().out
    assert "no-such-package-skdbn: not installed" in out
    assert f"numpy: {np.__version__}" in out
    assert "Threadpools" in out

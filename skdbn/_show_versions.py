"""``skdbn.show_versions()``: what to paste into a bug report."""

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

# The packages skdbn runs on, then the optional ones its extras bring.
DEPENDENCIES = (
    "skdbn",
    "numpy",
    "scipy",
    "scikit-learn",
    "joblib",
    "threadpoolctl",
    "matplotlib",
    "rich",
    "skops",
    "torch",
    "array-api-strict",
    "pytest",
    "hypothesis",
)


def _version(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def show_versions(*, as_dict: bool = False) -> dict | None:
    """Print the versions of Python, skdbn's dependencies and the BLAS in use.

    Paste its output into a bug report: results and speed depend on the
    numpy, scipy and scikit-learn versions and on the BLAS libraries
    loaded, with their thread counts (two copies of OpenBLAS, numpy's and
    scipy's, each with its own threads, are common).

    Parameters
    ----------
    as_dict : bool, default=False
        Return the information instead of printing it.

    Returns
    -------
    info : dict or None
        With ``as_dict=True``: ``"system"`` (Python, its executable, the
        machine), ``"dependencies"`` (package name to version, None when not
        installed) and ``"threadpools"`` (threadpoolctl's description of each
        BLAS and OpenMP library loaded: its API, version, threads and path).

    Examples
    --------
    >>> import skdbn
    >>> info = skdbn.show_versions(as_dict=True)
    >>> info["dependencies"]["numpy"] is not None
    True
    """
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    info = {
        "system": {
            "python": sys.version.replace("\n", " "),
            "executable": sys.executable,
            "machine": platform.platform(),
        },
        "dependencies": {name: _version(name) for name in DEPENDENCIES},
        "threadpools": [
            {
                key: pool.get(key)
                for key in ("internal_api", "version", "num_threads", "filepath")
            }
            for pool in threadpool_info()
        ],
    }
    if as_dict:
        return info
    print("System:")
    for key, value in info["system"].items():
        print(f"{key:>16}: {value}")
    print("\nPython dependencies:")
    for key, value in info["dependencies"].items():
        print(f"{key:>16}: {value if value is not None else 'not installed'}")
    print("\nThreadpools (BLAS and OpenMP libraries loaded):")
    for pool in info["threadpools"]:
        print(
            f"  {pool['internal_api']} {pool['version']}, "
            f"{pool['num_threads']} threads: {pool['filepath']}"
        )
    return None

"""Readers for datasets stored in the MNIST IDX format.

The IDX format (used by MNIST and Fashion-MNIST) is a tiny binary container: a
4-byte magic number, one big-endian ``uint32`` per dimension, then the raw
big-endian payload. Files are usually distributed gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_fashion_mnist", "load_mnist_format", "read_idx"]

#: Environment variable that overrides the default Fashion-MNIST folder.
FASHION_MNIST_DIR_ENV = "SKDBN_FASHION_MNIST_DIR"

#: Folder where the Debian package ``dataset-fashion-mnist`` installs the files.
DEFAULT_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# IDX type code -> big-endian numpy dtype, as defined by the format.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_PREFIXES = {"train": "train", "test": "t10k"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file into a numpy array.

    Parameters
    ----------
    path : str or os.PathLike
        Path to the file. Gzip compression is detected from the file content,
        so both ``.gz`` and uncompressed files are accepted.

    Returns
    -------
    array : ndarray
        Writable array with the shape given by the header and the dtype given by
        the type code (``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or
        ``float64``), in native byte order.

    Raises
    ------
    ValueError
        If the file is not valid gzip, the magic number is wrong, the type code
        is unknown, or the payload size does not match the header.
    OSError
        If the file cannot be read (e.g. ``FileNotFoundError``).

    Examples
    --------
    >>> from skdbn.datasets import read_idx
    >>> labels = read_idx("t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> labels.shape, labels.dtype  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    path = Path(path)
    with open(path, "rb") as file:
        file_size = os.fstat(file.fileno()).st_size
        # Sniff instead of trusting the suffix: raw IDX always starts with
        # 0x0000, so the two cases cannot be confused.
        compressed = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if not compressed:
            return _read_idx_stream(file, path, file_size, compressed=False)
        try:
            with gzip.GzipFile(fileobj=file, mode="rb") as stream:
                return _read_idx_stream(stream, path, file_size, compressed=True)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from exc


# Deflate cannot expand data by more than 1032 to 1 (a run of one byte value):
# a gzip file whose header claims more than this times its own size lies about
# its size, and is refused before any of the payload is read.
_MAX_DEFLATE_RATIO = 1032
# The payload is read in pieces of this size (bytes), so that a file shorter
# than its header claims costs only the memory of what it holds.
_READ_CHUNK = 2**20


def _read_exactly(stream, n_bytes):
    """Up to ``n_bytes`` from ``stream``, fewer only where it ends."""
    data = bytearray()
    while len(data) < n_bytes:
        chunk = stream.read(min(_READ_CHUNK, n_bytes - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _read_idx_stream(stream, path, file_size, *, compressed):
    """Read the IDX data of ``stream`` (the file, or its decompressed stream).

    The header is read and checked first; the payload is then read up to the
    size the header claims (refused at once when the file cannot hold it),
    and one byte more to make sure that nothing follows.
    """
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise ValueError(
            f"{path}: file too short for an IDX header ({len(magic)} bytes)"
        )
    zero0, zero1, type_code, ndim = magic
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{path}: bad IDX magic number 0x{bytes(magic).hex()} "
            "(expected two zero bytes, a type code and the number of dimensions)"
        )
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02X}")
    dtype = _IDX_DTYPES[type_code]

    header_size = 4 + 4 * ndim
    dims = _read_exactly(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{path}: header declares {ndim} dimensions but the file ends after "
            f"{4 + len(dims)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(bytes(dims), dtype=">u4"))
    # Python ints: the product of four uint32 dimensions overflows int64.
    expected = dtype.itemsize
    for d in shape:
        expected *= d
    needs = f"header shape {shape} of {dtype.newbyteorder('=')} needs {expected} bytes"
    if not compressed and file_size - header_size != expected:
        raise ValueError(
            f"{path}: payload is {file_size - header_size} bytes but {needs}"
        )
    if compressed and header_size + expected > _MAX_DEFLATE_RATIO * file_size:
        raise ValueError(
            f"{path}: {needs}, more than a gzip file of {file_size} bytes can "
            "hold; the file is corrupt or truncated"
        )
    payload = _read_exactly(stream, expected)
    if len(payload) < expected:
        raise ValueError(f"{path}: payload is {len(payload)} bytes but {needs}")
    if stream.read(1):
        raise ValueError(f"{path}: payload is more than {expected} bytes but {needs}")
    # A bytearray is writable, so the array needs no copy unless its byte
    # order must be swapped to the native one.
    data = np.frombuffer(payload, dtype=dtype)
    if not dtype.isnative and dtype.itemsize > 1:
        data = data.astype(dtype.newbyteorder("="))
    return data.view(dtype.newbyteorder("=")).reshape(shape)


def _check_kind(kind):
    if kind not in _PREFIXES:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    return _PREFIXES[kind]


def _expected_names(prefix):
    return (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")


def _find(data_dir, name):
    for candidate in (data_dir / f"{name}.gz", data_dir / name):
        if candidate.is_file():
            return candidate
    return None


def load_mnist_format(
    data_dir: str | os.PathLike,
    *,
    kind: str = "train",
    flatten: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-style image/label split from a folder of IDX files.

    Reads ``{prefix}-images-idx3-ubyte`` and ``{prefix}-labels-idx1-ubyte``, each
    either gzip-compressed (``.gz`` suffix) or not, where ``prefix`` is
    ``"train"`` for ``kind="train"`` and ``"t10k"`` for ``kind="test"``.

    Parameters
    ----------
    data_dir : str or os.PathLike
        Folder holding the IDX files.
    kind : {"train", "test"}, default="train"
        Which split to load.
    flatten : bool, default=True
        If True, images are returned as rows of shape ``(n_samples, rows * cols)``
        (``(n, 784)`` for 28x28 images); otherwise as ``(n_samples, rows, cols)``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of float32
            Pixel intensities scaled to ``[0, 1]``.
        target : ndarray of shape (n_samples,), dtype int64
            Labels.
        DESCR : str
            Short description of the loaded split.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        If ``kind`` is invalid, a file is malformed, the images are not a
        3-D ``uint8`` array, the labels are not 1-D, or the image and label
        counts differ.
    FileNotFoundError
        If ``data_dir`` lacks the image or label file.

    Examples
    --------
    >>> from skdbn.datasets import load_mnist_format
    >>> X, y = load_mnist_format("/data/mnist", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype  # doctest: +SKIP
    ((60000, 784), dtype('float32'), dtype('int64'))
    """
    prefix = _check_kind(kind)
    data_dir = Path(data_dir)
    image_name, label_name = _expected_names(prefix)
    image_path = _find(data_dir, image_name)
    label_path = _find(data_dir, label_name)
    missing = [
        name
        for name, found in ((image_name, image_path), (label_name, label_path))
        if found is None
    ]
    if missing:
        raise FileNotFoundError(
            f"Missing IDX file(s) in {data_dir}: "
            + ", ".join(f"{name}[.gz]" for name in missing)
        )

    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{image_path}: expected a 3-D uint8 image array, got shape "
            f"{images.shape} of {images.dtype}"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{label_path}: expected a 1-D label array, got shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{image_path} holds {images.shape[0]} images but {label_path} holds "
            f"{labels.shape[0]} labels"
        )

    X = images.astype(np.float32)
    X /= np.float32(255)
    if flatten:
        X = X.reshape(X.shape[0], -1)
    y = labels.astype(np.int64)

    if return_X_y:
        return X, y
    descr = (
        f"MNIST-format {kind} split read from {data_dir}: {X.shape[0]} images of "
        f"{images.shape[1]}x{images.shape[2]} pixels scaled to [0, 1] (float32), "
        "integer labels (int64)."
    )
    return Bunch(data=X, target=y, DESCR=descr)


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    kind: str = "train",
    flatten: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the Fashion-MNIST dataset from local IDX files.

    Nothing is downloaded. The files are looked up in ``data_dir``, else in the
    folder named by the ``SKDBN_FASHION_MNIST_DIR`` environment variable, else
    in ``/usr/share/datasets/fashion-mnist``, where the Debian package
    ``dataset-fashion-mnist`` installs them.

    Parameters
    ----------
    data_dir : str or os.PathLike, default=None
        Folder holding ``train-images-idx3-ubyte.gz``,
        ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
        ``t10k-labels-idx1-ubyte.gz`` (uncompressed names also accepted).
    kind : {"train", "test"}, default="train"
        ``"train"`` for the 60000 training images, ``"test"`` for the 10000
        test images.
    flatten : bool, default=True
        If True, images have shape ``(n_samples, 784)``; otherwise
        ``(n_samples, 28, 28)``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of float32
            Pixel intensities scaled to ``[0, 1]``.
        target : ndarray of shape (n_samples,), dtype int64
            Class labels in ``0..9``.
        target_names : ndarray of str of shape (10,)
            Class names, indexed by label.
        DESCR : str
            Short description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If the files are not in the folder searched; the message says how to
        get them.
    ValueError
        If ``kind`` is invalid or a file is malformed.

    Examples
    --------
    >>> from skdbn.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(kind="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.max()  # doctest: +SKIP
    ((10000, 784), np.int64(9))
    """
    _check_kind(kind)
    if data_dir is not None:
        source = "the data_dir argument"
    elif os.environ.get(FASHION_MNIST_DIR_ENV):
        data_dir = os.environ[FASHION_MNIST_DIR_ENV]
        source = f"the {FASHION_MNIST_DIR_ENV} environment variable"
    else:
        data_dir = DEFAULT_FASHION_MNIST_DIR
        source = "the default location"

    try:
        result = load_mnist_format(
            data_dir, kind=kind, flatten=flatten, return_X_y=return_X_y
        )
    except FileNotFoundError as exc:
        expected = ", ".join(
            f"{name}.gz"
            for prefix in _PREFIXES.values()
            for name in _expected_names(prefix)
        )
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {data_dir} (from {source}): {exc}. "
            f"Expected the four files {expected} (uncompressed names also "
            "accepted). To get them, run "
            "`apt-get update && apt-get install -y dataset-fashion-mnist` "
            f"(installs into {DEFAULT_FASHION_MNIST_DIR}), or pass data_dir= / set "
            f"{FASHION_MNIST_DIR_ENV} to a folder holding the files."
        ) from exc

    if return_X_y:
        return result
    result.target_names = np.array(FASHION_MNIST_CLASSES)
    result.DESCR = (
        f"Fashion-MNIST (Zalando), {kind} split: {result.data.shape[0]} grayscale "
        "28x28 images of 10 clothing classes, pixels scaled to [0, 1] (float32), "
        "labels 0..9 (int64, names in target_names)."
    )
    return result

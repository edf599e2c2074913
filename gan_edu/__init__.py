"""gan_edu: the helper package of the runnable GAN book.

Importing it first prepares the environment so that PyTorch, TensorFlow and MXNet
can share one process quietly: thread counts, log levels, MXNet's numpy
compatibility and its oneDNN switch. Every setting is a default only; a value the
user already set in the environment wins.
"""

import contextlib
import os
import random
import time
from importlib.util import find_spec

import numpy as np

__version__ = "0.1.0"

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
SCALES = ("default", "full")

_ENVIRONMENT_DEFAULTS = {
    # Threads per framework. Without it, importing mxnet drops torch to one thread.
    # `make test` runs two notebooks at once and sets it to 1 for each.
    "OMP_NUM_THREADS": str(os.cpu_count() or 1),
    # TensorFlow's C++ start-up lines (oneDNN notices, CPU feature hints).
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "KERAS_BACKEND": "tensorflow",
    # oneDNN fails on a 1-channel Conv2DTranspose gradient with >= 8 inputs.
    "MXNET_MKLDNN_ENABLED": "0",
    "MXNET_STORAGE_FALLBACK_LOG_VERBOSE": "0",
    "MXNET_SUBGRAPH_VERBOSE": "0",
}


def _prepare_environment():
    for name, value in _ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    # One knob for all three: TensorFlow ignores OMP_NUM_THREADS but reads these.
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, os.environ["OMP_NUM_THREADS"])
    # mxnet 1.9.1 still uses the alias numpy.bool, removed in numpy 1.24.
    # (`hasattr(np, "bool")` would itself emit a deprecation warning.)
    if np.lib.NumpyVersion(np.__version__) >= "1.24.0" and "bool" not in np.__dict__:
        np.bool = bool


_prepare_environment()


def installed(framework):
    """Whether `framework` ('pytorch', 'tensorflow' or 'mxnet') can be imported."""
    module = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
    if framework not in module:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    return find_spec(module[framework]) is not None


def scale(value=None):
    """The run's scale: 'default' (embedded data, minutes on a CPU) or 'full'.

    Read from the argument, else from the environment variable GAN_EDU_SCALE.
    """
    value = value if value is not None else os.environ.get("GAN_EDU_SCALE", "default")
    value = value.strip().lower() or "default"
    if value not in SCALES:
        raise ValueError(
            f"unknown scale {value!r} (from GAN_EDU_SCALE or an argument); "
            f"choose one of {', '.join(SCALES)}")
    return value


@contextlib.contextmanager
def _quiet_stderr():
    """Send what C code writes to stderr (file descriptor 2) to /dev/null meanwhile.

    TensorFlow prints two start-up lines through absl before its log level applies
    (TF_CPP_MIN_LOG_LEVEL does not reach them); a notebook would show them as stderr.
    """
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def seed(n=0):
    """Seed Python, numpy and every installed framework with `n`."""
    if installed("pytorch"):
        import torch
        torch.manual_seed(n)
    if installed("tensorflow"):
        with _quiet_stderr():
            import tensorflow as tf
            tf.random.set_seed(n)
    if installed("mxnet"):
        import mxnet as mx
        mx.random.seed(n)
    # Last: importing a framework the first time may draw from these generators.
    random.seed(n)
    np.random.seed(n)


class Timer:
    """Record running times; `stop()` returns the last one in seconds."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.perf_counter()

    def stop(self):
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def sum(self):
        return sum(self.times)


class Accumulator:
    """Sum `n` running quantities, e.g. losses and example counts."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *values):
        self.data = [a + float(b) for a, b in zip(self.data, values)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, i):
        return self.data[i]


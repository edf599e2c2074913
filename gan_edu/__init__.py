"""gan_edu: the helper package of the runnable GAN book.

Importing it first prepares the environment so that PyTorch, TensorFlow and MXNet
can share one process quietly: thread counts, log levels, MXNet's numpy
compatibility and its log switches. Every setting is a default only; a value the
user already set in the environment wins.
"""

import contextlib
import functools
import importlib.abc
import importlib.util
import operator
import os
import random
import subprocess
import sys
import time

import numpy as np

__version__ = "0.1.0"

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
MODULES = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
SCALES = ("smoke", "default", "full")

_ENVIRONMENT_DEFAULTS = {
    # Threads per framework. Without it, importing mxnet drops torch to one thread.
    # `make test` runs two notebooks at once and sets it to 1 for each.
    "OMP_NUM_THREADS": str(os.cpu_count() or 1),
    # TensorFlow's C++ start-up lines (oneDNN notices, CPU feature hints).
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "KERAS_BACKEND": "tensorflow",
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
    if framework not in MODULES:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    return importlib.util.find_spec(MODULES[framework]) is not None


def scale(value=None):
    """The run's scale: 'smoke', 'default' or 'full'.

    'default' trains on the embedded data in minutes on a CPU and asserts the chapters'
    bars; 'full' uses all of MNIST and the papers' schedules; 'smoke' runs every cell
    on a few batches to check that a change breaks nothing, and asserts no bar.
    Read from the argument, else from the environment variable GAN_EDU_SCALE.
    """
    value = value if value is not None else os.environ.get("GAN_EDU_SCALE", "default")
    if not isinstance(value, str):
        raise TypeError(f"scale should be a name such as 'default' or 'full', got "
                        f"{type(value).__name__} {value!r}")
    value = value.strip().lower() or "default"
    if value not in SCALES:
        raise ValueError(
            f"unknown scale {value!r} (from GAN_EDU_SCALE or an argument); "
            f"choose one of {', '.join(SCALES)}")
    return value


def per_scale(default, smoke=None, full=None):
    """A setting for the run's scale: `default`, or `smoke` / `full` where given."""
    chosen = {"smoke": smoke, "full": full}.get(scale())
    return default if chosen is None else chosen


def check_bar(passed, verdict, measured):
    """Print `verdict` and what was `measured` if a chapter's bar is met, else fail.

    The line reads `<verdict> (measured: <measured>)`; the regression test compares the
    verdict and masks the measurement, which varies from machine to machine, and the
    README's results table is made from these lines. A smoke run trains on a few
    batches and cannot meet the bars: it reports the miss and goes on.
    """
    if passed:
        print(f"{verdict} (measured: {measured})")
    elif scale() == "smoke":
        print(f"smoke run, bar not checked: {measured}")
    else:
        raise AssertionError(f"bar missed: {verdict} (measured: {measured})")


def seed(n=0, frameworks=None):
    """Seed Python, numpy and the frameworks the program uses with `n` (0 <= n < 2**32).

    `frameworks` None seeds the frameworks already imported (a chapter imports its
    framework, then seeds); a list such as ["pytorch"] imports and seeds those. A
    framework that is installed but not used is never imported, so it cannot slow
    down or break a program that does not need it.
    """
    n = _seed_value(n)
    if frameworks is None:
        chosen = [f for f in FRAMEWORKS if sys.modules.get(MODULES[f]) is not None]
    else:
        chosen = [frameworks] if isinstance(frameworks, str) else list(frameworks)
        for framework in chosen:
            if not installed(framework):
                raise ModuleNotFoundError(
                    f"cannot seed {framework}: it is not installed "
                    "(pip install -r requirements.txt installs all three frameworks)")
    for framework in chosen:
        _SEEDERS[framework](n)
    # Last: importing a framework the first time may draw from these generators.
    random.seed(n)
    np.random.seed(n)


def _seed_value(n):
    """`n` as an int that every generator accepts, checked before any is seeded."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"a seed is a whole number, got {type(n).__name__} {n!r}") from None
    if not 0 <= n < 2**32:  # numpy's range; MXNet would wrap larger values round
        raise ValueError(f"a seed lies in 0 .. 2**32 - 1, got {n}")
    return n


def _seed_pytorch(n):
    import torch
    torch.manual_seed(n)


def _seed_tensorflow(n):
    import tensorflow as tf
    tf.random.set_seed(n)


def _seed_mxnet(n):
    import mxnet as mx
    mx.random.seed(n)


_SEEDERS = {"pytorch": _seed_pytorch, "tensorflow": _seed_tensorflow, "mxnet": _seed_mxnet}


# ------------------------------------------------------- TensorFlow's start-up lines

_ABSL_PREAMBLE = r"WARNING: All log messages before absl::InitializeLog\(\) is called"
# absl's format: severity, MMDD, time (00:00:<epoch> before absl is set up), thread, file:line]
_ABSL_LINE = r"{severities}\d{{4}} [\d:.]+ +\d+ [^\]]+\] "
# Copies lines from stdin to stdout, leaving out those that match argv[1].
_FILTER = ("import re, sys\n"
           "hidden = re.compile(sys.argv[1].encode())\n"
           "for line in sys.stdin.buffer:\n"
           "    if not hidden.match(line):\n"
           "        sys.stdout.buffer.write(line)\n"
           "        sys.stdout.flush()\n")


def _hidden_tensorflow_lines():
    """A regex for the lines TF_CPP_MIN_LOG_LEVEL means to hide, or None for none.

    Level 1 hides INFO lines, 2 also WARNING, 3 also ERROR; FATAL lines never.
    """
    try:
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return None
    severities = "IWE"[:max(0, min(level, 3))]
    if not severities:
        return None
    return f"{_ABSL_PREAMBLE}|{_ABSL_LINE.format(severities=f'[{severities}]')}"


@contextlib.contextmanager
def _stderr_without(pattern):
    """Leave out the lines matching `pattern` from what is written to stderr meanwhile.

    The filter runs in a child process, which forwards what it has read even if this
    process aborts: a fatal message printed just before a crash still shows.
    """
    sys.stderr.flush()
    try:
        child = subprocess.Popen([sys.executable, "-I", "-c", _FILTER, pattern],
                                 stdin=subprocess.PIPE, stdout=2)
    except OSError:  # no interpreter to start: show everything rather than fail
        yield
        return
    saved = os.dup(2)
    try:
        os.dup2(child.stdin.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        child.stdin.close()
        child.wait()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs TensorFlow's first import through `_stderr_without`.

    TensorFlow's C++ code logs a few lines while it loads (an absl notice, oneDNN's
    notice) before TF_CPP_MIN_LOG_LEVEL applies; a notebook shows them as stderr.
    Whoever imports TensorFlow (a chapter, Keras, `seed`), those lines are left out,
    and only those.
    """

    def __init__(self):
        self.searching = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.searching:
            return None
        self.searching = True  # let the other finders locate the package
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.searching = False
        pattern = _hidden_tensorflow_lines()
        if spec is not None and spec.loader is not None and pattern:
            spec.loader.exec_module = functools.partial(_quietly, spec.loader.exec_module,
                                                        pattern)
        return spec


def _quietly(exec_module, pattern, module):
    with _stderr_without(pattern):
        exec_module(module)


if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlowImport())


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


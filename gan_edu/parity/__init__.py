"""The three versions of every model, compared: the same weights, inputs and steps.

    print(chapter_table(3))   # chapter 3's table; .check() asserts its bar (1e-4)

One adapter per framework (`torch`, `tensorflow`, `mxnet`) has the same functions in that
framework's idiom; `chapters` says what each chapter builds and trains, `rules` where the
frameworks' algorithms truly differ, `table` compares. An adapter imports its framework:
this package imports where a framework is missing.
"""

import importlib
import itertools

from gan_edu import FRAMEWORKS, MODULES

PAIRS = tuple(itertools.combinations(FRAMEWORKS, 2))

__all__ = ["FRAMEWORKS", "PAIRS", "adapter", "chapter_table", "get_weights", "set_weights"]


def adapter(framework):
    """The adapter module of `framework`: 'pytorch', 'tensorflow' or 'mxnet'."""
    if framework not in MODULES:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(MODULES)}")
    return importlib.import_module(f"gan_edu.parity.{MODULES[framework]}")


def get_weights(net, framework):
    """The weights of `net` as numpy arrays in PyTorch's layout and order (a copy)."""
    return adapter(framework).get_weights(net)


def set_weights(net, framework, arrays):
    """Load `arrays` (PyTorch's layout and order, as `get_weights` returns) into `net`."""
    adapter(framework).set_weights(net, arrays)


def chapter_table(number, frameworks=None):
    """Chapter `number`'s ParityTable across `frameworks` (every installed one by default)."""
    from gan_edu.parity.table import chapter_table
    return chapter_table(number, frameworks)

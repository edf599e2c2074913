"""MXNet (Gluon) building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import nn

from gan_edu import Accumulator, Timer, seed  # noqa: F401  (the chapters use them as ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401


def try_gpu(i=0):
    """The i-th GPU if there is one, else the CPU."""
    if mx.context.num_gpus() > i:
        return mx.gpu(i)
    return mx.cpu()


# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----

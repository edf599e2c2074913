"""PyTorch building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import numpy as np
import torch
from torch import nn
from torch.utils import data as torch_data

from gan_edu import Accumulator, Timer, seed  # noqa: F401  (the chapters use them as ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401


def try_gpu(i=0):
    """The i-th GPU if there is one, else the CPU."""
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----

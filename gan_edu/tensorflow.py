"""TensorFlow (Keras 3) building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import keras
import numpy as np
import tensorflow as tf

from gan_edu import Accumulator, Timer, seed  # noqa: F401  (the chapters use them as ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401


def try_gpu(i=0):
    """The name of the i-th GPU if there is one, else of the CPU (for `tf.device`)."""
    if len(tf.config.list_physical_devices("GPU")) > i:
        return f"/GPU:{i}"
    return "/CPU:0"


# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----

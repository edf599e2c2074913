"""Chapter 2's networks and steps are the same algorithm in PyTorch, TensorFlow and MXNet.

The networks come from the library, where the chapter saved them (`toy_mlp`, `mlp_G`,
`maxout_D` with `Maxout`, `update_G_saturating`); what is compared, and how, is in
gan_edu.parity_chapters and gan_edu.parity_table; the checks are parity_checks.py's.
Four trainings: the 1-D GAN with Adam, with SGD and the saturating loss, the ring, and
the MNIST MLP. Dropout draws its masks from each framework's own generator, so the
comparisons run with rate 0 (inference mode does not use dropout anyway).
"""

import numpy as np
from parity_checks import *  # noqa: F403  (the checks that every chapter passes)
from parity_checks import need, reference

from gan_edu.parity import forward
from gan_edu.parity_table import load

CHAPTER = 2


def test_the_networks_have_the_chapters_parameters(table):
    counts = {name: net.counts["pytorch"] for name, net in table.nets.items()}
    # batch norm's scale and shift per feature; the running statistics are not trained
    assert counts["mlp_G"] == (100 * 256 + 256 + 2 * 256) + (256 * 512 + 512 + 2 * 512) \
        + (512 * 784 + 784)
    assert counts["maxout_D"] == (784 * 512 + 512) + (128 * 512 + 512) + (128 + 1)
    assert counts["toy_mlp G 1-D"] == 2


def test_dropout_is_active_in_training_only():
    """So that the comparisons in training mode, which switch it off, have a reason to."""
    need("pytorch")
    from gan_edu.parity_chapters import CHAPTERS
    net = load(CHAPTERS[CHAPTER], "pytorch", reference(CHAPTER))["maxout_D"]
    X = [np.random.default_rng(0).uniform(0, 1, (8, 784)).astype(np.float32)]
    assert not np.allclose(forward("pytorch", net, X, True), forward("pytorch", net, X, False))

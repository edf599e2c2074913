"""Chapter 4's conditional GAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The networks come from the library (`cgan_G`, `cgan_D`, saved by the chapter), the
training steps too (`update_D_cond`, `update_G_cond`); what is compared, and how, is in
gan_edu.parity_chapters and gan_edu.parity_table; the checks are parity_checks.py's.
Keras is channels-last, but the chapter's networks flatten in PyTorch's (C, H, W) order
(its `Permute` layers), so the dense weights move unchanged.
"""

import numpy as np
from parity_checks import *  # noqa: F403  (the checks that every chapter passes)
from parity_checks import (
    need,
    reference,
    test_a_different_adam_beta_is_caught,  # noqa: F401
)

from gan_edu.parity import forward
from gan_edu.parity_chapters import CHAPTERS
from gan_edu.parity_table import load

CHAPTER = 4


def test_the_networks_have_the_chapters_parameters(table):
    # G: dense 110 -> 3136, BN 3136, transposed conv 64 -> 32, BN 32, transposed conv 32 -> 1
    # D: conv 1 -> 32 (+ bias), conv 32 -> 64, BN 64, label embedding 10 -> 3136,
    #    dense 3136 -> 1 (+ bias)
    assert table.nets["cgan_G"].counts["pytorch"] == \
        110 * 3136 + 2 * 3136 + 64 * 32 * 16 + 2 * 32 + 32 * 16 + 1
    assert table.nets["cgan_D"].counts["pytorch"] == \
        1 * 32 * 16 + 32 + 32 * 64 * 16 + 2 * 64 + 10 * 3136 + 3136 + 1


def test_the_label_changes_the_outputs():
    """The label reaches both networks (a model that ignored it would pass the rest)."""
    need("pytorch")
    chapter_4 = CHAPTERS[CHAPTER]
    nets = load(chapter_4, "pytorch", reference(CHAPTER))
    rng = np.random.default_rng(0)
    for name, spec in chapter_4.nets.items():
        *inputs, labels = spec.inputs(rng, 8)
        other = np.roll(labels, 1, axis=1)      # every example gets another label
        right = forward("pytorch", nets[name], [*inputs, labels], False)
        wrong = forward("pytorch", nets[name], [*inputs, other], False)
        assert np.abs(right - wrong).max() > 1e-2 * np.abs(right).max(), name

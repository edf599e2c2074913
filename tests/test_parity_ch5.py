"""Chapter 5's InfoGAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The library's own builders (`info_nets`: G, and D and Q sharing one body), the
initialiser the chapter uses (chapter 3's `init_dcgan`) and steps (`update_info_D`, which
trains the body and both heads on D's loss plus L_I, and `update_info_G`) at the
chapter's widths; what is compared, and how,
is in gan_edu.parity_chapters and gan_edu.parity_table; the checks are parity_checks.py's.
Keras is channels-last: the generator's dense layer before its reshape and the body's
dense layer after its flatten hold their weights in another order there.
"""

import dataclasses

import pytest
from parity_checks import *  # noqa: F403  (the checks that every chapter passes)
from parity_checks import need

from gan_edu.parity import get_weights, library, set_weights
from gan_edu.parity_chapters import CHAPTERS

CHAPTER = 5


def test_the_networks_have_the_chapters_parameters(table):
    # G; D = body + D's head; Q = body + Q's head (the body counted in both)
    assert [table.nets[name].counts["pytorch"] for name in ("info_G", "info_D", "info_Q")] \
        == [855_745, 837_025, 871_340]


def test_the_papers_widths_have_the_papers_parameters():
    need("pytorch")
    nets = library("pytorch").info_nets(74, (64, 128), 1024, 128, 12, 0.1)
    assert [sum(p.numel() for p in n.parameters()) for n in nets] == \
        [6_632_833, 6_558_017, 6_689_868]


@pytest.mark.parametrize("fw", ["pytorch", "tensorflow", "mxnet"])
def test_D_and_Q_share_one_body(fw):
    """A change made through net_D shows in net_Q: one body, not two copies."""
    need(fw)
    nets = CHAPTERS[CHAPTER].build(fw)
    net_D, net_Q = nets["info_D"], nets["info_Q"]
    w_D = get_weights(net_D, fw)
    w_D[0] = w_D[0] + 1
    set_weights(net_D, fw, w_D)
    assert (get_weights(net_Q, fw)[0] == w_D[0]).all()


def test_a_static_alloc_mxnet_body_is_caught():
    """The chapter hybridizes without static_alloc: with it, Gluon's D and Q, compiled
    around one shared body, take a wrong second step. The lockstep's second iteration,
    which keeps each framework's networks and optimisers, catches it."""
    need("pytorch", "mxnet")
    from gan_edu.parity_table import BAR, compare_training, reference_weights

    def static_alloc(framework):
        nets = CHAPTERS[CHAPTER].build(framework)
        for name in ("info_G", "info_D", "info_Q") if framework == "mxnet" else ():
            nets[name].hybridize(static_alloc=True, static_shape=True)
        return nets
    chapter_5 = dataclasses.replace(CHAPTERS[CHAPTER], build=static_alloc)
    steps = compare_training(chapter_5, chapter_5.trainings[0], ["pytorch", "mxnet"],
                             reference_weights(chapter_5, "pytorch"))
    worst = {1: 0.0, 2: 0.0}
    for s in steps:
        errors = [e for by_pair in s.errors.values() for e in by_pair.values() if e is not None]
        worst[s.iteration] = max(worst[s.iteration], *errors)
    assert worst[1] <= BAR and worst[2] > 10 * BAR

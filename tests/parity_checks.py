"""The parity checks that every chapter passes (issue 9), over gan_edu.parity_table.

A chapter's test file sets CHAPTER and imports the checks (the names in __all__):

    from parity_checks import *  # noqa: F403
    CHAPTER = 3

The `table` fixture (conftest.py) computes the chapter's parity table once per file:
the very numbers the chapter prints in "How the three versions differ". Each check
asserts one kind of them in one pair of frameworks; the drift checks change one setting
in one framework and demand that the comparison fail.
"""

import functools

import numpy as np
import pytest

import gan_edu  # noqa: F401  (sets thread counts and MXNet's numpy alias before imports)
from gan_edu.parity import FRAMEWORKS, MODULES, PAIRS, weight_kinds
from gan_edu.parity_chapters import CHAPTERS
from gan_edu.parity_table import (
    BAR,
    BATCH,
    canonical_weights,
    compare_nets,
    compare_step,
    initialisation_problems,
    kink_margin,
    put_weights,
    reference_weights,
    sessions_for,
)

__all__ = [  # the checks; a chapter's test file imports them all
    "test_the_table_checks_every_framework_and_its_bar",
    "test_same_parameter_shapes_layer_by_layer", "test_same_forward_outputs",
    "test_same_losses_gradients_and_weights_after_each_step",
    "test_running_statistics_follow_each_frameworks_rule",
    "test_the_rules_differ_where_the_frameworks_do", "test_every_step_stays_away_from_kinks",
    "test_the_settings_are_the_chapters",
    "test_weights_round_trip", "test_initialisation_follows_the_chapters_distribution",
    "test_a_different_adam_epsilon_is_caught",
    "test_a_different_batch_norm_momentum_is_caught",
    "test_a_different_batch_norm_epsilon_is_caught"]

MODES = ("training", "inference")


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULES[fw])


def pair_id(pair):
    return "-".join(pair)


@functools.lru_cache(maxsize=None)
def reference(chapter):
    return reference_weights(CHAPTERS[chapter], "pytorch")


def steps(table):
    for training, step_parities in table.trainings.items():
        for parity in step_parities:
            yield f"{training.name}, iteration {parity.iteration}, {parity.step.name}", parity


# ---- the table's numbers ---------------------------------------------------------------------

def test_the_table_checks_every_framework_and_its_bar(table):
    assert table.frameworks == list(FRAMEWORKS)
    assert not table.failures(), "\n".join(table.failures())
    assert table.verdict().endswith(f"(every difference within {BAR:g}).")
    assert all(name in str(table) for name in table.nets)


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_same_parameter_shapes_layer_by_layer(table, pair):
    for name, net in table.nets.items():
        assert net.shapes[pair[0]] == net.shapes[pair[1]], name
        assert net.counts[pair[0]] == net.counts[pair[1]] > 0, name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_same_forward_outputs(table, pair, mode):
    for name, net in table.nets.items():
        assert net.forward[mode][pair] <= BAR, f"{name}: {net.forward[mode][pair]:.1e}"


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_same_losses_gradients_and_weights_after_each_step(table, pair):
    """One iteration of the chapter's steps; see gan_edu.parity_table for why it is
    compared step by step, away from kinks, and how Adam's steep first step is allowed
    for (every element's gradient still within the bar)."""
    for where, parity in steps(table):
        for what, errors in parity.errors.items():
            if errors[pair] is not None:
                assert errors[pair] <= BAR, f"{where}: {what} {errors[pair]:.1e}"


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_running_statistics_follow_each_frameworks_rule(table, fw):
    """PyTorch folds in the unbiased batch variance, Keras and MXNet the biased one, and
    MXNet only for calls a gradient flows back through (gan_edu.parity's rule)."""
    for where, parity in steps(table):
        if parity.statistics:
            assert parity.statistics[fw] <= BAR, f"{where}: {parity.statistics[fw]:.1e}"


@pytest.mark.parametrize("pair", [("pytorch", "tensorflow"), ("tensorflow", "mxnet")],
                         ids=pair_id)
def test_the_rules_differ_where_the_frameworks_do(table, pair):
    """The running statistics truly differ, by more than the bar, while each framework
    matches its own rule (above), so a framework that followed another's rule would fail:
    PyTorch's from Keras' by its unbiased variance, n / (n - 1) (small where n is large:
    2e-4 with chapter 6's 28 x 28 maps); MXNet's from Keras' where the generator's batch
    is detached (the discriminator's step)."""
    gaps = [parity.statistics_gaps[pair] for _, parity in steps(table) if parity.statistics_gaps]
    if not gaps:
        pytest.skip("no batch norm in this chapter")
    assert max(gaps) > BAR


def test_every_step_stays_away_from_kinks(table):
    margin = kink_margin(table.chapter.step_dtype)   # in float64 far smaller (chapter 6)
    for where, parity in steps(table):
        assert parity.margin >= margin, where


def test_the_settings_are_the_chapters(chapter):
    """The comparison runs with the values of the chapter's hyper-parameter cell (the
    cell that sets Adam's betas and eps; at the default scale)."""
    import jupytext

    from gan_edu import book
    source = next(p for p in book.chapter_sources() if p.name.startswith(f"{chapter:02d}_"))
    cell = next(c.source for c in jupytext.read(source).cells
                if c.cell_type == "code" and "betas, eps =" in c.source)
    values = {"gan_edu": gan_edu, "full": False}
    exec(cell, values)
    for name, value in CHAPTERS[chapter].settings.items():
        assert values[name] == value, f"{name}: the chapter's {values[name]}, compared {value}"


# ---- weights and initialisation ----------------------------------------------------------------

@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_weights_round_trip(chapter, fw):
    need("pytorch", fw)
    ch, weights = CHAPTERS[chapter], reference(chapter)
    nets = put_weights(ch, fw, ch.build(fw), weights)
    for name, arrays in canonical_weights(ch, fw, nets).items():
        for got, want in zip(arrays, weights[name]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_initialisation_follows_the_chapters_distribution(chapter, fw):
    need(fw)
    assert initialisation_problems(chapter, fw) == []


# ---- a drift must be caught --------------------------------------------------------------------

def adam_training(chapter):
    return [t for t in CHAPTERS[chapter].trainings if t.adam is not None][-1]


def first_step_errors(chapter, training, drifted, drift=None):
    """Every error of the first step of `training` between the `drifted` framework, with
    `drift` in its Adam settings, and another (PyTorch, whose batch norm is recorded)."""
    frameworks = ["pytorch", drifted] if drifted != "pytorch" else ["pytorch", "tensorflow"]
    sessions = sessions_for(CHAPTERS[chapter], training, frameworks, drift and {drifted: drift})
    data = training.data(np.random.default_rng(2), BATCH)
    parity, _ = compare_step(sessions, training.steps[0], reference(chapter), data)
    for errors in parity.errors.values():
        yield from (e for e in errors.values() if e is not None)
    yield from parity.statistics.values()


def test_a_different_adam_epsilon_is_caught(chapter):
    need(*FRAMEWORKS)
    drift = dict(eps=1e-3)
    assert max(first_step_errors(chapter, adam_training(chapter), "tensorflow", drift)) \
        > 10 * BAR


@pytest.mark.parametrize("fw, drift", [("mxnet", dict(betas=(0.9, 0.999))),
                                       ("pytorch", dict(betas=(0.5, 0.99)))],
                         ids=["beta_1", "beta_2"])
def test_a_different_adam_beta_is_caught(chapter, fw, drift):
    """Not in __all__: Adam is the same for every chapter; chapters 1 and 4 run it."""
    need(*FRAMEWORKS)
    assert max(first_step_errors(chapter, adam_training(chapter), fw, drift)) > 10 * BAR


def has_batch_norm(chapter):
    need("pytorch")
    return any("var" in weight_kinds(net, "pytorch")
               for net in CHAPTERS[chapter].build("pytorch").values())


def keras_batch_norm_with(monkeypatch, **setting):
    """Every Keras BatchNormalization built from now on takes `setting` instead."""
    import keras
    init = keras.layers.BatchNormalization.__init__

    def drifted(self, *args, **kwargs):
        init(self, *args, **{**kwargs, **setting})
    monkeypatch.setattr(keras.layers.BatchNormalization, "__init__", drifted)


def test_a_different_batch_norm_momentum_is_caught(chapter, monkeypatch):
    need(*FRAMEWORKS)
    if not has_batch_norm(chapter):
        pytest.skip("no batch norm in this chapter")
    keras_batch_norm_with(monkeypatch, momentum=0.99)   # PyTorch's 0.01, not 0.1
    training = CHAPTERS[chapter].trainings[-1]          # chapter 2: the MNIST MLP's
    assert max(first_step_errors(chapter, training, "tensorflow")) > 10 * BAR


def test_a_different_batch_norm_epsilon_is_caught(chapter, monkeypatch):
    need(*FRAMEWORKS)
    if not has_batch_norm(chapter):
        pytest.skip("no batch norm in this chapter")
    keras_batch_norm_with(monkeypatch, epsilon=1e-3)     # Keras' default
    nets = compare_nets(CHAPTERS[chapter], ["pytorch", "tensorflow"], reference(chapter))
    assert max(e for net in nets.values() for errors in net.forward.values()
               for e in errors.values()) > 10 * BAR

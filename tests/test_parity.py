"""Chapter 1's GAN is the same algorithm in PyTorch, TensorFlow and MXNet; and the rules
in gan_edu.parity that the comparisons of every chapter rely on.

The checks shared by all chapters live in parity_checks.py: the same parameter shapes,
forward outputs, losses, gradients and weights after each training step, batch norm's
running statistics by each framework's rule, the initial distribution, and drifts
(Adam's epsilon, beta_1, beta_2; batch norm's momentum and epsilon) that must be caught.
"""

import numpy as np
import pytest
from parity_checks import *  # noqa: F403  (the checks that every chapter passes)
from parity_checks import (
    need,
    test_a_different_adam_beta_is_caught,  # noqa: F401
)

import gan_edu  # noqa: F401  (sets thread counts and MXNet's numpy alias before imports)
from gan_edu.parity import (
    BatchStatistics,
    adam_epsilon,
    adam_update,
    get_weights,
    running_statistics,
)

CHAPTER = 1


def test_the_toy_nets_have_the_chapters_parameters(table):
    assert table.nets["toy_nets G"].counts["pytorch"] == 2 * 2 + 2
    assert table.nets["toy_nets D"].counts["pytorch"] == (2 * 5 + 5) + (5 * 3 + 3) + (3 + 1)


def glorot_layer(fw, n=256):
    """Weight and bias of an n x n dense layer, initialised by the library's init_glorot."""
    from gan_edu.parity import library
    ge = library(fw)
    if fw == "pytorch":
        from torch import nn
        layer = nn.Linear(n, n)
        ge.init_glorot(layer)
    elif fw == "tensorflow":
        import keras
        layer = keras.Sequential([keras.Input((n,)), keras.layers.Dense(n)])
        ge.init_glorot(layer)
    else:
        from mxnet.gluon import nn
        layer = nn.Dense(n, in_units=n)
        ge.init_glorot(layer)
    return get_weights(layer, fw)


@pytest.mark.parametrize("fw", ["pytorch", "tensorflow", "mxnet"])
def test_init_glorot_draws_glorot_uniform(fw):
    """The toy nets hold too few weights for sharp moments: a large layer instead."""
    need(fw)
    n = 256
    weight, bias = glorot_layer(fw, n)
    bound, std = np.sqrt(6 / (n + n)), np.sqrt(2 / (n + n))
    w = weight.astype(np.float64).ravel()
    assert weight.shape == (n, n) and not bias.any()
    assert abs(w.mean()) < 5 * std / n                        # 5 standard errors
    assert abs(w.std() / std - 1) < 0.01                      # about 6 standard errors
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    kurtosis = ((w - w.mean()) ** 4).mean() / w.var() ** 2
    assert abs(kurtosis - 1.8) < 0.03                         # uniform, not normal (3.0)


# ---- the rules of gan_edu.parity ------------------------------------------------------------

def pytorch_adam_weights(gradients, eps, convert):
    """A weight after Adam steps on `gradients`, PyTorch's epsilon converted or not."""
    import torch
    w = torch.zeros(len(gradients[0]), requires_grad=True)
    adam = dict(betas=(0.5, 0.999), eps=eps)
    trainer = torch.optim.Adam([w], lr=0.1, **adam)
    for step, g in enumerate(gradients, start=1):
        if convert:
            trainer.param_groups[0]["eps"] = adam_epsilon(eps, 0.999, step)
        w.grad = torch.as_tensor(g)
        trainer.step()
    return w.detach().numpy()


def keras_adam_weights(gradients, eps):
    import keras
    w = keras.Variable(np.zeros(len(gradients[0]), dtype=np.float32))
    trainer = keras.optimizers.Adam(learning_rate=0.1, beta_1=0.5, beta_2=0.999, epsilon=eps)
    for g in gradients:
        trainer.apply_gradients([(np.asarray(g), w)])
    return np.asarray(w.numpy())


def test_adam_epsilon_gives_pytorch_the_keras_step():
    """Gradients near epsilon, where the two conventions differ most: converted, PyTorch
    takes Keras' steps exactly; plainly, steps that differ by percents."""
    need("pytorch", "tensorflow")
    rng = np.random.default_rng(0)
    gradients = [rng.normal(0, 3e-7, 100).astype(np.float32) for _ in range(3)]
    keras_w = keras_adam_weights(gradients, 1e-8)
    converted = pytorch_adam_weights(gradients, 1e-8, convert=True)
    plain = pytorch_adam_weights(gradients, 1e-8, convert=False)
    assert np.abs(converted - keras_w).max() <= 1e-5 * np.abs(keras_w).max()
    assert np.abs(plain - keras_w).max() > 0.1 * np.abs(keras_w).max()


def test_adam_update_is_about_lr_and_steep_near_epsilon():
    """After one step, m = (1 - beta_1) g and v = (1 - beta_2) g^2."""
    adam = dict(betas=(0.5, 0.999), eps=1e-8)
    g = np.array([1.0, -1e-2, 1e-8 / np.sqrt(1 - 0.999)])
    update = adam_update(0.5 * g, 0.001 * g ** 2, 0.1, adam, step=1)
    np.testing.assert_allclose(update, [-0.1, 0.1, -0.05], rtol=1e-4)


def test_adam_update_is_what_keras_does():
    need("tensorflow")
    import keras
    rng = np.random.default_rng(1)
    w = keras.Variable(np.zeros(50, dtype=np.float32))
    trainer = keras.optimizers.Adam(learning_rate=0.1, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    trainer.build([w])
    for step in (1, 2):
        before = np.asarray(w.numpy(), dtype=np.float64)
        trainer.apply_gradients([(rng.normal(0, 1e-6, 50).astype(np.float32), w)])
        m, v = (np.asarray(slots[0].numpy()) for slots in (trainer._momentums, trainer._velocities))
        np.testing.assert_allclose(np.asarray(w.numpy()) - before,
                                   adam_update(m, v, 0.1, dict(betas=(0.5, 0.999), eps=1e-8), step),
                                   rtol=1e-5, atol=1e-7)


def test_running_statistics_rules():
    """Two calls of a batch norm over 4 values: a forward-only call (a detached generator
    batch) and a differentiated one; each framework's rule, worked by hand."""
    first = BatchStatistics(np.array([1.0]), np.array([3.0]), 4, backward=None)
    second = BatchStatistics(np.array([2.0]), np.array([6.0]), 4, backward=0)
    start = np.array([0.0]), np.array([1.0])
    mean, var = running_statistics(*start, [first, second], "pytorch")
    assert mean == pytest.approx(0.9 * 0.1 * 1 + 0.1 * 2)
    assert var == pytest.approx(0.81 + 0.09 * 4 + 0.1 * 8)    # unbiased: 4/3 of 3 and 6
    mean, var = running_statistics(*start, [first, second], "tensorflow")
    assert var == pytest.approx(0.81 + 0.09 * 3 + 0.1 * 6)    # biased
    mean, var = running_statistics(*start, [first, second], "mxnet")
    assert (mean, var) == (pytest.approx(0.2), pytest.approx(0.9 + 0.6))  # backward only


def test_parity_imports_without_frameworks():
    import subprocess
    import sys
    code = ("import sys; sys.modules.update(torch=None, tensorflow=None, keras=None, "
            "mxnet=None); import gan_edu.parity, gan_edu.parity_table; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"


def test_the_table_prints_nothing_on_stderr(capfd):
    need("pytorch", "tensorflow", "mxnet")
    from gan_edu.parity_table import chapter_table
    print(chapter_table(CHAPTER))
    out, err = capfd.readouterr()
    assert err == "" and "toy_nets D" in out


def test_a_reader_with_one_framework_gets_a_line_not_a_traceback():
    from gan_edu.parity_table import chapter_table
    table = chapter_table(CHAPTER, frameworks=["mxnet"])
    table.check()
    assert str(table) == table.verdict() == \
        "Chapter 1: a comparison needs two frameworks; installed: MXNet."

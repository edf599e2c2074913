"""Chapter 1's GAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The three versions get the same weights (moved by gan_edu.parity) and the same inputs,
and must agree on parameter counts, forward outputs, losses and the weights after two
training iterations of the library's own update_D / update_G. Two iterations, because
Adam's first step is lr * sign(gradient) whatever beta_1 and beta_2 are; the second
step depends on the gradients' sizes and on both betas (on beta_2 only weakly: the two
gradients are alike, so 0.99 instead of 0.999 goes unseen, 0.9 does not). A deliberate
drift in Adam's settings must make the comparison fail, so the comparison can fail at all.
"""

import functools
import importlib
import itertools

import numpy as np
import pytest

import gan_edu  # noqa: F401  (sets thread counts and MXNet's numpy alias before imports)
from gan_edu.parity import get_weights, max_relative_error, set_weights

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
PAIRS = list(itertools.combinations(FRAMEWORKS, 2))
MODULE = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
LATENT_DIM, BATCH = 2, 50
LR_D, LR_G, BETAS, EPS = 0.02, 0.01, (0.5, 0.999), 1e-8   # chapter 1's settings
ITERATIONS = 2


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULE[fw])


# ---- chapter 1's networks, from the library -------------------------

def build_nets(fw):
    """(net_D, net_G) of chapter 1, built and initialised by the library's own code."""
    ge = importlib.import_module(f"gan_edu.{MODULE[fw]}")
    net_G, net_D = ge.toy_nets(LATENT_DIM)
    for net in (net_D, net_G):
        if fw == "pytorch":
            net.apply(ge.init_glorot)
        else:
            ge.init_glorot(net)
        if fw == "mxnet":
            net.hybridize()
    return net_D, net_G


def reference_weights():
    """One set of weights for every framework: random, biases included, PyTorch layout."""
    rng = np.random.default_rng(1)
    shapes_D = [(5, 2), (5,), (3, 5), (3,), (1, 3), (1,)]
    shapes_G = [(2, LATENT_DIM), (2,)]
    draw = [rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes_D + shapes_G]
    return draw[:len(shapes_D)], draw[len(shapes_D):]


def batch():
    rng = np.random.default_rng(2)
    A = np.array([[1, 2], [-0.1, 0.5]], dtype=np.float32)
    X = (rng.normal(size=(BATCH, 2)) @ A + np.array([1, 2])).astype(np.float32)
    Z = rng.normal(size=(BATCH, LATENT_DIM)).astype(np.float32)
    return X, Z


def nets_with_reference_weights(fw):
    net_D, net_G = build_nets(fw)
    w_D, w_G = reference_weights()
    set_weights(net_D, fw, w_D)
    set_weights(net_G, fw, w_G)
    return net_D, net_G


# ---- forward pass and training, each framework in its own idiom ---------------------

def forward(fw, net_D, net_G, X, Z):
    """(net_D(net_G(Z)), net_D(X)) as numpy arrays."""
    if fw == "pytorch":
        import torch
        with torch.no_grad():
            X, Z = torch.as_tensor(X), torch.as_tensor(Z)
            return net_D(net_G(Z)).numpy(), net_D(X).numpy()
    if fw == "tensorflow":
        return net_D(net_G(Z)).numpy(), net_D(X).numpy()
    from mxnet import nd
    X, Z = nd.array(X), nd.array(Z)
    return net_D(net_G(Z)).asnumpy(), net_D(X).asnumpy()


@functools.lru_cache(maxsize=None)
def train(fw, betas=BETAS, eps=EPS):
    """Losses of each iteration and the weights after them, from the reference weights."""
    X, Z = batch()
    net_D, net_G = nets_with_reference_weights(fw)
    if fw == "pytorch":
        import torch
        from torch import nn

        from gan_edu import torch as ge
        loss = nn.BCEWithLogitsLoss()
        trainer_D = torch.optim.Adam(net_D.parameters(), lr=LR_D, betas=betas, eps=eps)
        trainer_G = torch.optim.Adam(net_G.parameters(), lr=LR_G, betas=betas, eps=eps)
        X, Z = torch.as_tensor(X), torch.as_tensor(Z)
        scalar = float
    elif fw == "tensorflow":
        import keras
        import tensorflow as tf

        from gan_edu import tensorflow as ge
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        adam = dict(beta_1=betas[0], beta_2=betas[1], epsilon=eps)
        trainer_D = keras.optimizers.Adam(learning_rate=LR_D, **adam)
        trainer_G = keras.optimizers.Adam(learning_rate=LR_G, **adam)
        # The library's update_D / update_G are tf.functions shared by the whole process.
        # An optimizer that creates its slots inside them works on the first trace only;
        # a second optimizer fails ("tf.function only supports singleton tf.Variables"),
        # so build the slots here, outside the graph.
        trainer_D.build(net_D.trainable_variables)
        trainer_G.build(net_G.trainable_variables)
        X, Z = tf.constant(X), tf.constant(Z)
        scalar = float
    else:
        from mxnet import gluon, nd

        from gan_edu import mxnet as ge
        loss = gluon.loss.SigmoidBCELoss()
        adam = dict(beta1=betas[0], beta2=betas[1], epsilon=eps)
        trainer_D = gluon.Trainer(net_D.collect_params(), "adam",
                                  dict(adam, learning_rate=LR_D))
        trainer_G = gluon.Trainer(net_G.collect_params(), "adam",
                                  dict(adam, learning_rate=LR_G))
        X, Z = nd.array(X), nd.array(Z)

        def scalar(x):
            return float(x.asscalar())
    losses = []
    for _ in range(ITERATIONS):  # as in the chapter: update_D, then update_G on the same Z
        loss_D = ge.update_D(X, Z, net_D, net_G, loss, trainer_D)
        loss_G = ge.update_G(Z, net_D, net_G, loss, trainer_G)
        losses += [scalar(loss_D), scalar(loss_G)]
    weights = get_weights(net_D, fw) + get_weights(net_G, fw)
    return np.array(losses), weights


def assert_same_training(a, b):
    """Same losses (relative 1e-4) and weights (rtol 1e-4, atol 1e-5) after training."""
    (losses_a, weights_a), (losses_b, weights_b) = a, b
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4, atol=0)
    for i, (wa, wb) in enumerate(zip(weights_a, weights_b)):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5, err_msg=f"array {i}")


# ---- the tests -----------------------------------------------------------------------

@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_weights_round_trip(fw):
    need(fw)
    net_D, net_G = nets_with_reference_weights(fw)
    w_D, w_G = reference_weights()
    for got, want in zip(get_weights(net_D, fw) + get_weights(net_G, fw), w_D + w_G):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_parameter_counts_layer_by_layer(a, b):
    need(a, b)
    for net_a, net_b in zip(build_nets(a), build_nets(b)):
        shapes_a = [w.shape for w in get_weights(net_a, a)]
        assert shapes_a == [w.shape for w in get_weights(net_b, b)]
    assert sum(w.size for w in sum(reference_weights(), [])) == (2 * 5 + 5) + (5 * 3 + 3) \
        + (3 + 1) + (2 * 2 + 2)


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_forward_outputs(a, b):
    need(a, b)
    X, Z = batch()
    out_a = forward(a, *nets_with_reference_weights(a), X, Z)
    out_b = forward(b, *nets_with_reference_weights(b), X, Z)
    for ya, yb in zip(out_a, out_b):
        assert ya.shape == yb.shape == (BATCH, 1)
        assert max_relative_error(ya, yb) <= 1e-4


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_training_iterations(a, b):
    need(a, b)
    assert_same_training(train(a), train(b))


@pytest.mark.parametrize("drift", [dict(eps=1e-3), dict(betas=(0.9, 0.999)),
                                   dict(betas=(0.5, 0.9))],
                         ids=["epsilon", "beta_1", "beta_2"])
@pytest.mark.parametrize("a, b", PAIRS)
def test_a_different_adam_setting_is_caught(a, b, drift):
    need(a, b)
    with pytest.raises(AssertionError):
        assert_same_training(train(a, **drift), train(b))


def glorot_layer(fw, n=256):
    """Weight and bias of an n x n dense layer, initialised by the library's init_glorot."""
    ge = importlib.import_module(f"gan_edu.{MODULE[fw]}")
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


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_initialisation_is_glorot_uniform(fw):
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
    assert weight.std() > 0 and len(np.unique(weight)) > 0.9 * w.size


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_chapter_nets_start_glorot_uniform_with_zero_biases(fw):
    need(fw)
    for net in build_nets(fw):
        arrays = get_weights(net, fw)
        for weight, bias in zip(arrays[::2], arrays[1::2]):
            out, fan_in = weight.shape
            assert np.abs(weight).max() <= np.sqrt(6 / (fan_in + out)) and weight.any()
            assert not bias.any()


def test_parity_imports_without_frameworks():
    import subprocess
    import sys
    code = ("import sys; sys.modules.update(torch=None, tensorflow=None, keras=None, "
            "mxnet=None); import gan_edu.parity; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"

"""Chapter 2's networks and steps are the same algorithm in PyTorch, TensorFlow and MXNet.

The networks come from the library, where the chapter saved them (`toy_mlp`, `mlp_G`,
`maxout_D`, `Maxout`, `update_G_saturating`). Every pair of frameworks gets the same
weights and inputs and must agree on parameter shapes layer by layer, forward outputs
(train and inference mode), and the losses and weights after two training iterations
of the chapter's steps with the chapter's optimiser settings. Dropout draws its masks
from each framework's own generator, so the comparisons that run in training mode set
the dropout rates to 0; inference mode uses the chapter's rates (dropout is off there).
"""

import functools
import itertools

import numpy as np
import pytest

import gan_edu  # noqa: F401  (sets thread counts and MXNet's numpy alias before imports)
from gan_edu.parity import get_weights, max_relative_error, set_weights

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
PAIRS = list(itertools.combinations(FRAMEWORKS, 2))
MODULE = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
LATENT_DIM, BATCH = 100, 16
BETAS, EPS = (0.5, 0.999), 1e-8       # the chapter's Adam settings
LR_MNIST, LR_1D, LR_SAT = (1e-3, 1e-3), (5e-3, 5e-3), 0.05
ITERATIONS = 2

# name -> builder(ge) of (net, input shape); the toy nets as the chapter builds them
NETS = {
    "toy D 1-D": (lambda ge: ge.toy_mlp(1, [32, 32], 1), (BATCH, 1)),
    "toy G 1-D": (lambda ge: ge.toy_mlp(1, [], 1), (BATCH, 1)),
    "toy G ring": (lambda ge: ge.toy_mlp(2, [64, 64], 2), (BATCH, 2)),
    "toy D ring": (lambda ge: ge.toy_mlp(2, [64, 64], 1), (BATCH, 2)),
    "mlp_G": (lambda ge: ge.mlp_G(LATENT_DIM), (BATCH, LATENT_DIM)),
    "maxout_D": (lambda ge: ge.maxout_D(), (BATCH, 784)),
}


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULE[fw])


def library(fw):
    if fw == "pytorch":
        from gan_edu import torch as ge
    elif fw == "tensorflow":
        from gan_edu import tensorflow as ge
    else:
        from gan_edu import mxnet as ge
    return ge


def build(fw, name):
    return NETS[name][0](library(fw))


def no_dropout(net, fw):
    """Set every dropout rate of `net` to 0 (before its first call, for MXNet's graph)."""
    if fw == "pytorch":
        from torch import nn
        for module in net.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    elif fw == "tensorflow":
        import keras
        for layer in net.layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    else:
        from mxnet.gluon import nn
        for block in net._children.values():
            block = block() if callable(block) and not isinstance(block, nn.Block) else block
            if isinstance(block, nn.Dropout):
                block._rate = 0.0
    return net


def reference_weights(shapes, seed=1):
    """Random weights of the given shapes: matrices scaled by fan-in, vectors in [0.5, 1.5]
    (positive, so that they also serve as batch norm's scales and running variances)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        if len(shape) == 1:
            arrays.append(rng.uniform(0.5, 1.5, size=shape))
        else:
            bound = np.sqrt(3 / shape[1])
            arrays.append(rng.uniform(-bound, bound, size=shape))
    return [a.astype(np.float32) for a in arrays]


def with_reference_weights(fw, name, dropout=True):
    net = build(fw, name)
    if not dropout:
        no_dropout(net, fw)
    set_weights(net, fw, reference_weights([w.shape for w in get_weights(net, fw)]))
    return net


def inputs(shape, seed=2):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=shape).astype(np.float32)


def forward(fw, net, X, training):
    if fw == "pytorch":
        import torch
        net.train(training)
        with torch.no_grad():
            return net(torch.as_tensor(X)).numpy()
    if fw == "tensorflow":
        return np.asarray(net(X, training=training))
    from mxnet import autograd, nd
    if training:
        with autograd.train_mode():
            return net(nd.array(X)).asnumpy()
    with autograd.predict_mode():
        return net(nd.array(X)).asnumpy()


# ---- training: the chapter's steps with the chapter's optimisers ----------------------

def optimisers(fw, nets, lrs, kind, eps=EPS):
    if fw == "pytorch":
        import torch
        if kind == "adam":
            return [torch.optim.Adam(n.parameters(), lr=r, betas=BETAS, eps=eps)
                    for n, r in zip(nets, lrs)]
        return [torch.optim.SGD(n.parameters(), lr=r) for n, r in zip(nets, lrs)]
    if fw == "tensorflow":
        import keras
        if kind == "adam":
            trainers = [keras.optimizers.Adam(r, beta_1=BETAS[0], beta_2=BETAS[1], epsilon=eps)
                        for r in lrs]
        else:
            trainers = [keras.optimizers.SGD(r) for r in lrs]
        for t, n in zip(trainers, nets):
            t.build(n.trainable_variables)
        return trainers
    from mxnet import gluon
    settings = dict(beta1=BETAS[0], beta2=BETAS[1], epsilon=eps) if kind == "adam" else {}
    return [gluon.Trainer(n.collect_params(), kind, dict(settings, learning_rate=r))
            for n, r in zip(nets, lrs)]


def as_tensor(fw, a):
    if fw == "pytorch":
        import torch
        return torch.as_tensor(a)
    if fw == "tensorflow":
        import tensorflow as tf
        return tf.constant(a)
    from mxnet import nd
    return nd.array(a)


def bce_loss(fw):
    if fw == "pytorch":
        from torch import nn
        return nn.BCEWithLogitsLoss()
    if fw == "tensorflow":
        import keras
        return keras.losses.BinaryCrossentropy(from_logits=True)
    from mxnet import gluon
    return gluon.loss.SigmoidBCELoss()


def scalar(x):
    return float(x.asscalar()) if hasattr(x, "asscalar") else float(x)


SETUPS = {  # name -> (D, G, latent, data dimension, learning rates, optimiser, G step)
    "mnist adam": ("maxout_D", "mlp_G", LATENT_DIM, 784, LR_MNIST, "adam", "update_G"),
    "mnist sgd": ("maxout_D", "mlp_G", LATENT_DIM, 784, (LR_SAT, LR_SAT), "sgd", "update_G"),
    "1-D adam": ("toy D 1-D", "toy G 1-D", 1, 1, LR_1D, "adam", "update_G"),
    "ring adam": ("toy D ring", "toy G ring", 2, 2, LR_1D, "adam", "update_G"),
    "saturating sgd": ("toy D 1-D", "toy G 1-D", 1, 1, (LR_SAT, LR_SAT), "sgd",
                       "update_G_saturating"),
}
RUNNING_STATISTICS = {"mnist adam": (10, 11, 16, 17), "mnist sgd": (10, 11, 16, 17)}


@functools.lru_cache(maxsize=None)
def train(fw, setup, eps=EPS):
    """Losses of two iterations (update_D, then the G step on the same Z) and the weights."""
    name_D, name_G, latent, dim, lrs, kind, step_G = SETUPS[setup]
    ge = library(fw)
    net_D = with_reference_weights(fw, name_D, dropout=False)
    net_G = with_reference_weights(fw, name_G)
    trainer_D, trainer_G = optimisers(fw, (net_D, net_G), lrs, kind, eps)
    loss = bce_loss(fw)
    X, Z = inputs((BATCH, dim), seed=3), np.random.default_rng(4).normal(
        size=(BATCH, latent)).astype(np.float32)
    X, Z = as_tensor(fw, X), as_tensor(fw, Z)
    losses = []
    for _ in range(ITERATIONS):
        losses.append(scalar(ge.update_D(X, Z, net_D, net_G, loss, trainer_D)))
        losses.append(scalar(getattr(ge, step_G)(Z, net_D, net_G, loss, trainer_G)))
    return np.array(losses), get_weights(net_D, fw) + get_weights(net_G, fw)


# ---- the tests -------------------------------------------------------------------------

@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_parameter_shapes_layer_by_layer(a, b, name):
    need(a, b)
    shapes_a = [w.shape for w in get_weights(build(a, name), a)]
    assert shapes_a == [w.shape for w in get_weights(build(b, name), b)]


def test_parameter_counts():
    need("pytorch")
    count = {name: sum(w.size for w in get_weights(build("pytorch", name), "pytorch"))
             for name in NETS}
    # BN: scale, shift, running mean and variance per channel
    assert count["mlp_G"] == (100 * 256 + 256 + 4 * 256) + (256 * 512 + 512 + 4 * 512) \
        + (512 * 784 + 784)
    assert count["maxout_D"] == (784 * 512 + 512) + (128 * 512 + 512) + (128 + 1)
    assert count["toy G 1-D"] == 2


@pytest.mark.parametrize("training", [False, True], ids=["inference", "train"])
@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_forward_outputs(a, b, name, training):
    need(a, b)
    X = inputs(NETS[name][1])
    # training mode: dropout rate 0 (each framework would draw its own masks)
    out_a = forward(a, with_reference_weights(a, name, dropout=not training), X, training)
    out_b = forward(b, with_reference_weights(b, name, dropout=not training), X, training)
    assert out_a.shape == out_b.shape
    assert max_relative_error(out_a, out_b) <= 1e-4


def test_dropout_is_active_in_training_only():
    need("pytorch")
    net = with_reference_weights("pytorch", "maxout_D")
    X = inputs((BATCH, 784))
    assert not np.allclose(forward("pytorch", net, X, True), forward("pytorch", net, X, False))


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_training_iterations(a, b, setup):
    """Same losses and trainable weights after two iterations of the chapter's steps.

    Adam's epsilon sits in a different place in PyTorch (after the bias correction)
    than in Keras and MXNet (before it: in effect sqrt(1 - beta_2^t) times larger, about
    3e-7 at the first step), so weights whose gradients are below about 1e-5 take
    slightly different steps, and in a network of a million weights the losses drift
    apart by up to 1 %. PyTorch is therefore compared with an epsilon of 1e-12, where the
    placement makes no difference; TensorFlow and MXNet, which place it alike, with the
    chapter's 1e-8. Batch norm's running statistics have their own test below.
    """
    need(a, b)
    eps = EPS if "pytorch" not in (a, b) else 1e-12
    (losses_a, weights_a), (losses_b, weights_b) = train(a, setup, eps), train(b, setup, eps)
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4, atol=1e-6)
    keep = [i for i in range(len(weights_a)) if i not in RUNNING_STATISTICS.get(setup, ())]
    if SETUPS[setup][5] == "sgd" or "pytorch" not in (a, b):
        for i in keep:
            np.testing.assert_allclose(weights_a[i], weights_b[i], rtol=1e-4, atol=1e-5,
                                       err_msg=f"array {i}")
        return
    # Adam divides each gradient by its own size: a gradient that is float32 rounding
    # noise still takes a step of up to about lr, in a direction the noise decides. The
    # generator's biases before batch norm are such weights (batch norm cancels any
    # shift, so their gradient is 0 up to rounding), and so are a few others; under 1 %
    # of the weights may differ, by a part of a step.
    wa = np.concatenate([weights_a[i].ravel() for i in keep])
    wb = np.concatenate([weights_b[i].ravel() for i in keep])
    off = ~np.isclose(wa, wb, rtol=1e-4, atol=1e-5)
    assert off.mean() <= 0.01, f"{off.sum()} of {off.size} weights differ"


@pytest.mark.parametrize("a, b", [("pytorch", "tensorflow"), ("pytorch", "mxnet")])
def test_adam_epsilon_placement_is_the_only_difference(a, b):
    """With the chapter's epsilon, PyTorch's losses differ by at most 2 %."""
    need(a, b)
    (losses_a, weights_a), (losses_b, weights_b) = train(a, "mnist adam"), train(b, "mnist adam")
    np.testing.assert_allclose(losses_a, losses_b, rtol=0.02)
    for i, (wa, wb) in enumerate(zip(weights_a, weights_b)):
        if i not in RUNNING_STATISTICS["mnist adam"]:
            assert np.abs(wa - wb).max() <= 4 * ITERATIONS * LR_MNIST[0], f"array {i}"


def test_batch_norm_running_statistics():
    """Where the frameworks' batch norms differ: what the chapter's text says.

    Running mean: the same everywhere. Running variance: PyTorch averages the unbiased
    batch variance (n / (n - 1) times the biased one), Keras and MXNet the biased one.
    MXNet updates the statistics in the backward pass, so a forward pass whose output
    is detached (the generator in update_D) leaves them unchanged.
    """
    need(*FRAMEWORKS)
    from mxnet import autograd, nd
    X = inputs((BATCH, LATENT_DIM))
    start = reference_weights([w.shape for w in get_weights(build("pytorch", "mlp_G"),
                                                            "pytorch")])
    after = {}
    for fw in ("pytorch", "tensorflow"):
        net = with_reference_weights(fw, "mlp_G")
        forward(fw, net, X, training=True)
        after[fw] = get_weights(net, fw)
    net = with_reference_weights("mxnet", "mlp_G")
    with autograd.record():
        Y = net(nd.array(X))
    untouched = get_weights(net, "mxnet")
    Y.backward()
    after["mxnet"] = get_weights(net, "mxnet")
    for mean, var in ((4, 5), (10, 11)):
        np.testing.assert_array_equal(untouched[mean], start[mean])
        for fw in ("tensorflow", "mxnet"):
            np.testing.assert_allclose(after[fw][mean], after["pytorch"][mean], rtol=1e-5)
        np.testing.assert_allclose(after["mxnet"][var], after["tensorflow"][var], rtol=1e-5)
        unbiased = after["pytorch"][var] - 0.9 * start[var]  # 0.1 * the batch's variance
        biased = after["tensorflow"][var] - 0.9 * start[var]
        np.testing.assert_allclose(unbiased / biased, BATCH / (BATCH - 1), rtol=1e-3)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_initialisation_glorot_uniform_zero_bias(fw):
    need(fw)
    for name in ("toy D ring", "mlp_G", "maxout_D"):
        arrays = get_weights(build(fw, name), fw)
        for i, a in enumerate(arrays):
            if a.ndim == 2:
                out, fan_in = a.shape
                bound = np.sqrt(6 / (fan_in + out))
                assert 0.9 * bound < np.abs(a).max() <= bound * (1 + 1e-6), (name, i)
                if a.size > 10_000:  # uniform: std bound / sqrt(3)
                    assert abs(a.std() / (bound / np.sqrt(3)) - 1) < 0.02, (name, i)
                assert not arrays[i + 1].any(), f"{name}: bias {i + 1} is not zero"


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_initial_batch_norm_state(a, b):
    need(a, b)
    for wa, wb in zip(get_weights(build(a, "mlp_G"), a), get_weights(build(b, "mlp_G"), b)):
        if wa.ndim == 1 and (not wa.any() or np.all(wa == 1)):
            np.testing.assert_array_equal(wa, wb)

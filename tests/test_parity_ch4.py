"""Chapter 4's conditional GAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The networks come from the library (`cgan_G`, `cgan_D`, saved by the chapter), the
training steps too (`update_D_cond`, `update_G_cond`). The three versions get the same
weights (moved by gan_edu.parity) and the same inputs, and must agree on parameter
shapes layer by layer, on forward outputs in training mode (batch statistics) and in
inference mode (running statistics), and on the losses and weights after two training
iterations with the chapter's Adam settings. Keras is channels-last: images go in as
NHWC there and come out of its generator as NHWC, and are transposed for comparison;
the networks themselves flatten in PyTorch's (C, H, W) order (the chapter's `Permute`
layers), so dense weights move unchanged.
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
LATENT_DIM, NUM_CLASSES, NF, BATCH = 100, 10, 32, 16
LR, BETAS, EPS = 5e-4, (0.5, 0.999), 1e-8   # the chapter's settings
ITERATIONS = 2


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULE[fw])


def library(fw):
    return importlib.import_module(f"gan_edu.{MODULE[fw]}")


def build_nets(fw):
    """(net_D, net_G) as the chapter builds them, from the library."""
    ge = library(fw)
    net_D, net_G = ge.cgan_D(NUM_CLASSES, NF), ge.cgan_G(LATENT_DIM, NUM_CLASSES, NF)
    if fw == "mxnet":
        for net in (net_D, net_G):
            net.hybridize()
    return net_D, net_G


@functools.lru_cache(maxsize=None)
def reference_weights():
    """One set of weights for both nets: random, PyTorch layout (shapes from PyTorch's).

    Vectors (biases and batch-norm parameters and statistics) lie in [0.5, 1.5], so
    that running variances are positive and no vector is left at its initial value.
    """
    need("pytorch")
    rng = np.random.default_rng(1)

    def draw(shape):
        if len(shape) == 1:
            return rng.uniform(0.5, 1.5, size=shape).astype(np.float32)
        return rng.normal(0, 0.05, size=shape).astype(np.float32)

    net_D, net_G = build_nets("pytorch")
    return ([draw(w.shape) for w in get_weights(net_D, "pytorch")],
            [draw(w.shape) for w in get_weights(net_G, "pytorch")])


def batch():
    """Images in [-1, 1] (NCHW), one-hot labels, wrong labels and noise."""
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=BATCH)
    eye = np.eye(NUM_CLASSES, dtype=np.float32)
    Y, Y_wrong = eye[labels], eye[(labels + 3) % NUM_CLASSES]
    Z = rng.normal(size=(BATCH, LATENT_DIM)).astype(np.float32)
    return X, Y, Z, Y_wrong


def nets_with_reference_weights(fw):
    net_D, net_G = build_nets(fw)
    w_D, w_G = reference_weights()
    set_weights(net_D, fw, w_D)
    set_weights(net_G, fw, w_G)
    return net_D, net_G


def nchw(images, fw):
    return images.transpose(0, 3, 1, 2) if fw == "tensorflow" else images


def nhwc_if_tf(images, fw):
    return images.transpose(0, 2, 3, 1) if fw == "tensorflow" else images


# ---- forward pass and training, each framework in its own idiom ---------------------

def forward(fw, net_D, net_G, X, Y, Z, training):
    """(G(z, y) as NCHW, D(G(z, y), y), D(x, y)) as numpy arrays."""
    X = nhwc_if_tf(X, fw)
    if fw == "pytorch":
        import torch
        for net in (net_D, net_G):
            net.train(training)
        with torch.no_grad():
            X, Y, Z = (torch.as_tensor(a) for a in (X, Y, Z))
            fake = net_G(Z, Y)
            return fake.numpy(), net_D(fake, Y).numpy(), net_D(X, Y).numpy()
    if fw == "tensorflow":
        import tensorflow as tf
        X, Y, Z = (tf.constant(a) for a in (X, Y, Z))
        fake = net_G([Z, Y], training=training)
        return (nchw(fake.numpy(), fw), net_D([fake, Y], training=training).numpy(),
                net_D([X, Y], training=training).numpy())
    from mxnet import autograd, nd
    X, Y, Z = nd.array(X), nd.array(Y), nd.array(Z)
    with autograd.train_mode() if training else autograd.predict_mode():
        fake = net_G(Z, Y)
        return fake.asnumpy(), net_D(fake, Y).asnumpy(), net_D(X, Y).asnumpy()


@functools.lru_cache(maxsize=None)
def train(fw, betas=BETAS, eps=EPS):
    """Losses of each iteration and the weights after them, from the reference weights."""
    X, Y, Z, Y_wrong = batch()
    X = nhwc_if_tf(X, fw)
    net_D, net_G = nets_with_reference_weights(fw)
    ge = library(fw)
    if fw == "pytorch":
        import torch
        from torch import nn
        loss = nn.BCEWithLogitsLoss()
        trainer_D = torch.optim.Adam(net_D.parameters(), lr=LR, betas=betas, eps=eps)
        trainer_G = torch.optim.Adam(net_G.parameters(), lr=LR, betas=betas, eps=eps)
        X, Y, Z, Y_wrong = (torch.as_tensor(a) for a in (X, Y, Z, Y_wrong))
    elif fw == "tensorflow":
        import keras
        import tensorflow as tf
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        adam = dict(beta_1=betas[0], beta_2=betas[1], epsilon=eps)
        trainer_D = keras.optimizers.Adam(learning_rate=LR, **adam)
        trainer_G = keras.optimizers.Adam(learning_rate=LR, **adam)
        # Slots outside the shared tf.functions (see tests/test_parity.py).
        trainer_D.build(net_D.trainable_variables)
        trainer_G.build(net_G.trainable_variables)
        X, Y, Z, Y_wrong = (tf.constant(a) for a in (X, Y, Z, Y_wrong))
    else:
        from mxnet import gluon, nd
        loss = gluon.loss.SigmoidBCELoss()
        adam = dict(learning_rate=LR, beta1=betas[0], beta2=betas[1], epsilon=eps)
        trainer_D = gluon.Trainer(net_D.collect_params(), "adam", adam)
        trainer_G = gluon.Trainer(net_G.collect_params(), "adam", adam)
        X, Y, Z, Y_wrong = (nd.array(a) for a in (X, Y, Z, Y_wrong))
    losses = []
    for _ in range(ITERATIONS):
        loss_D = ge.update_D_cond(X, Y, Z, Y_wrong, net_D, net_G, loss, trainer_D)
        loss_G = ge.update_G_cond(Z, Y, net_D, net_G, loss, trainer_G)
        losses += [np.asarray(v.asnumpy() if fw == "mxnet" else v).item()
                   for v in (loss_D, loss_G)]
    return losses, get_weights(net_D, fw) + get_weights(net_G, fw)


def state_names():
    """PyTorch's names of the arrays `train` returns (D's, then G's)."""
    need("pytorch")
    return [n for net in build_nets("pytorch") for n in net.state_dict()
            if not n.endswith("num_batches_tracked")]


def assert_same_training(result_a, result_b, pair):
    """Same losses; same weights; running statistics where the frameworks define them alike.

    Trainable weights: within 1e-4 of the array's largest value, element by element, with
    one allowance between PyTorch and the other two. PyTorch adds Adam's epsilon to the
    bias-corrected sqrt(v_hat), Keras and MXNet to sqrt(v) before the correction, which
    is an effective epsilon of 1e-8 / sqrt(1 - beta_2^t), about 3e-7 at the first step.
    The few weights whose gradients are that small (about 1.6 % of the generator's first
    layer here) take visibly different steps, by no more than Adam's steps themselves.
    TensorFlow and MXNet share the formula; between them only a weight whose gradient
    is at float32 rounding level may differ (Adam scales every step to about lr,
    whatever the gradient's size): 2 of the generator's 344,960 first-layer weights.

    Batch norm's running statistics: PyTorch folds the unbiased batch variance
    (n / (n - 1)) into its running variance, Keras the biased one: after the generator's
    four forward passes with momentum 0.1 they differ by about 4 * 0.1 / (n - 1) times
    (batch variance / running variance), n = 16 for the batch norm of its dense layer;
    we allow 5 %. MXNet updates running statistics in the *backward*
    pass: only for forward passes that are differentiated (the generator's detached
    forward pass in the discriminator's step does not count) and in reverse order. Its
    running statistics are not compared (see the chapter's "How the three versions
    differ"); what they change is inference-mode output after training, not the
    training itself, which uses batch statistics.
    """
    (losses_a, weights_a), (losses_b, weights_b) = result_a, result_b
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4, atol=0)
    allowance = 0.02 if "pytorch" in pair else 1e-4
    for name, wa, wb in zip(state_names(), weights_a, weights_b):
        if "running" in name:
            if "mxnet" in pair:
                continue
            rtol = 0.05 if name.endswith("running_var") else 1e-4
            np.testing.assert_allclose(wa, wb, rtol=rtol, atol=1e-5, err_msg=name)
            continue
        diff, size = np.abs(wa - wb), np.abs(wb).max()
        off = float((diff > 1e-4 * size).mean())
        assert off <= allowance, f"{name}: {off:.2%} of the weights differ by > 1e-4"
        assert diff.max() <= 2 * LR * ITERATIONS, f"{name}: a weight differs by {diff.max():.1e}"


# ---- the tests -----------------------------------------------------------------------

@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_weights_round_trip(fw):
    need("pytorch", fw)
    net_D, net_G = nets_with_reference_weights(fw)
    w_D, w_G = reference_weights()
    for got, want in zip(get_weights(net_D, fw) + get_weights(net_G, fw), w_D + w_G):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_parameter_shapes_layer_by_layer(a, b):
    need(a, b)
    for net_a, net_b in zip(build_nets(a), build_nets(b)):
        assert [w.shape for w in get_weights(net_a, a)] == \
            [w.shape for w in get_weights(net_b, b)]


def test_parameter_counts_are_the_chapters():
    need("pytorch")
    net_D, net_G = build_nets("pytorch")
    count = [sum(p.numel() for p in net.parameters()) for net in (net_D, net_G)]
    # D: conv 11->32 (+bias), conv 32->64, BN 64, dense 3136->1 (+bias)
    # G: dense 110->3136, BN 3136, transposed conv 64->32, BN 32, transposed conv 32->1 (+bias)
    assert count == [11 * 32 * 16 + 32 + 32 * 64 * 16 + 2 * 64 + 3136 + 1,
                     110 * 3136 + 2 * 3136 + 64 * 32 * 16 + 2 * 32 + 32 * 16 + 1]


@pytest.mark.parametrize("training", [True, False], ids=["train-mode", "inference-mode"])
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_forward_outputs(a, b, training):
    need(a, b)
    X, Y, Z, _ = batch()
    out_a = forward(a, *nets_with_reference_weights(a), X, Y, Z, training)
    out_b = forward(b, *nets_with_reference_weights(b), X, Y, Z, training)
    for ya, yb, shape in zip(out_a, out_b, [(BATCH, 1, 28, 28), (BATCH, 1), (BATCH, 1)]):
        assert ya.shape == yb.shape == shape
        assert max_relative_error(ya, yb) <= 1e-4


def test_the_label_changes_the_outputs():
    """The label reaches both networks (a model that ignored it would pass the above)."""
    need("pytorch")
    X, Y, Z, Y_wrong = batch()
    right = forward("pytorch", *nets_with_reference_weights("pytorch"), X, Y, Z, False)
    wrong = forward("pytorch", *nets_with_reference_weights("pytorch"), X, Y_wrong, Z, False)
    for r, w in zip(right, wrong):
        assert max_relative_error(r, w) > 1e-2


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_training_iterations(a, b):
    need(a, b)
    assert_same_training(train(a), train(b), (a, b))


@pytest.mark.parametrize("a, b", PAIRS)
def test_a_different_adam_setting_is_caught(a, b):
    need(a, b)
    with pytest.raises(AssertionError):
        assert_same_training(train(a, betas=(0.9, 0.999)), train(b), (a, b))


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_initialisation_is_normal_002_with_zero_biases(fw):
    """Every kernel N(0, 0.02), every bias and BN beta 0, BN gamma 1, in every framework."""
    need("pytorch", fw)
    shapes = [w.shape for net in build_nets("pytorch") for w in get_weights(net, "pytorch")]
    names = state_names()
    arrays = [w for net in build_nets(fw) for w in get_weights(net, fw)]
    assert [a.shape for a in arrays] == shapes
    for name, a in zip(names, arrays):
        if a.ndim > 1:  # a kernel
            w = a.astype(np.float64).ravel()
            assert abs(w.mean()) < 5 * 0.02 / np.sqrt(w.size), name
            assert abs(w.std() / 0.02 - 1) < 5 / np.sqrt(2 * w.size) + 0.01, name
            assert np.abs(w).max() < 0.02 * 7, name  # normal, not truncated or uniform
        elif name.endswith("running_var") or (name.endswith("weight") and a.ndim == 1):
            assert (a == 1).all(), name  # BN's gamma and running variance
        else:
            assert not a.any(), name     # biases, BN's beta and running mean

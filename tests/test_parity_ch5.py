"""Chapter 5's InfoGAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The library's own builders (`info_nets`: G, and D and Q sharing one body), initialiser
(`info_init`) and steps (`update_info_D`, `update_info_G`) are compared across the
three framework pairs: parameter shapes layer by layer; forward outputs of G, D and Q
for the same weights and inputs, with batch norm in training and in inference mode;
losses and every trained weight after two training iterations with the chapter's Adam
settings (batch norm's running statistics are compared where the frameworks define them
alike, see test_batch_norm_running_statistics); parameter counts at the chapter's and the
paper's widths; and the initial weights' distribution. Small widths keep the file fast;
the layer sequence is the chapter's.

Keras is channels-last: its images are NHWC, its generator reshapes dense features to
(7, 7, c) and its Flatten lists (row, column, channel). Weights travel in PyTorch's
layout (`gan_edu.parity`), so the two dense layers next to a reshape are permuted here
on the way to and from Keras: the generator's second dense layer (its output units) and
the body's dense layer (its input features).
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
NOISE, CLASSES, CONT = 62, 10, 2
LATENT = NOISE + CLASSES + CONT
CONV, FC, Q_HIDDEN, SLOPE = (4, 8), 16, 8, 0.1        # small widths, the chapter's layers
BATCH = 16
LR_D, LR_G, BETAS = 1e-3, 1e-3, (0.5, 0.999)  # the chapter's Adam; epsilon: see below
LAMBDA_CAT, LAMBDA_CONT = 1.0, 1.0
ITERATIONS = 2
# Indices, in PyTorch's order of get_weights, of the dense kernels next to a reshape.
G_DENSE_BEFORE_RESHAPE = 5   # Linear(fc, c2*7*7): weight, then BatchNorm1d's four arrays
BODY_DENSE_AFTER_FLATTEN = 7  # conv1 weight, bias; conv2 weight; BN (4); Linear(c2*7*7, fc)


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULE[fw])


def library(fw):
    return importlib.import_module(f"gan_edu.{MODULE[fw]}")


# ---- layouts ---------------------------------------------------------------------------

def to_keras_order(arrays, index, side):
    """Permute a dense kernel (PyTorch layout) next to a (c, 7, 7) <-> (7, 7, c) reshape."""
    arrays = list(arrays)
    w, c = arrays[index], CONV[1]
    if side == "out":   # G: output units (c, 7, 7) -> (7, 7, c)
        arrays[index] = w.reshape(c, 7, 7, -1).transpose(1, 2, 0, 3).reshape(w.shape)
    else:               # body: input features (c, 7, 7) -> (7, 7, c)
        arrays[index] = w.reshape(-1, c, 7, 7).transpose(0, 2, 3, 1).reshape(w.shape)
    return arrays


def from_keras_order(arrays, index, side):
    arrays = list(arrays)
    w, c = arrays[index], CONV[1]
    if side == "out":
        arrays[index] = w.reshape(7, 7, c, -1).transpose(2, 0, 1, 3).reshape(w.shape)
    else:
        arrays[index] = w.reshape(-1, 7, 7, c).transpose(0, 3, 1, 2).reshape(w.shape)
    return arrays


def canonical_weights(fw, nets):
    """(G, D, Q) weights in PyTorch's layout and feature order."""
    net_G, net_D, net_Q = nets
    w_G, w_D, w_Q = (get_weights(n, fw) for n in (net_G, net_D, net_Q))
    if fw == "tensorflow":
        w_G = from_keras_order(w_G, G_DENSE_BEFORE_RESHAPE, "out")
        w_D = from_keras_order(w_D, BODY_DENSE_AFTER_FLATTEN, "in")
        w_Q = from_keras_order(w_Q, BODY_DENSE_AFTER_FLATTEN, "in")
    return w_G, w_D, w_Q


def load_weights(fw, nets, weights):
    net_G, net_D, net_Q = nets
    w_G, w_D, w_Q = weights
    if fw == "tensorflow":
        w_G = to_keras_order(w_G, G_DENSE_BEFORE_RESHAPE, "out")
        w_D = to_keras_order(w_D, BODY_DENSE_AFTER_FLATTEN, "in")
        w_Q = to_keras_order(w_Q, BODY_DENSE_AFTER_FLATTEN, "in")
    set_weights(net_G, fw, w_G)
    set_weights(net_D, fw, w_D)
    set_weights(net_Q, fw, w_Q)  # the shared body again (same values), then Q's head


# ---- networks from the library ------------------------------------------------------------

def build_nets(fw, conv=CONV, fc=FC, q_hidden=Q_HIDDEN):
    """(net_G, net_D, net_Q) built and initialised by the library's own code."""
    ge = library(fw)
    nets = ge.info_nets(LATENT, conv, fc, q_hidden, CLASSES + CONT, SLOPE)
    for net in nets:
        if fw == "pytorch":
            net.apply(ge.info_init)
        else:
            ge.info_init(net)
        if fw == "mxnet":
            net.hybridize()
    return nets


@functools.lru_cache(maxsize=None)
def reference_weights():
    """Random weights for G, D and Q in PyTorch's layout (batch-norm statistics included)."""
    need("pytorch")
    nets = build_nets("pytorch")
    rng = np.random.default_rng(1)
    out = []
    for net in nets:
        arrays = []
        for name, t in net.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            shape = tuple(t.shape)
            if name.endswith(("running_var", "weight")) and len(shape) == 1:  # BN var, gamma
                arrays.append(rng.uniform(0.5, 1.5, size=shape))
            elif len(shape) == 1:
                arrays.append(rng.uniform(-0.5, 0.5, size=shape))
            else:
                fan_in = int(np.prod(shape[1:])) if "ConvTranspose" not in name else shape[0]
                arrays.append(rng.normal(0, 1 / np.sqrt(fan_in), size=shape))
        out.append([a.astype(np.float32) for a in arrays])
    # net_D and net_Q share their body: the same arrays in both lists.
    body = len(out[1]) - 2
    out[2][:body] = out[1][:body]
    return tuple(out)


def batch():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(BATCH, 1, 28, 28)).astype(np.float32)
    c_cat = rng.integers(0, CLASSES, size=BATCH)
    c_cont = rng.uniform(-1, 1, size=(BATCH, CONT)).astype(np.float32)
    Z = np.concatenate([rng.normal(size=(BATCH, NOISE)), np.eye(CLASSES)[c_cat], c_cont],
                       axis=1).astype(np.float32)
    return X, Z, c_cat, c_cont


def nets_with_reference_weights(fw):
    nets = build_nets(fw)
    load_weights(fw, nets, reference_weights())
    return nets


# ---- forward pass and training, each framework in its own idiom ---------------------

def forward(fw, nets, X, Z, training):
    """[G(Z) as NCHW, D(X), Q(X), D(G(Z)), Q(G(Z))] as numpy arrays."""
    net_G, net_D, net_Q = nets
    if fw == "pytorch":
        import torch
        for net in nets:
            net.train(training)
        with torch.no_grad():
            fake = net_G(torch.as_tensor(Z))
            X = torch.as_tensor(X)
            out = [fake, net_D(X), net_Q(X), net_D(fake), net_Q(fake)]
        return [o.numpy() for o in out]
    if fw == "tensorflow":
        X = X.transpose(0, 2, 3, 1)
        fake = net_G(Z, training=training)
        out = [net_D(X, training=training), net_Q(X, training=training),
               net_D(fake, training=training), net_Q(fake, training=training)]
        return [fake.numpy().transpose(0, 3, 1, 2)] + [o.numpy() for o in out]
    from mxnet import autograd, nd
    X, Z = nd.array(X), nd.array(Z)
    with autograd.train_mode() if training else autograd.predict_mode():
        fake = net_G(Z)
        out = [fake, net_D(X), net_Q(X), net_D(fake), net_Q(fake)]
    return [o.asnumpy() for o in out]


@functools.lru_cache(maxsize=None)
def train(fw, betas=BETAS, eps=1e-12):
    """Losses of each iteration and the weights after them, from the reference weights."""
    X, Z, c_cat, c_cont = batch()
    nets = nets_with_reference_weights(fw)
    net_G, net_D, net_Q = nets
    ge = library(fw)
    lambdas = (LAMBDA_CAT, LAMBDA_CONT)
    if fw == "pytorch":
        import torch
        from torch import nn
        loss = nn.BCEWithLogitsLoss()
        adam = dict(betas=betas, eps=eps)
        trainer_D = torch.optim.Adam([*net_D.parameters(), *net_Q[1].parameters()],
                                     lr=LR_D, **adam)
        trainer_G = torch.optim.Adam(net_G.parameters(), lr=LR_G, **adam)
        X, Z = torch.as_tensor(X), torch.as_tensor(Z)
        c_cat, c_cont = torch.as_tensor(c_cat), torch.as_tensor(c_cont)
        scalar = float
    elif fw == "tensorflow":
        import keras
        import tensorflow as tf
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        adam = dict(beta_1=betas[0], beta_2=betas[1], epsilon=eps)
        trainer_D = keras.optimizers.Adam(learning_rate=LR_D, **adam)
        trainer_G = keras.optimizers.Adam(learning_rate=LR_G, **adam)
        # slots outside the compiled steps
        trainer_D.build(net_D.trainable_variables + net_Q.layers[1].trainable_variables)
        trainer_G.build(net_G.trainable_variables)
        X, Z = tf.constant(X.transpose(0, 2, 3, 1)), tf.constant(Z)
        c_cat, c_cont = tf.constant(c_cat, dtype=tf.int32), tf.constant(c_cont)
        lambdas = tuple(tf.constant(v) for v in lambdas)
        scalar = float
    else:
        from mxnet import gluon, nd
        loss = gluon.loss.SigmoidBCELoss()
        adam = dict(beta1=betas[0], beta2=betas[1], epsilon=eps)
        D_and_Q = [*net_D.collect_params().values(), *net_Q[1].collect_params().values()]
        trainer_D = gluon.Trainer(D_and_Q, "adam", dict(adam, learning_rate=LR_D))
        trainer_G = gluon.Trainer(net_G.collect_params(), "adam", dict(adam, learning_rate=LR_G))
        X, Z = nd.array(X), nd.array(Z)
        c_cat, c_cont = nd.array(c_cat, dtype="int32"), nd.array(c_cont)

        def scalar(x):
            return float(x.asscalar())
    losses = []
    for _ in range(ITERATIONS):  # as in the chapter: D's and Q's step, then G's, same Z
        loss_D = ge.update_info_D(X, Z, c_cat, c_cont, net_D, net_Q, net_G, loss,
                                  trainer_D, *lambdas)
        loss_G, loss_I = ge.update_info_G(Z, c_cat, c_cont, net_D, net_Q, net_G, loss,
                                          trainer_G, *lambdas)
        losses += [scalar(loss_D), scalar(loss_G), scalar(loss_I)]
    return np.array(losses), canonical_weights(fw, nets)


@functools.lru_cache(maxsize=None)
def statistics_mask():
    """Per net (G, D, Q), which arrays of get_weights are batch norm's running statistics."""
    return tuple(tuple(name.endswith(("running_mean", "running_var"))
                       for name in net.state_dict() if not name.endswith("num_batches_tracked"))
                 for net in build_nets("pytorch"))


def assert_same_training(a, b, losses_only=False):
    """Same losses (relative 1e-4) and trained weights (rtol 1e-4, atol 1e-5)."""
    (losses_a, weights_a), (losses_b, weights_b) = a, b
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4, atol=0)
    if losses_only:
        return
    for net, wa_net, wb_net, mask in zip("GDQ", weights_a, weights_b, statistics_mask()):
        for i, (wa, wb, statistic) in enumerate(zip(wa_net, wb_net, mask)):
            if not statistic:
                np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5,
                                           err_msg=f"{net} array {i}")


# ---- the tests -----------------------------------------------------------------------

@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_weights_round_trip_and_shared_body(fw):
    need("pytorch", fw)
    nets = nets_with_reference_weights(fw)
    for got, want in zip(canonical_weights(fw, nets), reference_weights()):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    # One body: a change made through net_D shows in net_Q.
    net_D, net_Q = nets[1], nets[2]
    w_D = get_weights(net_D, fw)
    w_D[0] = w_D[0] + 1
    set_weights(net_D, fw, w_D)
    np.testing.assert_array_equal(get_weights(net_Q, fw)[0], w_D[0])


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_parameter_shapes_layer_by_layer(a, b):
    need(a, b)
    for conv, fc in [(CONV, FC), ((32, 64), 256)]:  # also the chapter's default widths
        for net_a, net_b in zip(build_nets(a, conv, fc, 128), build_nets(b, conv, fc, 128)):
            shapes_a = [w.shape for w in get_weights(net_a, a)]
            assert shapes_a == [w.shape for w in get_weights(net_b, b)]


def test_parameter_counts_of_the_default_and_paper_widths():
    need("pytorch")
    ge = library("pytorch")
    counts = {}
    for name, conv, fc in [("default", (32, 64), 256), ("paper", (64, 128), 1024)]:
        nets = ge.info_nets(LATENT, conv, fc, 128, CLASSES + CONT, SLOPE)
        counts[name] = [sum(p.numel() for p in n.parameters()) for n in nets]
    # G; D = body + D's head; Q = body + Q's head (the body counted in both)
    assert counts["default"] == [855_745, 837_025, 871_340]
    assert counts["paper"] == [6_632_833, 6_558_017, 6_689_868]


@pytest.mark.parametrize("training", [True, False], ids=["train-mode", "inference-mode"])
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_forward_outputs(a, b, training):
    need("pytorch", a, b)
    X, Z, _, _ = batch()
    out_a = forward(a, nets_with_reference_weights(a), X, Z, training)
    out_b = forward(b, nets_with_reference_weights(b), X, Z, training)
    shapes = [(BATCH, 1, 28, 28), (BATCH, 1), (BATCH, 12), (BATCH, 1), (BATCH, 12)]
    for ya, yb, shape in zip(out_a, out_b, shapes):
        assert ya.shape == yb.shape == shape
        assert max_relative_error(ya, yb) <= 1e-4


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_training_iterations(a, b):
    """Two iterations of the chapter's steps give the same losses and trained weights.

    The chapter's Adam settings, but for epsilon: each framework puts it in another
    place. PyTorch adds it to the bias-corrected sqrt(v_hat); Keras and MXNet add it to
    sqrt(v) and correct the step size, which amounts to epsilon / sqrt(1 - beta_2^t),
    about 30 times larger at the first step. With the chapter's 1e-8 the losses still
    agree, but a weight whose gradient is about 1e-7 (the body's dense layer has some)
    moves measurably differently; with 1e-12 the same algorithm gives the same weights.
    """
    need("pytorch", a, b)
    assert_same_training(train(a), train(b))
    # A different beta_1 in one framework must make the comparison fail.
    with pytest.raises(AssertionError):
        assert_same_training(train(a, betas=(0.9, 0.999)), train(b))


@pytest.mark.parametrize("a, b", [("pytorch", "tensorflow")])
def test_batch_norm_running_statistics(a, b):
    """Running means agree between PyTorch and Keras; running variances do not, by design.

    PyTorch's running variance averages the *unbiased* batch variance (n / (n - 1) times
    the biased one), Keras' and Gluon's the biased one. Gluon (MXNet 1.x) also updates
    the running statistics when the gradient flows back through a batch norm, not in the
    forward pass: the discriminator step's detached generator batch leaves the
    generator's statistics unchanged, and the real and generated batches update the
    discriminator's in the opposite order. Training uses batch statistics, so none of this
    changes a loss or a trained weight (test_same_training_iterations); it changes the
    statistics that inference mode uses, which follow the same data a little differently.
    """
    need(a, b)
    (_, weights_a), (_, weights_b) = train(a), train(b)
    names = [[n for n in net.state_dict() if not n.endswith("num_batches_tracked")]
             for net in build_nets("pytorch")]
    for net_names, wa_net, wb_net in zip(names, weights_a, weights_b):
        for name, wa, wb in zip(net_names, wa_net, wb_net):
            if name.endswith("running_mean"):
                np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5, err_msg=name)
            elif name.endswith("running_var"):  # unbiased (PyTorch) >= biased (Keras)
                assert np.all(wa >= wb * (1 - 1e-6)), name
    G_first_var = names[0].index("1.running_var")  # a batch of 16: 16/15 makes it show
    assert not np.allclose(weights_a[0][G_first_var], weights_b[0][G_first_var], rtol=1e-3)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_initialisation_is_dcgan_normal(fw):
    """Kernels N(0, 0.02^2), biases 0, batch norm gamma 1 and beta 0, at the chapter's widths."""
    need(fw)
    kernels, vectors = [], []
    for net in build_nets(fw, (32, 64), 256, 128):
        for w in get_weights(net, fw):
            (kernels if w.ndim > 1 else vectors).append(w)
    w = np.concatenate([k.ravel() for k in kernels]).astype(np.float64)
    assert abs(w.mean()) < 5 * 0.02 / np.sqrt(w.size)
    assert abs(w.std() / 0.02 - 1) < 0.01
    kurtosis = ((w - w.mean()) ** 4).mean() / w.var() ** 2
    assert abs(kurtosis - 3) < 0.05                         # normal, not uniform (1.8)
    # Vectors: biases, BN beta and running means are 0; BN gamma and running vars are 1.
    assert all(set(np.unique(v)) <= {0.0, 1.0} for v in vectors)
    assert sum(v.size for v in vectors if v.any()) > 0

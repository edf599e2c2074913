"""Chapter 6's CycleGAN and DualGAN are the same algorithm in PyTorch, TensorFlow and MXNet.

The library's own builders (cycle_G, patch_D), initialisation (cycle_init), history buffer
(ImageBuffer) and update steps (update_cycle_G/D, update_dual_D/G) are compared across the
three frameworks: layer-by-layer parameter shapes, forward outputs with the same weights
(with and without dropout), two training iterations of each model with the chapter's
optimiser settings (history buffer bypassed: it is tested on its own), the buffer's draws,
and the moments of the initial weights. Keras is channels-last: its inputs and outputs
are transposed here; the networks have no dense layer, so no flatten order differs.
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
CHANNELS, NUM_RES, DROPOUT, BATCH = 16, 1, 0.2, 4     # the chapter's networks
LR_CYCLE, BETAS, EPS = 5e-4, (0.5, 0.999), 1e-8       # the chapter's CycleGAN settings
LAMBDA_CYCLE, LAMBDA_IDENTITY = 10.0, 5.0
LR_DUAL, RHO, RMS_EPS, CLIP, LAMBDA_REC = 5e-4, 0.9, 1e-8, 0.01, 20.0   # DualGAN
ITERATIONS = 2


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULE[fw])


def lib(fw):
    if fw == "pytorch":
        from gan_edu import torch as ge
    elif fw == "tensorflow":
        from gan_edu import tensorflow as ge
    else:
        from gan_edu import mxnet as ge
    return ge


# ---- networks, weights and data ------------------------------------------------------

def build(fw, kind, dropout=0.0, norm=True):
    """A chapter network ('G' or 'D') built and initialised by the library."""
    ge = lib(fw)
    if kind == "G":
        net = ge.cycle_G(CHANNELS, NUM_RES, dropout)
    elif kind == "dual_G":
        net = ge.dual_G(CHANNELS, NUM_RES, dropout)
    else:
        net = ge.patch_D(CHANNELS, norm)
    ge.cycle_init(net)
    if fw == "mxnet":
        net.hybridize()
    return net


def reference_weights(shapes, seed):
    """Random weights of the given shapes: kernels N(0, 1 / fan-in), vectors around 0 / 1.

    Kernels of unit gain keep the activations near unit size, so the output tanh does not
    saturate: a saturated tanh makes gradients of about 1e-8, and Adam's first step,
    lr * g / (|g| + eps), turns their float32 rounding into full-size steps.
    """
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        if len(shape) == 4:
            arrays.append(rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), size=shape))
        else:  # biases, instance norm's scale and shift
            arrays.append(rng.uniform(-0.5, 0.5, size=shape))
    return [a.astype(np.float32) for a in arrays]


def net_with_weights(fw, kind, seed, dropout=0.0, norm=True):
    net = build(fw, kind, dropout, norm)
    shapes = [w.shape for w in get_weights(build("pytorch", kind, dropout, norm), "pytorch")]
    weights = reference_weights(shapes, seed)
    if kind != "D":  # instance norm scales around 1 rather than 0
        torch_net = build("pytorch", kind, dropout, norm)
        names = [n for n in torch_net.state_dict() if not n.endswith("num_batches_tracked")]
        weights = [w + 1 if _is_norm_scale(torch_net, n) else w for w, n in zip(weights, names)]
    set_weights(net, fw, weights)
    return net


def _is_norm_scale(torch_net, name):
    from torch import nn
    module = torch_net.get_submodule(name.rsplit(".", 1)[0])
    return isinstance(module, nn.InstanceNorm2d) and name.endswith("weight")


def images(seed, n=BATCH):
    """Images in [-1, 1], NCHW, digit-like: mostly -1 with brighter blobs."""
    rng = np.random.default_rng(seed)
    x = np.tanh(rng.normal(-1, 1.5, size=(n, 1, 28, 28)))
    return x.astype(np.float32)


def to_fw(fw, x):
    if fw == "pytorch":
        import torch
        return torch.as_tensor(x)
    if fw == "tensorflow":
        import tensorflow as tf
        return tf.constant(x.transpose(0, 2, 3, 1))
    from mxnet import nd
    return nd.array(x)


def to_numpy(fw, y):
    """A framework's output as a numpy array in NCHW."""
    if fw == "pytorch":
        return y.detach().numpy()
    if fw == "tensorflow":
        return np.asarray(y).transpose(0, 3, 1, 2)
    return y.asnumpy()


def forward(fw, net, x, training):
    X = to_fw(fw, x)
    if fw == "pytorch":
        import torch
        net.train(training)
        with torch.no_grad():
            y = net(X)
        net.train()
        return to_numpy(fw, y)
    if fw == "tensorflow":
        return to_numpy(fw, net(X, training=training))
    from mxnet import autograd
    if training:
        with autograd.train_mode():
            return to_numpy(fw, net(X))
    return to_numpy(fw, net(X))


# ---- two training iterations ----------------------------------------------------------

def optimisers(fw, model, nets_G, nets_D):
    if fw == "pytorch":
        import torch
        params_G = [p for n in nets_G for p in n.parameters()]
        params_D = [p for n in nets_D for p in n.parameters()]
        if model == "cycle":
            return (torch.optim.Adam(params_G, lr=LR_CYCLE, betas=BETAS, eps=EPS),
                    torch.optim.Adam(params_D, lr=LR_CYCLE, betas=BETAS, eps=EPS))
        return (torch.optim.RMSprop(params_G, lr=LR_DUAL, alpha=RHO, eps=RMS_EPS),
                torch.optim.RMSprop(params_D, lr=LR_DUAL, alpha=RHO, eps=RMS_EPS))
    if fw == "tensorflow":
        import keras
        if model == "cycle":
            make = functools.partial(keras.optimizers.Adam, learning_rate=LR_CYCLE,
                                     beta_1=BETAS[0], beta_2=BETAS[1], epsilon=EPS)
        else:
            make = functools.partial(keras.optimizers.RMSprop, learning_rate=LR_DUAL,
                                     rho=RHO, epsilon=RMS_EPS, momentum=0.0)
        trainers = []
        for nets in (nets_G, nets_D):
            trainer = make()
            trainer.build([v for n in nets for v in n.trainable_variables])
            trainers.append(trainer)
        return tuple(trainers)
    from mxnet import gluon
    if model == "cycle":
        name, settings = "adam", dict(learning_rate=LR_CYCLE, beta1=BETAS[0], beta2=BETAS[1],
                                      epsilon=EPS)
    else:
        name, settings = "rmsprop", dict(learning_rate=LR_DUAL, gamma1=RHO, epsilon=RMS_EPS,
                                         centered=False)
    return tuple(gluon.Trainer([p for n in nets for p in n.collect_params().values()],
                               name, dict(settings)) for nets in (nets_G, nets_D))


def scalar(fw, x):
    return float(x.asscalar()) if fw == "mxnet" else float(x)


@functools.lru_cache(maxsize=None)
def train(fw, model):
    """Losses of two iterations and the weights of the four nets after them."""
    ge = lib(fw)
    norm = model == "cycle"
    G = "G" if model == "cycle" else "dual_G"   # DualGAN's U-Net, dropout off here
    G_AB, G_BA = net_with_weights(fw, G, 1), net_with_weights(fw, G, 2)
    D_A, D_B = net_with_weights(fw, "D", 3, norm=norm), net_with_weights(fw, "D", 4, norm=norm)
    trainer_G, trainer_D = optimisers(fw, model, (G_AB, G_BA), (D_A, D_B))
    losses = []
    real_A, real_B = to_fw(fw, images(10)), to_fw(fw, images(20))
    for _ in range(ITERATIONS):  # the same batch twice, as chapter 1's test does
        if model == "cycle":
            loss_G, fake_A, fake_B = ge.update_cycle_G(
                real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, LAMBDA_CYCLE,
                LAMBDA_IDENTITY)
            loss_D = ge.update_cycle_D(real_A, real_B, fake_A, fake_B, D_A, D_B, trainer_D)
            losses += [scalar(fw, loss_G), scalar(fw, loss_D)]
        else:  # the chapter's order: critics first, then the generators
            loss_D = ge.update_dual_D(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_D, CLIP)
            loss_G = ge.update_dual_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G,
                                      LAMBDA_REC)
            losses += [scalar(fw, loss_D), scalar(fw, loss_G)]
    weights = [w for net in (G_AB, G_BA, D_A, D_B) for w in get_weights(net, fw)]
    return np.array(losses), weights


def assert_same_training(a, b):
    (losses_a, weights_a), (losses_b, weights_b) = a, b
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4, atol=0)
    for i, (wa, wb) in enumerate(zip(weights_a, weights_b)):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5, err_msg=f"array {i}")


# ---- the tests ------------------------------------------------------------------------

NETS = {"G": dict(kind="G"), "G_dropout": dict(kind="G", dropout=DROPOUT),
        "dual_G": dict(kind="dual_G"), "dual_G_dropout": dict(kind="dual_G", dropout=DROPOUT),
        "D": dict(kind="D"), "D_critic": dict(kind="D", norm=False)}


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_parameter_shapes_layer_by_layer(a, b, net):
    need(a, b)
    shapes_a = [w.shape for w in get_weights(build(a, **NETS[net]), a)]
    shapes_b = [w.shape for w in get_weights(build(b, **NETS[net]), b)]
    assert shapes_a == shapes_b
    expected = {"G": 35_361, "dual_G": 35_505, "D": 8_817,
                "D_critic": 8_785}[net.replace("_dropout", "")]
    assert sum(int(np.prod(s)) for s in shapes_a) == expected


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_forward_outputs(a, b, net):
    need(a, b)
    x = images(0)
    # With dropout, training mode draws different masks: compare inference mode only.
    modes = (False,) if NETS[net].get("dropout") else (False, True)
    for training in modes:
        out_a = forward(a, net_with_weights(a, seed=5, **NETS[net]), x, training)
        out_b = forward(b, net_with_weights(b, seed=5, **NETS[net]), x, training)
        shape = (BATCH, 1, 7, 7) if NETS[net]["kind"] == "D" else (BATCH, 1, 28, 28)
        assert out_a.shape == out_b.shape == shape
        assert out_a.std() > 1e-3  # not a trivial output
        assert max_relative_error(out_a, out_b) <= 1e-4, (training, net)


@pytest.mark.parametrize("model", ["cycle", "dual"])
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_training_iterations(a, b, model):
    need(a, b)
    assert_same_training(train(a, model), train(b, model))


@pytest.mark.parametrize("a, b", PAIRS)
def test_history_buffer_draws_the_same(a, b):
    need(a, b)
    outputs = {}
    for fw in (a, b):
        ge = lib(fw)
        buffer = ge.ImageBuffer(5, np.random.default_rng(0))
        drawn = []
        for i in range(6):  # fill it, then draw old and new images
            batch = images(30 + i, n=3) + np.arange(3, dtype=np.float32)[:, None, None, None]
            x = batch if fw != "tensorflow" else batch.transpose(0, 2, 3, 1)
            drawn.append(to_numpy(fw, buffer.query(to_fw(fw, batch) if fw != "tensorflow"
                                                   else _tf(x))))
        outputs[fw] = np.concatenate(drawn)
    np.testing.assert_array_equal(outputs[a], outputs[b])
    assert len(outputs[a]) == 18


def _tf(x):
    import tensorflow as tf
    return tf.constant(x)


def test_history_buffer_shows_older_images():
    pytest.importorskip("torch")
    import torch

    from gan_edu import torch as ge
    buffer = ge.ImageBuffer(4, np.random.default_rng(0))
    seen = [buffer.query(torch.full((4, 1, 2, 2), float(k)))[:, 0, 0, 0] for k in range(20)]
    assert torch.equal(seen[0], torch.zeros(4))         # filling up: the new images
    later = torch.cat(seen[1:])
    old = later < torch.arange(1, 20).repeat_interleave(4)
    assert 0.3 < old.float().mean() < 0.7               # about half from the history


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_initialisation_is_normal_002_with_zero_biases(fw):
    need(fw)
    net = build(fw, "dual_G", DROPOUT)
    weights = get_weights(net, fw)
    kernels = [w for w in weights if w.ndim == 4]
    vectors = [w for w in weights if w.ndim == 1]
    big = max(kernels, key=lambda w: w.size).astype(np.float64).ravel()   # 32*32*3*3
    assert abs(big.mean()) < 5 * 0.02 / np.sqrt(big.size)
    assert abs(big.std() / 0.02 - 1) < 0.05
    kurtosis = ((big - big.mean()) ** 4).mean() / big.var() ** 2
    assert abs(kurtosis - 3) < 0.4                       # normal, not uniform (1.8)
    # instance norm: scale 1, shift 0; the output convolution's bias 0
    assert sorted({float(v) for w in vectors for v in np.unique(w)}) == [0.0, 1.0]
    critic = get_weights(build(fw, "D", norm=False), fw)
    assert all(not w.any() for w in critic if w.ndim == 1)


def test_a_different_rmsprop_setting_is_caught():
    need("pytorch", "mxnet")
    reference = train("pytorch", "dual")
    global RHO
    saved, RHO = RHO, 0.99
    try:
        train.cache_clear()
        drifted = train("mxnet", "dual")
    finally:
        RHO = saved
        train.cache_clear()
    with pytest.raises(AssertionError):
        assert_same_training(drifted, reference)

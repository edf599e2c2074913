"""Chapter 3's DCGAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The networks come from the library (`dcgan_G`, `dcgan_D`, `init_dcgan`, saved by
chapters/03_dcgan.md). With the same weights and inputs they must give the same
outputs in training mode (batch statistics) and in inference mode (running averages),
and two iterations of chapter 1's update_D / update_G with chapter 3's Adam settings
must give the same losses and trained weights. Keras holds the images as NHWC, so the
dense layers next to its Flatten / Reshape see the 64 x 7 x 7 maps in another order:
`gan_edu.parity.reorder_flattened` (also tested here) moves the weights.

Two differences between the frameworks are real and documented in the chapter; the
tests pin them down exactly instead of hiding them:

- Adam's epsilon. PyTorch adds it to sqrt(v_hat), Keras and MXNet to sqrt(v) before
  the bias correction, i.e. to sqrt(v_hat) after dividing it by sqrt(1 - beta_2^t).
  With eps = 1e-8 and this network's small gradients (many below 1e-6), the first
  updates differ by percents. The training comparison gives PyTorch that convention
  (its eps set to eps / sqrt(1 - beta_2^t) before step t), and a test checks that the
  plain setting does differ, so the adjustment is not hiding anything else.
- Batch norm's running averages. PyTorch averages the unbiased batch variance, Keras
  and MXNet the biased one; and MXNet updates the averages in the backward pass, so
  a generator called under `detach()` (in update_D) does not update them, and the
  order of the updates differs. The running averages are therefore compared in a
  test of their own (one step, the exact rules); the training comparison leaves them
  out (inference-mode outputs with the same averages are compared above).
"""

import functools
import itertools

import numpy as np
import pytest

import gan_edu  # noqa: F401  (sets thread counts and MXNet's numpy alias before imports)
from gan_edu.parity import (
    channels_first,
    channels_last,
    get_weights,
    max_relative_error,
    reorder_flattened,
    set_weights,
)

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
PAIRS = list(itertools.combinations(FRAMEWORKS, 2))
MODULE = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
LATENT_DIM, BATCH = 100, 16
LR_D, LR_G, BETAS, EPS = 2e-4, 1e-3, (0.5, 0.999), 1e-8   # chapter 3's settings
MAP = (64, 7, 7)                                           # the maps next to flatten/reshape
PARAMS = {"G": 862_401, "D": 837_025}                      # trained parameters, the chapter's


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(MODULE[fw])


def lib(fw):
    import importlib
    return importlib.import_module(f"gan_edu.{MODULE[fw]}")


def build(fw, which, hybridize=True):
    """The chapter's net ('G' or 'D') from the library, initialised by init_dcgan."""
    ge = lib(fw)
    net = ge.dcgan_G(LATENT_DIM) if which == "G" else ge.dcgan_D()
    ge.init_dcgan(net)
    if fw == "mxnet" and hybridize:
        net.hybridize(static_alloc=True, static_shape=True)  # as the chapter trains it
    return net


def flattened(which, arrays):
    """Where the flattened maps are: (index, axis) of the dense weight next to them."""
    if which == "G":   # dense 256 -> 64*7*7 before the reshape: its output axis (and no bias)
        return [(i, 0) for i, a in enumerate(arrays) if a.shape == (64 * 7 * 7, 256)]
    return [(i, 1) for i, a in enumerate(arrays) if a.shape == (256, 64 * 7 * 7)]


def get(net, fw, which):
    """The weights of a net in PyTorch's layout and order, whatever the framework."""
    arrays = get_weights(net, fw)
    if fw == "tensorflow":
        arrays = reorder_flattened(arrays, flattened(which, arrays), MAP, to="NCHW")
    return arrays


def put(net, fw, which, arrays):
    if fw == "tensorflow":
        arrays = reorder_flattened(arrays, flattened(which, arrays), MAP, to="NHWC")
    set_weights(net, fw, arrays)


@functools.lru_cache(maxsize=None)
def reference_weights(which):
    """Random weights in PyTorch's layout, batch norm's four vectors included."""
    need("pytorch")
    from torch import nn
    net = build("pytorch", which)
    rng = np.random.default_rng(1 if which == "G" else 2)
    arrays = []
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        shape, module = tuple(t.shape), net.get_submodule(name.rsplit(".", 1)[0])
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if name.endswith(("weight", "running_var")):   # gamma and the running variance
                arrays.append(rng.uniform(0.5, 1.5, shape))
            else:                                          # beta and the running mean
                arrays.append(rng.normal(0, 0.1, shape))
        else:  # weights and biases; fan-in scaled so that activations stay O(1)
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 10
            if isinstance(module, nn.ConvTranspose2d) and len(shape) > 1:
                fan_in = shape[0] * shape[2] * shape[3] // 4
            arrays.append(rng.normal(0, 1 / np.sqrt(fan_in), shape))
    return [a.astype(np.float32) for a in arrays]


@functools.lru_cache(maxsize=None)
def running_indices(which):
    """Positions of batch norm's running mean and variance in the weight list."""
    need("pytorch")
    names = [n for n in build("pytorch", which).state_dict() if "num_batches" not in n]
    return [i for i, n in enumerate(names) if "running_" in n]


def inputs():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(BATCH, 1, 28, 28)).astype(np.float32)
    Z = rng.normal(size=(BATCH, LATENT_DIM)).astype(np.float32)
    return X, Z


def nets(fw):
    """(net_D, net_G) with the reference weights."""
    pair = []
    for which in ("D", "G"):
        net = build(fw, which)
        put(net, fw, which, reference_weights(which))
        pair.append(net)
    return pair


def nchw(fw, y):
    """A framework's output as numpy, images in NCHW."""
    y = y.asnumpy() if hasattr(y, "asnumpy") else np.asarray(y.detach() if hasattr(
        y, "detach") else y)
    return y.transpose(0, 3, 1, 2) if fw == "tensorflow" and y.ndim == 4 else y


def forward(fw, training):
    """G(Z), D(X), D's body features of X and D(G(Z)) in training or inference mode."""
    X, Z = inputs()
    net_D, net_G = nets(fw)
    if fw == "pytorch":
        import torch
        for net in (net_D, net_G):
            net.train(training)
        with torch.no_grad():
            X, Z = torch.as_tensor(X), torch.as_tensor(Z)
            outs = net_G(Z), net_D(X), net_D[0](X), net_D(net_G(Z))
    elif fw == "tensorflow":
        X = X.transpose(0, 2, 3, 1)
        outs = (net_G(Z, training=training), net_D(X, training=training),
                net_D.layers[0](X, training=training),
                net_D(net_G(Z, training=training), training=training))
    else:
        from mxnet import autograd, nd
        X, Z = nd.array(X), nd.array(Z)
        mode = autograd.train_mode() if training else autograd.predict_mode()
        with mode:
            outs = net_G(Z), net_D(X), net_D[0](X), net_D(net_G(Z))
    return [nchw(fw, y) for y in outs]


@functools.lru_cache(maxsize=None)
def train(fw, iterations=2, keras_epsilon=True):
    """Losses of each iteration and the trained weights after them (no running averages).

    `keras_epsilon` gives PyTorch's Adam the epsilon convention of Keras and MXNet.
    """
    X, Z = inputs()
    net_D, net_G = nets(fw)
    ge = lib(fw)
    if fw == "pytorch":
        import torch
        from torch import nn
        loss = nn.BCEWithLogitsLoss()
        trainer_D = torch.optim.Adam(net_D.parameters(), lr=LR_D, betas=BETAS, eps=EPS)
        trainer_G = torch.optim.Adam(net_G.parameters(), lr=LR_G, betas=BETAS, eps=EPS)
        X, Z = torch.as_tensor(X), torch.as_tensor(Z)
        scalar = float
    elif fw == "tensorflow":
        import keras
        import tensorflow as tf
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        adam = dict(beta_1=BETAS[0], beta_2=BETAS[1], epsilon=EPS)
        trainer_D = keras.optimizers.Adam(learning_rate=LR_D, **adam)
        trainer_G = keras.optimizers.Adam(learning_rate=LR_G, **adam)
        trainer_D.build(net_D.trainable_variables)  # slots outside the compiled steps
        trainer_G.build(net_G.trainable_variables)
        X, Z = tf.constant(X.transpose(0, 2, 3, 1)), tf.constant(Z)
        scalar = float
    else:
        from mxnet import gluon, nd
        loss = gluon.loss.SigmoidBCELoss()
        adam = dict(beta1=BETAS[0], beta2=BETAS[1], epsilon=EPS)
        trainer_D = gluon.Trainer(net_D.collect_params(), "adam", dict(adam, learning_rate=LR_D))
        trainer_G = gluon.Trainer(net_G.collect_params(), "adam", dict(adam, learning_rate=LR_G))
        X, Z = nd.array(X), nd.array(Z)

        def scalar(x):
            return float(x.asscalar())
    losses = []
    for t in range(1, iterations + 1):  # as in the chapter: update_D, update_G on the same Z
        if fw == "pytorch" and keras_epsilon:
            for trainer in (trainer_D, trainer_G):
                trainer.param_groups[0]["eps"] = EPS / np.sqrt(1 - BETAS[1] ** t)
        loss_D = ge.update_D(X, Z, net_D, net_G, loss, trainer_D)
        loss_G = ge.update_G(Z, net_D, net_G, loss, trainer_G)
        losses += [scalar(loss_D), scalar(loss_G)]
    trained = []
    for which, net in (("D", net_D), ("G", net_G)):
        skip = running_indices(which)
        trained += [a for i, a in enumerate(get(net, fw, which)) if i not in skip]
    return np.array(losses), trained


# ---- the parity helper for flattened maps ------------------------------------------

def test_channels_last_matches_a_keras_flatten():
    maps = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)   # NCHW
    torch_flat, keras_flat = maps.reshape(2, -1), maps.transpose(0, 2, 3, 1).reshape(2, -1)
    np.testing.assert_array_equal(channels_last(torch_flat, (3, 4, 5), axis=1), keras_flat)
    np.testing.assert_array_equal(channels_first(keras_flat, (3, 4, 5), axis=1), torch_flat)


def test_reordered_dense_weights_compute_the_same_function():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(4, 3, 4, 5))                      # NCHW
    weight = rng.normal(size=(7, 3 * 4 * 5))                  # dense after a flatten, (out, in)
    torch_out = maps.reshape(4, -1) @ weight.T
    keras_out = maps.transpose(0, 2, 3, 1).reshape(4, -1) @ channels_last(
        weight, (3, 4, 5), axis=1).T
    np.testing.assert_allclose(keras_out, torch_out, rtol=1e-12)
    # ... and a dense layer before a reshape: its output axis.
    weight = rng.normal(size=(3 * 4 * 5, 6))
    h = rng.normal(size=(4, 6))
    torch_maps = (h @ weight.T).reshape(4, 3, 4, 5)
    keras_maps = (h @ channels_last(weight, (3, 4, 5), axis=0).T).reshape(4, 4, 5, 3)
    np.testing.assert_allclose(keras_maps.transpose(0, 3, 1, 2), torch_maps, rtol=1e-12)


def test_reorder_flattened_round_trip_and_errors():
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(5, 24)), rng.normal(size=(5,)), rng.normal(size=(24, 3))]
    where = [(0, 1), (2, 0)]
    keras = reorder_flattened(arrays, where, (2, 3, 4), to="NHWC")
    np.testing.assert_array_equal(keras[1], arrays[1])
    assert not np.array_equal(keras[0], arrays[0])
    for back, original in zip(reorder_flattened(keras, where, (2, 3, 4), to="NCHW"), arrays):
        np.testing.assert_array_equal(back, original)
    with pytest.raises(ValueError, match="entries"):
        channels_last(arrays[0], (2, 3, 5), axis=1)
    with pytest.raises(ValueError, match="layout"):
        reorder_flattened(arrays, where, (2, 3, 4), to="NWHC")


# ---- the chapter's networks --------------------------------------------------------

@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_weights_round_trip(fw):
    need("pytorch", fw)
    for which in ("D", "G"):
        net = build(fw, which)
        put(net, fw, which, reference_weights(which))
        for got, want in zip(get(net, fw, which), reference_weights(which)):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_parameter_shapes_layer_by_layer(a, b):
    need(a, b)
    for which in ("D", "G"):
        shapes_a = [w.shape for w in get(build(a, which), a, which)]
        assert shapes_a == [w.shape for w in get(build(b, which), b, which)]


def trained_parameter_count(fw, net):
    if fw == "pytorch":
        return sum(p.numel() for p in net.parameters())
    if fw == "tensorflow":
        return sum(int(np.prod(w.shape)) for w in net.trainable_weights)
    return sum(p.data().size for p in net.collect_params().values() if p.grad_req != "null")


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_parameter_counts_are_the_chapters(fw):
    need(fw)
    for which, count in PARAMS.items():
        assert trained_parameter_count(fw, build(fw, which)) == count


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("a, b", PAIRS)
def test_same_forward_outputs(a, b, training):
    need("pytorch", a, b)
    shapes = [(BATCH, 1, 28, 28), (BATCH, 1), (BATCH, 256), (BATCH, 1)]
    for ya, yb, shape in zip(forward(a, training), forward(b, training), shapes):
        assert ya.shape == yb.shape == shape
        assert max_relative_error(ya, yb) <= 1e-4


def learning_rates():
    """The learning rate of each trained array, in the order `train` returns them."""
    count = {which: len(reference_weights(which)) - len(running_indices(which))
             for which in ("D", "G")}
    return [LR_D] * count["D"] + [LR_G] * count["G"]


@pytest.mark.parametrize("a, b", PAIRS)
def test_same_training_iterations(a, b):
    """Same losses; same weights, but for the few whose gradient float32 cannot resolve.

    Adam divides each gradient by its own running size, so an element whose gradient
    is near zero moves by up to a learning rate in a direction that float32 rounding
    decides. Such elements (here about 0.2 % of the weights) may differ by up to about
    two steps; every other element must agree to 1e-4 of the array's largest value.
    """
    need("pytorch", a, b)
    (losses_a, weights_a), (losses_b, weights_b) = train(a), train(b)
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4, atol=0)
    unresolved = 0
    for i, (wa, wb, lr) in enumerate(zip(weights_a, weights_b, learning_rates())):
        diff = np.abs(wa - wb)
        unresolved += np.sum(diff > 1e-4 * np.abs(wb).max())
        assert diff.max() <= 3 * lr, f"array {i} {wa.shape}: {diff.max():.2e}"
    assert unresolved <= 0.005 * sum(w.size for w in weights_b), f"{unresolved} elements"


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_training_moves_the_weights(fw):
    """The comparison above can fail: training changes the weights by far more than 1e-4."""
    need("pytorch", fw)
    reference = [a for which in ("D", "G") for i, a in enumerate(reference_weights(which))
                 if i not in running_indices(which)]
    for w, r in zip(train(fw)[1], reference):
        assert np.mean(np.abs(w - r) > 1e-4 * np.abs(r).max()) > 0.5


@pytest.mark.parametrize("other", ["tensorflow", "mxnet"])
def test_pytorch_epsilon_convention_differs(other):
    """Without the adjustment, PyTorch's Adam takes measurably different first steps."""
    need("pytorch", other)
    plain, adjusted, theirs = (train("pytorch", keras_epsilon=False)[0],
                               train("pytorch")[0], train(other)[0])
    worst = max_relative_error(plain, theirs)
    assert worst > 1e-4 and worst > 10 * max_relative_error(adjusted, theirs)


def running_averages(fw, which):
    """Batch norm's running mean and variance after one training step's forward pass."""
    X, Z = inputs()
    # A network hybridized with static_alloc shows its running averages only after an
    # optimiser step; the operator's rule is the same, so look at it imperatively.
    net = build(fw, which, hybridize=False)
    put(net, fw, which, reference_weights(which))
    x = Z if which == "G" else X
    if fw == "pytorch":
        import torch
        net(torch.as_tensor(x))
    elif fw == "tensorflow":
        net(x if which == "G" else x.transpose(0, 2, 3, 1), training=True)
    else:  # MXNet updates them in the backward pass
        from mxnet import autograd, nd
        with autograd.record():
            y = net(nd.array(x))
        y.backward()
    arrays = get(net, fw, which)
    return [arrays[i] for i in running_indices(which)]


@pytest.mark.parametrize("which", ["G", "D"])
@pytest.mark.parametrize("fw", ["tensorflow", "mxnet"])
def test_running_averages_follow_each_frameworks_rule(fw, which):
    """Same running means; the variances differ exactly by PyTorch's unbiased estimate."""
    need("pytorch", fw)
    ours, theirs = running_averages("pytorch", which), running_averages(fw, which)
    start = [reference_weights(which)[i] for i in running_indices(which)]
    pixels = {"G": [1, 7 * 7, 14 * 14], "D": [7 * 7, 1]}[which]  # values per feature per image
    for k, n in enumerate(pixels):
        mean, var = 2 * k, 2 * k + 1
        assert max_relative_error(theirs[mean], ours[mean]) <= 1e-4
        biased = (theirs[var] - 0.9 * start[var]) / 0.1       # the batch variance they used
        count = n * BATCH
        unbiased = 0.9 * start[var] + 0.1 * biased * count / (count - 1)
        assert max_relative_error(unbiased, ours[var]) <= 1e-4
        if n == 1:   # a dense layer's batch norm: 16 values, a 1/15 difference, visible
            assert max_relative_error(theirs[var], ours[var]) > 1e-3


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_init_dcgan_is_the_papers(fw):
    """Weights N(0, 0.02^2), biases 0, gamma 1, beta 0, running mean 0 and variance 1."""
    need(fw)
    for which in ("D", "G"):
        arrays = get(build(fw, which), fw, which)
        kernels = [a for a in arrays if a.ndim > 1]
        vectors = [a for a in arrays if a.ndim == 1]
        big = np.concatenate([k.ravel() for k in kernels]).astype(np.float64)
        assert abs(big.mean()) < 1e-4 and abs(big.std() / 0.02 - 1) < 0.01
        kurtosis = ((big - big.mean()) ** 4).mean() / big.var() ** 2
        assert abs(kurtosis - 3) < 0.05                      # normal, not uniform (1.8)
        assert all(np.all((v == 0) | (v == 1)) for v in vectors)
        # gamma and running variance are 1, biases, beta and running mean 0: as many ones
        # as there are batch-norm features, twice.
        bn_features = {"G": 256 + 64 + 32, "D": 64 + 256}[which]
        assert sum(int(v.sum()) for v in vectors) == 2 * bn_features

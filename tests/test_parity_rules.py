"""The rules that the parity tables rely on (gan_edu.parity.rules), each checked against
the frameworks' own optimisers, and what no table compares: chapter 1's Glorot
initialisation at a size with sharp moments, chapter 6's image buffer.
"""

import numpy as np
import pytest

import gan_edu
from gan_edu.parity import FRAMEWORKS, adapter
from gan_edu.parity.chapters import CHAPTERS, S6
from gan_edu.parity.rules import (
    BatchStatistics,
    adam_epsilon,
    adam_update,
    possible_running_statistics,
    rmsprop_update,
)
from gan_edu.training import ImageBuffer

RMSPROP = CHAPTERS[6].trainings[1].rmsprop
ADAM = dict(betas=(0.5, 0.999), eps=1e-8)


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(gan_edu.MODULES[fw])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_init_glorot_draws_glorot_uniform(fw):
    """The toy nets hold too few weights for sharp moments: a 256 x 256 dense layer, as
    chapter 2's toy_mlp builds it with chapter 1's init_glorot."""
    need(fw)
    n = 256
    weight, bias = adapter(fw).get_weights(adapter(fw).library.toy_mlp(n, [], n))
    bound, std = np.sqrt(6 / (n + n)), np.sqrt(2 / (n + n))
    w = weight.astype(np.float64).ravel()
    assert weight.shape == (n, n) and not bias.any()
    assert abs(w.mean()) < 5 * std / n                        # 5 standard errors
    assert abs(w.std() / std - 1) < 0.01                      # about 6 standard errors
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    kurtosis = ((w - w.mean()) ** 4).mean() / w.var() ** 2
    assert abs(kurtosis - 1.8) < 0.03                         # uniform, not normal (3.0)


# ---- Adam and RMSProp, in each framework's own optimiser ----------------------------------------

def steps(fw, gradients, lr=0.1, adam=None, rmsprop=None, convert=True):
    """A weight vector (from 0) after `fw`'s optimiser's steps on `gradients`; PyTorch's
    Adam with the others' eps convention (the comparison's) if `convert`."""
    if fw == "pytorch":
        import torch
        w = torch.zeros(len(gradients[0]), requires_grad=True)
        adam_class = adapter(fw).AdamAddingEpsLikeKeras if convert else torch.optim.Adam
        trainer = (adam_class([w], lr, adam["betas"], adam["eps"]) if adam else
                   torch.optim.RMSprop([w], lr, alpha=rmsprop["rho"], eps=rmsprop["eps"]))
        for g in gradients:
            w.grad = torch.as_tensor(g)
            trainer.step()
        return w.detach().numpy()
    if fw == "tensorflow":
        import keras
        w = keras.Variable(np.zeros(len(gradients[0]), dtype=np.float32))
        trainer = (keras.optimizers.Adam(lr, *adam["betas"], adam["eps"]) if adam else
                   keras.optimizers.RMSprop(lr, rmsprop["rho"], 0.0, rmsprop["eps"]))
        for g in gradients:
            trainer.apply_gradients([(np.asarray(g), w)])
        return np.asarray(w.numpy())
    import mxnet as mx
    w = mx.nd.zeros(len(gradients[0]))
    update = mx.optimizer.get_updater(mx.optimizer.RMSProp(
        learning_rate=lr, gamma1=rmsprop["rho"], epsilon=rmsprop["eps"], centered=False))
    for g in gradients:
        update(0, mx.nd.array(g), w)
    return w.asnumpy()


def test_adam_epsilon_gives_pytorch_the_keras_step():
    """Gradients near epsilon, where the two conventions differ most: converted, PyTorch
    takes Keras' steps exactly; plainly, steps that differ by percents."""
    need("pytorch", "tensorflow")
    rng = np.random.default_rng(0)
    gradients = [rng.normal(0, 3e-7, 100).astype(np.float32) for _ in range(3)]
    keras_w = steps("tensorflow", gradients, adam=ADAM)
    converted = steps("pytorch", gradients, adam=ADAM)
    plain = steps("pytorch", gradients, adam=ADAM, convert=False)
    assert np.abs(converted - keras_w).max() <= 1e-5 * np.abs(keras_w).max()
    assert np.abs(plain - keras_w).max() > 0.1 * np.abs(keras_w).max()


def test_adam_epsilon_is_pytorchs_eps_for_keras_step():
    """sqrt(v_hat) + eps' = (sqrt(v) + eps) / sqrt(1 - beta_2^t) for v_hat = v / (1 - beta_2^t)."""
    v, eps, t = 1e-12, 1e-8, 3
    correction = np.sqrt(1 - 0.999 ** t)
    assert np.sqrt(v / correction ** 2) + adam_epsilon(eps, 0.999, t) == \
        pytest.approx((np.sqrt(v) + eps) / correction, rel=1e-12)


def test_adam_update_is_about_lr_and_steep_near_epsilon():
    """After one step, m = (1 - beta_1) g and v = (1 - beta_2) g^2."""
    g = np.array([1.0, -1e-2, 1e-8 / np.sqrt(1 - 0.999)])
    update = adam_update(0.5 * g, 0.001 * g ** 2, 0.1, ADAM, step=1)
    np.testing.assert_allclose(update, [-0.1, 0.1, -0.05], rtol=1e-4)


def test_adam_update_is_what_keras_does():
    """From the moments that the adapter reads out of Keras' Adam, two steps."""
    need("tensorflow")
    a, rng = adapter("tensorflow"), np.random.default_rng(1)
    net = a.library.toy_mlp(50, [], 1)
    trainer = a.optimiser([net], 0.1, ADAM)
    for step in (1, 2):
        before = a.get_weights(net)[0].astype(np.float64)
        gradient = rng.normal(0, 1e-6, (50, 1)).astype(np.float32)
        trainer.apply_gradients(zip([gradient, np.zeros(1, np.float32)], net.trainable_variables))
        (m, _), (v, _) = a.optimiser_state(trainer, net)
        np.testing.assert_allclose(a.get_weights(net)[0] - before,
                                   adam_update(m, v, 0.1, ADAM, step), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_rmsprop_update_is_each_frameworks_rule(fw):
    """Two steps on gradients from 1e-9 to 1 with chapter 6's rho and eps: each framework
    follows its own rule (where its adapter says it puts eps)."""
    need(fw)
    g = (10.0 ** np.linspace(-9, 0, 50) * np.resize([1, -1], 50)).astype(np.float32)
    gradients, v, w = [g, 0.5 * g], 0.0, 0.0
    for gradient in gradients:
        v = RMSPROP["rho"] * v + (1 - RMSPROP["rho"]) * gradient.astype(np.float64) ** 2
        w = w + rmsprop_update(gradient, v, 0.1, RMSPROP, adapter(fw).RMSPROP_EPS_IN_ROOT)
    np.testing.assert_allclose(steps(fw, gradients, rmsprop=RMSPROP), w, rtol=1e-5, atol=1e-7)


def test_the_rmsprop_rules_differ_for_small_gradients():
    """PyTorch's first step is about lr / sqrt(1 - rho) down to |g| near 1e-7; Keras' and
    MXNet's shrinks below sqrt(eps / (1 - rho)) = 3e-4, to 3 % of it at |g| = 1e-5."""
    g = np.array([1.0, 1e-3, 1e-5])
    v = (1 - RMSPROP["rho"]) * g ** 2
    outside, inside = (-rmsprop_update(g, v, 1.0, RMSPROP, in_root) * np.sqrt(1 - RMSPROP["rho"])
                       for in_root in (False, True))
    np.testing.assert_allclose(outside, [1, 1, 0.997], rtol=1e-3)
    np.testing.assert_allclose(inside, [1, 0.953, 0.0316], rtol=0.01)


# ---- batch norm's running statistics ----------------------------------------------------------

def test_running_statistics_rules():
    """Two calls of a batch norm over 4 values: a forward-only call (a detached generator
    batch) and a differentiated one; each framework's rule, worked by hand."""
    first = BatchStatistics(np.array([1.0]), np.array([3.0]), 4, backward=None)
    second = BatchStatistics(np.array([2.0]), np.array([6.0]), 4, backward=0)
    start = np.array([0.0]), np.array([1.0])

    def rule(fw):
        a = adapter(fw)
        (mean, var), = possible_running_statistics(*start, [first, second],
                                                   a.UNBIASED_RUNNING_VARIANCE,
                                                   a.STATISTICS_IN_BACKWARD)
        return mean, var
    need(*FRAMEWORKS)
    mean, var = rule("pytorch")
    assert mean == pytest.approx(0.9 * 0.1 * 1 + 0.1 * 2)
    assert var == pytest.approx(0.81 + 0.09 * 4 + 0.1 * 8)     # unbiased: 4/3 of 3 and 6
    assert rule("tensorflow")[1] == pytest.approx(0.81 + 0.09 * 3 + 0.1 * 6)   # biased
    assert rule("mxnet") == (pytest.approx(0.2), pytest.approx(0.9 + 0.6))  # backward only


# ---- chapter 6's history buffer (one framework-neutral version, gan_edu.training) ---------------

def buffer_draws(seed=0, queries=8):
    """The numbers of the images the chapter's ImageBuffer shows for `queries` batches
    of numbered images, so that an image shown twice or late is recognised."""
    buffer = ImageBuffer(S6["pool_size"], np.random.default_rng(seed))
    numbers = np.arange(queries * S6["batch_size"]).reshape(queries, -1)
    return np.array([shown for batch in numbers for shown in buffer.query(list(batch))])


def test_the_image_buffer_shows_older_images_half_the_time():
    shown, size = buffer_draws(), S6["pool_size"]
    fresh = np.arange(len(shown))
    assert np.array_equal(shown[:size], fresh[:size])   # filling up
    assert np.all(shown <= fresh)                       # never an image from the future
    assert 0.35 < (shown[size:] < fresh[size:]).mean() < 0.65


def test_the_image_buffer_draws_follow_its_seed():
    np.testing.assert_array_equal(buffer_draws(seed=0), buffer_draws(seed=0))
    assert not np.array_equal(buffer_draws(seed=0), buffer_draws(seed=1))

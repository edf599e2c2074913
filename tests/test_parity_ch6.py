"""Chapter 6's CycleGAN and DualGAN are the same algorithm in PyTorch, TensorFlow and MXNet.

The library's own builders (`cycle_G`, `dual_G`, `patch_D` with and without batch norm),
the initialiser the chapter uses (chapter 3's `init_dcgan`) and steps (`update_cycle_G`
and `update_cycle_D` with Adam; `update_dual_D`, which clips the critics' weights, and
`update_dual_G` with RMSProp) at the chapter's widths; what is compared, and how, is in
gan_edu.parity_chapters and gan_edu.parity_table; the checks are parity_checks.py's. The
training steps are compared in float64 (parity_table says why) and without the history
buffer, which has one framework-neutral version (gan_edu.training), tested here on its
own; the learning-rate schedule of the chapter's loop is not compared, only the steps at
a given rate. The networks have no dense layer, so Keras' channels-last layout moves no
weight.
"""

import numpy as np
import pytest
from parity_checks import *  # noqa: F403  (the checks that every chapter passes)
from parity_checks import first_step_errors, need, reference

import gan_edu
from gan_edu.parity import (
    FRAMEWORKS,
    as_tensor,
    forward,
    library,
    optimiser,
    rmsprop_update,
    scalar,
)
from gan_edu.parity_chapters import CHAPTERS, DUAL_NETS, SETTINGS_6
from gan_edu.parity_table import BAR, BATCH, Session, load, predicted_statistics
from gan_edu.training import ImageBuffer

CHAPTER = 6
CYCLEGAN, DUALGAN = CHAPTERS[CHAPTER].trainings


def test_the_networks_have_the_chapters_parameters(table):
    # dual_G: the U-Net's skip doubles the input channels of the last convolution (16 * 9
    # more); the critic: a bias of 32 where patch_D has batch norm's 2 * 32
    counts = {"cycle_G": 50_337, "dual_G": 50_481, "patch_D": 8_817, "patch_D critic": 8_785}
    for name, net in table.nets.items():
        assert net.counts["pytorch"] == counts[name.rsplit(" ", 1)[0]], name


# ---- the history buffer (one framework-neutral version, gan_edu.training) --------------

def buffer_draws(seed=0, queries=8):
    """The numbers of the images the chapter's ImageBuffer shows for `queries` batches
    of numbered images, so that an image shown twice or late is recognised."""
    s = SETTINGS_6
    buffer = ImageBuffer(s["pool_size"], np.random.default_rng(seed))
    numbers = np.arange(queries * s["batch_size"]).reshape(queries, -1)
    return np.array([shown for batch in numbers for shown in buffer.query(list(batch))])


def test_the_image_buffer_shows_older_images_half_the_time():
    s = SETTINGS_6
    shown = buffer_draws()
    fresh = np.arange(len(shown))
    assert np.array_equal(shown[:s["pool_size"]], fresh[:s["pool_size"]])  # filling up
    assert np.all(shown <= fresh)  # never an image from the future
    older = shown[s["pool_size"]:] < fresh[s["pool_size"]:]
    assert 0.35 < older.mean() < 0.65


def test_the_image_buffer_draws_follow_its_seed():
    np.testing.assert_array_equal(buffer_draws(seed=0), buffer_draws(seed=0))
    assert not np.array_equal(buffer_draws(seed=0), buffer_draws(seed=1))


# ---- DualGAN: clipping, dropout and RMSProp --------------------------------------------------

def critic_data(seed=2):
    return DUALGAN.data(np.random.default_rng(seed), BATCH)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_clipping_keeps_every_critic_weight_within_clip(fw):
    """One critic step as the comparison runs it (float64), from reference weights of
    which some lie beyond the bound (kernels' std up to 0.09, biases' 0.2): those end on
    it, the step being far smaller. MXNet's clip takes its bounds in float32 (0.1 is
    0.1 + 1.5e-9 there)."""
    need(fw)
    run = Session(CHAPTERS[CHAPTER], DUALGAN, fw).run(DUALGAN.steps[0], reference(CHAPTER),
                                                      critic_data())

    def critics(weights):
        return np.abs(np.concatenate([a.ravel() for name in DUAL_NETS[2:] for a in weights[name]]))
    clip, (_, lr) = SETTINGS_6["clip"], DUALGAN.trainers["D"]
    before, after = critics(reference(CHAPTER)), critics(run.weights)
    assert after.max() <= clip * (1 + 1e-7)
    beyond = before > clip + 10 * lr   # RMSProp's first step is about 3 lr
    assert beyond.any() and np.allclose(after[beyond], clip, rtol=1e-7, atol=0)


def critic_loss(fw, dropout):
    """The loss of one critic step from the reference weights, with the generators'
    dropout or without, in float32 as the chapter trains; seeded, so that the masks do
    not depend on what ran before (Keras seeds each Dropout layer from Python's random)."""
    gan_edu.seed(0)
    nets = load(CHAPTERS[CHAPTER], fw, reference(CHAPTER), dropout=dropout)
    names, lr = DUALGAN.trainers["D"]
    trainers = {"D": optimiser(fw, [nets[n] for n in names], lr, rmsprop=DUALGAN.rmsprop)}
    data = {key: as_tensor(fw, value) for key, value in critic_data().items()}
    return scalar(fw, DUALGAN.steps[0].run(library(fw), nets, trainers, None, data)["loss_D"])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_the_critic_step_runs_the_generators_with_dropout_on(fw):
    """The generators' dropout is DualGAN's noise: on in the critic's step (PyTorch's
    train mode, Keras' training=True, Gluon's train_mode without recording). It moves
    the loss by about 1e-3 of its size, float32 rounding by 1e-7."""
    need(fw)
    with_dropout, without = critic_loss(fw, dropout=True), critic_loss(fw, dropout=False)
    assert abs(with_dropout - without) > 1e-5 * abs(without)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_translate_turns_dropout_off(fw):
    """translate, which evaluates a translation, gives what the network without dropout
    gives: inference mode turns dropout off in every framework."""
    need(fw)
    ch, name = CHAPTERS[CHAPTER], DUAL_NETS[0]
    X = ch.nets[name].inputs(np.random.default_rng(3), BATCH)[0]
    with_dropout = load(ch, fw, reference(CHAPTER), dropout=True)[name]
    without = load(ch, fw, reference(CHAPTER), dropout=False)[name]
    if fw == "tensorflow":   # Keras' images are NHWC, as translate takes and returns them
        translated = library(fw).translate(with_dropout, X.transpose(0, 2, 3, 1))
        translated = translated.transpose(0, 3, 1, 2)
    else:
        translated = library(fw).translate(with_dropout, X)
    np.testing.assert_allclose(translated, forward(fw, without, [X], training=False),
                               rtol=0, atol=1e-6)


def rmsprop_steps(fw, gradients, rmsprop, lr=0.1):
    """A weight (starting at 0) after RMSProp steps on `gradients`, in `fw`'s optimiser."""
    if fw == "pytorch":
        import torch
        w = torch.zeros(len(gradients[0]), requires_grad=True)
        trainer = torch.optim.RMSprop([w], lr=lr, alpha=rmsprop["rho"], eps=rmsprop["eps"])
        for g in gradients:
            w.grad = torch.as_tensor(g)
            trainer.step()
        return w.detach().numpy()
    if fw == "tensorflow":
        import keras
        w = keras.Variable(np.zeros(len(gradients[0]), dtype=np.float32))
        trainer = keras.optimizers.RMSprop(learning_rate=lr, rho=rmsprop["rho"],
                                           epsilon=rmsprop["eps"], momentum=0.0)
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


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_rmsprop_update_is_each_frameworks_rule(fw):
    """Two steps on gradients from 1e-9 to 1 with the chapter's rho and eps: each
    framework follows its own rule (parity.rmsprop_update)."""
    need(fw)
    rmsprop, lr = DUALGAN.rmsprop, 0.1
    g = (10.0 ** np.linspace(-9, 0, 50) * np.resize([1, -1], 50)).astype(np.float32)
    gradients, v, w = [g, 0.5 * g], 0.0, 0.0
    for gradient in gradients:
        v = rmsprop["rho"] * v + (1 - rmsprop["rho"]) * gradient.astype(np.float64) ** 2
        w = w + rmsprop_update(gradient, v, lr, rmsprop, fw)
    np.testing.assert_allclose(rmsprop_steps(fw, gradients, rmsprop, lr), w,
                               rtol=1e-5, atol=1e-6 * lr)


def test_the_rmsprop_rules_differ_for_small_gradients():
    """PyTorch's first step is about lr / sqrt(1 - rho) down to |g| near 1e-7; Keras' and
    MXNet's shrinks below sqrt(eps / (1 - rho)) = 3e-4, to 3 % of it at |g| = 1e-5."""
    rmsprop, g = DUALGAN.rmsprop, np.array([1.0, 1e-3, 1e-5])
    v = (1 - rmsprop["rho"]) * g ** 2
    pytorch, keras = (-rmsprop_update(g, v, 1.0, rmsprop, fw) * np.sqrt(1 - rmsprop["rho"])
                      for fw in ("pytorch", "tensorflow"))
    np.testing.assert_allclose(pytorch, [1, 1, 0.997], rtol=1e-3)
    np.testing.assert_allclose(keras, [1, 0.953, 0.0316], rtol=0.01)


# ---- MXNet's running statistics ----------------------------------------------------------------

def test_mxnet_folds_a_generators_calls_in_its_own_order():
    """CycleGAN's G_BA is called three times in its step; MXNet's engine runs their
    backward passes in another order than PyTorch's, and its running statistics follow
    one of the other orders of parity.possible_running_statistics."""
    need("pytorch", "mxnet")
    ch, step = CHAPTERS[CHAPTER], CYCLEGAN.steps[0]
    data = CYCLEGAN.data(np.random.default_rng(2), BATCH)
    weights = {name: [a.astype(np.float64) for a in arrays]
               for name, arrays in reference(CHAPTER).items()}
    pytorch = Session(ch, CYCLEGAN, "pytorch").run(step, weights, data, record=True)
    mxnet = Session(ch, CYCLEGAN, "mxnet").run(step, weights, data)
    by_pytorchs_order, by_some_order = [], []
    for (name, i, _), candidates in predicted_statistics(pytorch, weights, "mxnet").items():
        if name != "cycle_G G_BA":
            continue
        errors = [np.abs(mxnet.weights[name][i] - mean).max() / np.abs(mean).max()
                  for mean, _ in candidates]
        assert len(errors) == 6   # the orders of three calls that the gradient reached
        by_pytorchs_order.append(errors[0])
        by_some_order.append(min(errors))
    assert min(by_pytorchs_order) > BAR and max(by_some_order) <= BAR


# ---- a drift must be caught --------------------------------------------------------------------

@pytest.mark.parametrize("fw, drift", [("pytorch", dict(rho=0.99)),        # PyTorch's default
                                       ("tensorflow", dict(eps=1e-7))],   # Keras' default
                         ids=["rho", "eps"])
def test_a_different_rmsprop_setting_is_caught(fw, drift):
    need(*FRAMEWORKS)
    assert max(first_step_errors(CHAPTER, DUALGAN, fw, drift)) > 10 * BAR

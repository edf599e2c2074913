"""What each chapter's parity comparison runs: its networks, inputs and training steps.

The one place that knows the chapters. For every chapter: how the chapter builds and
initialises its saved networks (from the library, never re-typed), what inputs they
take, which dense weights Keras holds in another order (next to a flatten or reshape of
NHWC maps), and one iteration of the chapter's own training steps with its optimiser
settings. `gan_edu.parity_table` runs them in every framework and compares.

Each chapter's `settings` are the values of its hyper-parameter cell that the
comparison uses, under the chapter's names; a test reads the chapter's cell and checks
them, so that the comparison cannot drift from the chapter either.

Inputs are numpy arrays in PyTorch's layout (images NCHW); `gan_edu.parity` converts
them. A network dict may hold a part of another network (InfoGAN's Q head): loading
weights into both is harmless, since they hold the same values.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gan_edu.parity import library

IMAGE = (1, 28, 28)


@dataclass(frozen=True, eq=False)
class Net:
    """A saved network: `inputs(rng, batch)` draws its inputs; `flattened` lists the
    (index, axis, (C, H, W)) of weights whose axis Keras orders channels-last."""
    inputs: Callable
    flattened: tuple = ()


@dataclass(frozen=True, eq=False)
class Step:
    """One of the library's training steps: `run(ge, nets, trainers, loss, data)` calls it
    with the optimisers of `roles` and returns its losses by name, and the outputs named
    in `passes`, which the later steps of the iteration find in their `data` (CycleGAN's
    translations)."""
    name: str
    roles: tuple
    run: Callable
    passes: tuple = ()


@dataclass(frozen=True, eq=False)
class Training:
    """One iteration of a chapter's training: its `steps`, in the chapter's order.

    `trainers` maps a role ('D', 'G', ...) to the networks its optimiser trains and its
    learning rate; `data(rng, batch)` draws the iteration's data (as numpy arrays);
    `adam` is dict(betas=..., eps=...), or None: then `rmsprop`, dict(rho=..., eps=...)
    for RMSProp without momentum, or None for plain SGD.
    """
    name: str
    trainers: dict
    data: Callable
    steps: tuple
    adam: dict
    rmsprop: dict = None


@dataclass(frozen=True, eq=False)
class Chapter:
    """`build(framework)` returns the chapter's networks by name, built, initialised
    and (MXNet) hybridized as the chapter does; `init` names their initial distribution:
    'glorot uniform' or 'normal 0.02' (biases and beta 0, gamma 1). The training steps
    are compared with weights and data in `step_dtype` (chapter 6: float64, for the reason
    in gan_edu.parity_table's measure 1)."""
    title: str
    settings: dict
    build: Callable
    nets: dict
    trainings: tuple
    init: str
    step_dtype: str = "float32"


# ---- shared pieces ------------------------------------------------------------------------

def adam(settings):
    return dict(betas=settings["betas"], eps=settings["eps"])


def initialised(framework, init, net):
    """`net` initialised by the library's `init`: PyTorch applies it module by module."""
    if framework == "pytorch":
        net.apply(init)
    else:
        init(net)
    return net


def hybridized(framework, nets, **options):
    """The networks, hybridized for MXNet as the chapter trains them."""
    if framework == "mxnet":
        for net in nets.values():
            net.hybridize(**options)
    return nets


def normal(*shape):
    return lambda rng, batch: [rng.normal(size=(batch, *shape)).astype(np.float32)]


def uniform(*shape, low=-1.0):
    return lambda rng, batch: [rng.uniform(low, 1, size=(batch, *shape)).astype(np.float32)]


def one_hot(labels, classes=10):
    return np.eye(classes, dtype=np.float32)[labels]


def gan_steps(D, G, update_G="update_G"):
    """Chapter 1's iteration: `update_D`, then the G step on the same noise."""
    def step_D(ge, nets, trainers, loss, data):
        return {"loss_D": ge.update_D(data["X"], data["Z"], nets[D], nets[G], loss,
                                      trainers["D"])}

    def step_G(ge, nets, trainers, loss, data):
        return {"loss_G": getattr(ge, update_G)(data["Z"], nets[D], nets[G], loss,
                                                trainers["G"])}
    return Step("update_D", ("D",), step_D), Step(update_G, ("G",), step_G)


def gan_data(real, latent):
    """Real examples from `real(rng, batch)` and Gaussian noise of `latent` dimensions."""
    def data(rng, batch):
        return {"X": real(rng, batch)[0], "Z": normal(latent)(rng, batch)[0]}
    return data


# ---- chapter 1: a first GAN -----------------------------------------------------------------

SETTINGS_1 = dict(latent_dim=2, lr_D=0.02, lr_G=0.01, betas=(0.5, 0.999), eps=1e-8)


def _toy_gaussian(rng, batch):
    A, b = np.array([[1, 2], [-0.1, 0.5]]), np.array([1, 2])
    return [(rng.normal(size=(batch, 2)) @ A + b).astype(np.float32)]


def _chapter1(framework):
    ge = library(framework)
    net_G, net_D = ge.toy_nets(SETTINGS_1["latent_dim"])
    nets = {"toy_nets G": initialised(framework, ge.init_glorot, net_G),
            "toy_nets D": initialised(framework, ge.init_glorot, net_D)}
    return hybridized(framework, nets)


CHAPTER_1 = Chapter(
    title="A first GAN",
    settings=SETTINGS_1,
    build=_chapter1,
    nets={"toy_nets G": Net(normal(SETTINGS_1["latent_dim"])),
          "toy_nets D": Net(_toy_gaussian)},
    trainings=(Training("toy GAN",
                        {"D": (("toy_nets D",), SETTINGS_1["lr_D"]),
                         "G": (("toy_nets G",), SETTINGS_1["lr_G"])},
                        gan_data(_toy_gaussian, SETTINGS_1["latent_dim"]),
                        gan_steps("toy_nets D", "toy_nets G"), adam(SETTINGS_1)),),
    init="glorot uniform")


# ---- chapter 2: GAN theory you can run --------------------------------------------------------

SETTINGS_2 = dict(mu=2.0, sigma=0.5, hidden_1d=[32, 32], lr_1d=(5e-3, 5e-3), lr_sat=0.05,
                  ring_std=0.05, ring_radius=0.15, hidden_ring=[64, 64], latent_ring=2,
                  lr_ring=(3e-3, 3e-3), latent_dim=100, lr_mnist=(1e-3, 1e-3),
                  betas=(0.5, 0.999), eps=1e-8)


def _chapter2(framework):
    ge, s = library(framework), SETTINGS_2   # the builders initialise (and hybridize)
    return {"toy_mlp D 1-D": ge.toy_mlp(1, s["hidden_1d"], 1),
            "toy_mlp G 1-D": ge.toy_mlp(1, [], 1),
            "toy_mlp D ring": ge.toy_mlp(2, s["hidden_ring"], 1),
            "toy_mlp G ring": ge.toy_mlp(s["latent_ring"], s["hidden_ring"], 2),
            "mlp_G": ge.mlp_G(s["latent_dim"]), "maxout_D": ge.maxout_D()}


def _gaussian_1d(rng, batch):
    return [rng.normal(SETTINGS_2["mu"], SETTINGS_2["sigma"], (batch, 1)).astype(np.float32)]


def _ring(rng, batch):
    angle = 2 * np.pi * rng.integers(0, 8, size=batch) / 8
    points = SETTINGS_2["ring_radius"] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    noise = rng.normal(0, SETTINGS_2["ring_std"], size=(batch, 2))
    return [(points + noise).astype(np.float32)]


def _toy_training(name, toy, lrs, settings, update_G="update_G"):
    """A toy GAN of chapter 2: `toy` is '1-D' or 'ring'."""
    D, G = f"toy_mlp D {toy}", f"toy_mlp G {toy}"
    real, latent = (_gaussian_1d, 1) if toy == "1-D" else (_ring, SETTINGS_2["latent_ring"])
    return Training(name, {"D": ((D,), lrs[0]), "G": ((G,), lrs[1])}, gan_data(real, latent),
                    gan_steps(D, G, update_G), settings)


CHAPTER_2 = Chapter(
    title="GAN theory you can run",
    settings=SETTINGS_2,
    build=_chapter2,
    nets={"toy_mlp D 1-D": Net(normal(1)), "toy_mlp G 1-D": Net(normal(1)),
          "toy_mlp D ring": Net(normal(2)),
          "toy_mlp G ring": Net(normal(SETTINGS_2["latent_ring"])),
          "mlp_G": Net(normal(SETTINGS_2["latent_dim"])),
          "maxout_D": Net(uniform(784, low=0.0))},   # pixels in [0, 1], as G's sigmoid
    trainings=(
        _toy_training("1-D GAN", "1-D", SETTINGS_2["lr_1d"], adam(SETTINGS_2)),
        _toy_training("1-D GAN, saturating G loss", "1-D", (SETTINGS_2["lr_sat"],) * 2, None,
                      "update_G_saturating"),
        _toy_training("ring of Gaussians", "ring", SETTINGS_2["lr_ring"], adam(SETTINGS_2)),
        Training("MNIST MLP", {"D": (("maxout_D",), SETTINGS_2["lr_mnist"][0]),
                               "G": (("mlp_G",), SETTINGS_2["lr_mnist"][1])},
                 gan_data(uniform(784, low=0.0), SETTINGS_2["latent_dim"]),
                 gan_steps("maxout_D", "mlp_G"), adam(SETTINGS_2))),
    init="glorot uniform")


# ---- chapter 3: DCGAN -----------------------------------------------------------------------

SETTINGS_3 = dict(latent_dim=100, lr_D=2e-4, lr_G=1e-3, betas=(0.5, 0.999), eps=1e-8)


def _chapter3(framework):
    ge = library(framework)
    nets = {"dcgan_G": ge.init_dcgan(ge.dcgan_G(SETTINGS_3["latent_dim"])),
            "dcgan_D": ge.init_dcgan(ge.dcgan_D())}
    return hybridized(framework, nets, static_alloc=True, static_shape=True)


CHAPTER_3 = Chapter(
    title="DCGAN",
    settings=SETTINGS_3,
    build=_chapter3,
    # G: dense 256 -> 64*7*7 before the reshape (its output axis); D: the body's dense
    # 64*7*7 -> 256 after the flatten (its input axis).
    nets={"dcgan_G": Net(normal(SETTINGS_3["latent_dim"]), flattened=((5, 0, (64, 7, 7)),)),
          "dcgan_D": Net(uniform(*IMAGE), flattened=((7, 1, (64, 7, 7)),))},
    trainings=(Training("DCGAN", {"D": (("dcgan_D",), SETTINGS_3["lr_D"]),
                                  "G": (("dcgan_G",), SETTINGS_3["lr_G"])},
                        gan_data(uniform(*IMAGE), SETTINGS_3["latent_dim"]),
                        gan_steps("dcgan_D", "dcgan_G"), adam(SETTINGS_3)),),
    init="normal 0.02")


# ---- chapter 4: conditional GAN ----------------------------------------------------------------

SETTINGS_4 = dict(latent_dim=100, num_classes=10, nf=32, lr=5e-4, betas=(0.5, 0.999), eps=1e-8)


def _chapter4(framework):
    ge, s = library(framework), SETTINGS_4   # the builders initialise; Keras flattens (C, H, W)
    return hybridized(framework, {"cgan_G": ge.cgan_G(s["latent_dim"], s["num_classes"], s["nf"]),
                                  "cgan_D": ge.cgan_D(s["num_classes"], s["nf"])})


def _labelled(inputs):
    """`inputs` followed by one-hot labels."""
    def draw(rng, batch):
        return inputs(rng, batch) + [one_hot(rng.integers(0, 10, size=batch))]
    return draw


def _cgan_data(rng, batch):
    labels = rng.integers(0, 10, size=batch)
    return {"X": uniform(*IMAGE)(rng, batch)[0], "Y": one_hot(labels),
            "Z": normal(SETTINGS_4["latent_dim"])(rng, batch)[0],
            "Y_wrong": one_hot((labels + 3) % 10)}


def _cgan_D(ge, nets, trainers, loss, data):
    return {"loss_D": ge.update_D_cond(data["X"], data["Y"], data["Z"], data["Y_wrong"],
                                       nets["cgan_D"], nets["cgan_G"], loss, trainers["D"])}


def _cgan_G(ge, nets, trainers, loss, data):
    return {"loss_G": ge.update_G_cond(data["Z"], data["Y"], nets["cgan_D"], nets["cgan_G"],
                                       loss, trainers["G"])}


CHAPTER_4 = Chapter(
    title="Conditional GAN",
    settings=SETTINGS_4,
    build=_chapter4,
    nets={"cgan_G": Net(_labelled(normal(SETTINGS_4["latent_dim"]))),
          "cgan_D": Net(_labelled(uniform(*IMAGE)))},
    trainings=(Training("conditional GAN", {"D": (("cgan_D",), SETTINGS_4["lr"]),
                                            "G": (("cgan_G",), SETTINGS_4["lr"])},
                        _cgan_data, (Step("update_D_cond", ("D",), _cgan_D),
                                     Step("update_G_cond", ("G",), _cgan_G)),
                        adam(SETTINGS_4)),),
    init="normal 0.02")


# ---- chapter 5: InfoGAN -----------------------------------------------------------------------

SETTINGS_5 = dict(noise_dim=62, num_classes=10, num_cont=2, latent_dim=74, conv=(32, 64),
                  fc=256, q_hidden=128, slope=0.1, lr_D=1e-3, lr_G=1e-3, lambda_cat=1.0,
                  lambda_cont=1.0, betas=(0.5, 0.999), eps=1e-8)


def _chapter5(framework):
    ge, s = library(framework), SETTINGS_5
    net_G, net_D, net_Q = ge.info_nets(s["latent_dim"], s["conv"], s["fc"], s["q_hidden"],
                                       s["num_classes"] + s["num_cont"], s["slope"])
    for net in (net_D, net_Q, net_G):
        ge.init_dcgan(net)   # chapter 3's, as chapter 5 trains them
    Q_head = net_Q.layers[1] if framework == "tensorflow" else net_Q[1]  # D's optimiser trains it
    nets = {"info_G": net_G, "info_D": net_D, "info_Q": net_Q, "info_Q_head": Q_head}
    return hybridized(framework, nets)   # not static_alloc: the chapter says why


def _info_codes(rng, batch):
    """(G's input, c_cat, c_cont): noise, a one-hot categorical code, uniform codes."""
    s = SETTINGS_5
    c_cat = rng.integers(0, s["num_classes"], size=batch)
    c_cont = rng.uniform(-1, 1, size=(batch, s["num_cont"])).astype(np.float32)
    Z = np.concatenate([rng.normal(size=(batch, s["noise_dim"])),
                        one_hot(c_cat, s["num_classes"]), c_cont], axis=1)
    return Z.astype(np.float32), c_cat, c_cont


def _info_data(rng, batch):
    Z, c_cat, c_cont = _info_codes(rng, batch)
    return {"X": uniform(*IMAGE)(rng, batch)[0], "Z": Z, "c_cat": c_cat, "c_cont": c_cont,
            "lambda_cat": np.float32(SETTINGS_5["lambda_cat"]),
            "lambda_cont": np.float32(SETTINGS_5["lambda_cont"])}


def _info_D(ge, nets, trainers, loss, data):
    return {"loss_D": ge.update_info_D(
        data["X"], data["Z"], data["c_cat"], data["c_cont"], nets["info_D"], nets["info_Q"],
        nets["info_G"], loss, trainers["D"], data["lambda_cat"], data["lambda_cont"])}


def _info_G(ge, nets, trainers, loss, data):
    loss_G, loss_I = ge.update_info_G(
        data["Z"], data["c_cat"], data["c_cont"], nets["info_D"], nets["info_Q"],
        nets["info_G"], loss, trainers["G"], data["lambda_cat"], data["lambda_cont"])
    return {"loss_G": loss_G, "loss_I": loss_I}


CHAPTER_5 = Chapter(
    title="InfoGAN",
    settings=SETTINGS_5,
    build=_chapter5,
    # G: dense fc -> 64*7*7 before the reshape; D and Q: the body's dense after the flatten.
    nets={"info_G": Net(lambda rng, batch: [_info_codes(rng, batch)[0]],
                        flattened=((5, 0, (64, 7, 7)),)),
          "info_D": Net(uniform(*IMAGE), flattened=((7, 1, (64, 7, 7)),)),
          "info_Q": Net(uniform(*IMAGE), flattened=((7, 1, (64, 7, 7)),)),
          "info_Q_head": Net(normal(SETTINGS_5["fc"]))},
    trainings=(Training("InfoGAN", {"D": (("info_D", "info_Q_head"), SETTINGS_5["lr_D"]),
                                    "G": (("info_G",), SETTINGS_5["lr_G"])},
                        _info_data, (Step("update_info_D", ("D",), _info_D),
                                     Step("update_info_G", ("G",), _info_G)),
                        adam(SETTINGS_5)),),
    init="normal 0.02")


# ---- chapter 6: CycleGAN and DualGAN -----------------------------------------------------------
# The steps, not the training loop: its learning-rate schedule (constant, then linear to 0)
# is not compared, and the steps run at the chapter's rates.

SETTINGS_6 = dict(batch_size=16, channels=16, num_res=2, lr_cycle=1e-3, betas=(0.5, 0.999),
                  eps=1e-8, lambda_cycle=10.0, lambda_identity=5.0, pool_size=50,
                  lr_dual=5e-4, rho=0.9, rms_eps=1e-8, clip=0.1, lambda_rec=10.0, dropout=0.2)

# Each model's G_AB, G_BA, D_A, D_B, in the order the library's steps take them.
CYCLE_NETS = ("cycle_G G_AB", "cycle_G G_BA", "patch_D D_A", "patch_D D_B")
DUAL_NETS = ("dual_G G_AB", "dual_G G_BA", "patch_D critic D_A", "patch_D critic D_B")


def _chapter6(framework):
    ge, s = library(framework), SETTINGS_6
    builders = {"cycle_G": lambda: ge.cycle_G(s["channels"], s["num_res"]),
                "dual_G": lambda: ge.dual_G(s["channels"], s["num_res"], s["dropout"]),
                "patch_D": lambda: ge.patch_D(s["channels"], norm=True),
                "patch_D critic": lambda: ge.patch_D(s["channels"], norm=False)}
    nets = {name: ge.init_dcgan(builders[name.rsplit(" ", 1)[0]]())   # chapter 3's init
            for name in CYCLE_NETS + DUAL_NETS}
    return hybridized(framework, nets)


def _translation_data(**settings):
    """A batch of each domain (images in [-1, 1]) and the step's settings."""
    def data(rng, batch):
        images = uniform(*IMAGE)
        return {"X_A": images(rng, batch)[0], "X_B": images(rng, batch)[0],
                **{name: np.float64(SETTINGS_6[name]) for name in settings}}
    return data


def _cycle_G(ge, nets, trainers, loss, data):
    loss_G, fake_A, fake_B = ge.update_cycle_G(
        data["X_A"], data["X_B"], *(nets[n] for n in CYCLE_NETS), trainers["G"],
        data["lambda_cycle"], data["lambda_identity"])
    return {"loss_G": loss_G, "fake_A": fake_A, "fake_B": fake_B}


def _cycle_D(ge, nets, trainers, loss, data):
    D_A, D_B = (nets[n] for n in CYCLE_NETS[2:])
    return {"loss_D": ge.update_cycle_D(data["X_A"], data["X_B"], data["fake_A"],
                                        data["fake_B"], D_A, D_B, trainers["D"])}


def _dual_D(ge, nets, trainers, loss, data):
    return {"loss_D": ge.update_dual_D(data["X_A"], data["X_B"], *(nets[n] for n in DUAL_NETS),
                                       trainers["D"], data["clip"])}


def _dual_G(ge, nets, trainers, loss, data):
    return {"loss_G": ge.update_dual_G(data["X_A"], data["X_B"], *(nets[n] for n in DUAL_NETS),
                                       trainers["G"], data["lambda_rec"])}


CHAPTER_6 = Chapter(
    title="CycleGAN and DualGAN",
    settings=SETTINGS_6,
    build=_chapter6,
    nets={name: Net(uniform(*IMAGE)) for name in CYCLE_NETS + DUAL_NETS},
    trainings=(
        # update_cycle_D takes the translations that update_cycle_G returns, straight:
        # the history buffer is left out here (tests/test_parity_ch6.py compares its draws).
        Training("CycleGAN", {"G": (CYCLE_NETS[:2], SETTINGS_6["lr_cycle"]),
                              "D": (CYCLE_NETS[2:], SETTINGS_6["lr_cycle"])},
                 _translation_data(lambda_cycle=True, lambda_identity=True),
                 (Step("update_cycle_G", ("G",), _cycle_G, passes=("fake_A", "fake_B")),
                  Step("update_cycle_D", ("D",), _cycle_D)),
                 adam(SETTINGS_6)),
        # One critic step, then one generator step (the chapter takes n_critic = 2).
        Training("DualGAN", {"D": (DUAL_NETS[2:], SETTINGS_6["lr_dual"]),
                             "G": (DUAL_NETS[:2], SETTINGS_6["lr_dual"])},
                 _translation_data(clip=True, lambda_rec=True),
                 (Step("update_dual_D", ("D",), _dual_D), Step("update_dual_G", ("G",), _dual_G)),
                 adam=None, rmsprop=dict(rho=SETTINGS_6["rho"], eps=SETTINGS_6["rms_eps"]))),
    init="normal 0.02",
    step_dtype="float64")


CHAPTERS = {1: CHAPTER_1, 2: CHAPTER_2, 3: CHAPTER_3, 4: CHAPTER_4, 5: CHAPTER_5, 6: CHAPTER_6}

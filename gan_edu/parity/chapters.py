"""What each chapter's comparison runs: its saved networks, their inputs, its training steps.

Every network comes from the library's builders, ready to train as the chapter trains
it, and every step is the library's own, with the chapter's optimiser settings.
`settings` holds the values of the chapter's hyper-parameter cell that the comparison
uses, under the chapter's names (a test checks them against the cell). Inputs and data
are numpy arrays in PyTorch's layout (images NCHW).
"""

from collections import namedtuple
from dataclasses import dataclass, replace

import numpy as np

# The library's update step `name`, called with the `args` named: data, networks, the
# optimiser of a role ('D', 'G') or 'loss'. It returns `outputs`: losses ('loss_...')
# and what the later steps of the iteration take (CycleGAN's translations).
Step = namedtuple("Step", "name args outputs")

# `build(a)` returns the chapter's networks by name, from the library of the adapter `a`
# (a network may be a part of another: InfoGAN's Q head, which D's optimiser trains);
# `inputs` maps each to the `draw(rng, batch)` of each of its inputs; `init` names the
# initial distribution, 'glorot uniform' or 'normal 0.02' (biases and beta 0, gamma 1).
Chapter = namedtuple("Chapter", "title settings build inputs trainings init")


@dataclass(eq=False)
class Training:
    """One iteration of a chapter's training: `trainers` maps a role to the networks its
    optimiser trains and its learning rate, `data(rng, batch)` draws the data; `adam` is
    dict(betas, eps), else `rmsprop` dict(rho, eps) (no momentum), else plain SGD."""
    name: str
    trainers: dict
    data: object
    steps: tuple
    adam: dict
    rmsprop: dict = None


def call(step, ge, values):
    """{output: value}: the library `ge`'s step on `values` (every name in `step.args`)."""
    out = getattr(ge, step.name)(*(values[name] for name in step.args))
    return dict(zip(step.outputs, out if len(step.outputs) > 1 else (out,)))


def normal(*shape):
    return lambda rng, batch: rng.normal(size=(batch, *shape)).astype(np.float32)


def uniform(*shape, low=-1.0):
    return lambda rng, batch: rng.uniform(low, 1, size=(batch, *shape)).astype(np.float32)


def one_hot(labels, classes=10):
    return np.eye(classes, dtype=np.float32)[labels]


LABELS = lambda rng, batch: one_hot(rng.integers(0, 10, size=batch))  # noqa: E731


def adam(settings):
    return dict(betas=settings["betas"], eps=settings["eps"])


IMAGE = uniform(1, 28, 28)
PIXELS = uniform(784, low=0.0)   # in [0, 1], as chapter 2's generator makes them


def gan_training(name, D, G, lrs, real, latent, adam, update_G="update_G"):
    """Chapters 1-3: `update_D`, then the G step on the same noise of `latent` dimensions."""
    def data(rng, batch):
        return {"X": real(rng, batch), "Z": normal(latent)(rng, batch)}
    return Training(name, {"D": ((D,), lrs[0]), "G": ((G,), lrs[1])}, data,
                    (Step("update_D", ("X", "Z", D, G, "loss", "D"), ("loss_D",)),
                     Step(update_G, ("Z", D, G, "loss", "G"), ("loss_G",))), adam)


# ---- chapter 1: a first GAN -----------------------------------------------------------------

S1 = dict(latent_dim=2, lr_D=0.02, lr_G=0.01, betas=(0.5, 0.999), eps=1e-8)


def _toy_gaussian(rng, batch):
    A, b = np.array([[1, 2], [-0.1, 0.5]]), np.array([1, 2])
    return (rng.normal(size=(batch, 2)) @ A + b).astype(np.float32)


CHAPTER_1 = Chapter(
    "A first GAN", S1,
    lambda a: dict(zip(("toy_nets G", "toy_nets D"), a.library.toy_nets(S1["latent_dim"]))),
    {"toy_nets G": [normal(S1["latent_dim"])], "toy_nets D": [_toy_gaussian]},
    (gan_training("toy GAN", "toy_nets D", "toy_nets G", (S1["lr_D"], S1["lr_G"]),
                  _toy_gaussian, S1["latent_dim"], adam(S1)),),
    "glorot uniform")


# ---- chapter 2: GAN theory you can run --------------------------------------------------------

S2 = dict(mu=2.0, sigma=0.5, hidden_1d=[32, 32], lr_1d=(5e-3, 5e-3), lr_sat=0.05,
          ring_std=0.05, ring_radius=0.15, hidden_ring=[64, 64], latent_ring=2,
          lr_ring=(3e-3, 3e-3), latent_dim=100, lr_mnist=(1e-3, 1e-3), betas=(0.5, 0.999),
          eps=1e-8)


def _chapter2(a):
    ge = a.library
    return {"toy_mlp D 1-D": ge.toy_mlp(1, S2["hidden_1d"], 1),
            "toy_mlp G 1-D": ge.toy_mlp(1, [], 1),
            "toy_mlp D ring": ge.toy_mlp(2, S2["hidden_ring"], 1),
            "toy_mlp G ring": ge.toy_mlp(S2["latent_ring"], S2["hidden_ring"], 2),
            "mlp_G": ge.mlp_G(S2["latent_dim"]), "maxout_D": ge.maxout_D()}


def _gaussian_1d(rng, batch):
    return rng.normal(S2["mu"], S2["sigma"], (batch, 1)).astype(np.float32)


def _ring(rng, batch):
    angle = 2 * np.pi * rng.integers(0, 8, size=batch) / 8
    points = S2["ring_radius"] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return (points + rng.normal(0, S2["ring_std"], size=(batch, 2))).astype(np.float32)


CHAPTER_2 = Chapter(
    "GAN theory you can run", S2, _chapter2,
    {"toy_mlp D 1-D": [normal(1)], "toy_mlp G 1-D": [normal(1)], "toy_mlp D ring": [normal(2)],
     "toy_mlp G ring": [normal(S2["latent_ring"])], "mlp_G": [normal(S2["latent_dim"])],
     "maxout_D": [PIXELS]},
    (gan_training("1-D GAN", "toy_mlp D 1-D", "toy_mlp G 1-D", S2["lr_1d"], _gaussian_1d, 1,
                  adam(S2)),
     gan_training("1-D GAN, saturating G loss", "toy_mlp D 1-D", "toy_mlp G 1-D",
                  (S2["lr_sat"],) * 2, _gaussian_1d, 1, None, "update_G_saturating"),
     gan_training("ring of Gaussians", "toy_mlp D ring", "toy_mlp G ring", S2["lr_ring"], _ring,
                  S2["latent_ring"], adam(S2)),
     gan_training("MNIST MLP", "maxout_D", "mlp_G", S2["lr_mnist"], PIXELS, S2["latent_dim"],
                  adam(S2))),
    "glorot uniform")


# ---- chapter 3: DCGAN -----------------------------------------------------------------------

S3 = dict(latent_dim=100, lr_D=2e-4, lr_G=1e-3, ema_decay=0.99, betas=(0.5, 0.999), eps=1e-8)


def _dcgan_training():
    """Chapter 3's iteration: D's step, G's step, then the average of G (other weights
    than G's, so that the average's rule is seen)."""
    plain = gan_training("DCGAN", "dcgan_D", "dcgan_G", (S3["lr_D"], S3["lr_G"]), IMAGE,
                         S3["latent_dim"], adam(S3))
    return replace(
        plain, data=lambda rng, batch: {**plain.data(rng, batch), "ema_decay": S3["ema_decay"]},
        steps=plain.steps + (Step("update_ema", ("dcgan_G average", "dcgan_G", "ema_decay"),
                                  ()),))


CHAPTER_3 = Chapter(
    "DCGAN", S3,
    lambda a: {"dcgan_G": a.library.dcgan_G(S3["latent_dim"]), "dcgan_D": a.library.dcgan_D(),
               "dcgan_G average": a.library.dcgan_G(S3["latent_dim"])},
    {"dcgan_G": [normal(S3["latent_dim"])], "dcgan_D": [IMAGE],
     "dcgan_G average": [normal(S3["latent_dim"])]},
    (_dcgan_training(),), "normal 0.02")


# ---- chapter 4: conditional GAN ----------------------------------------------------------------

S4 = dict(latent_dim=100, num_classes=10, nf=32, lr=5e-4, betas=(0.5, 0.999), eps=1e-8)


def _cgan_data(rng, batch):
    labels = rng.integers(0, 10, size=batch)
    return {"X": IMAGE(rng, batch), "Y": one_hot(labels),
            "Z": normal(S4["latent_dim"])(rng, batch), "Y_wrong": one_hot((labels + 3) % 10)}


CHAPTER_4 = Chapter(
    "Conditional GAN", S4,
    lambda a: {"cgan_G": a.library.cgan_G(S4["latent_dim"], S4["num_classes"], S4["nf"]),
               "cgan_D": a.library.cgan_D(S4["num_classes"], S4["nf"])},
    {"cgan_G": [normal(S4["latent_dim"]), LABELS], "cgan_D": [IMAGE, LABELS]},
    (Training("conditional GAN", {"D": (("cgan_D",), S4["lr"]), "G": (("cgan_G",), S4["lr"])},
              _cgan_data,
              (Step("update_D_cond", ("X", "Y", "Z", "Y_wrong", "cgan_D", "cgan_G", "loss", "D"),
                    ("loss_D",)),
               Step("update_G_cond", ("Z", "Y", "cgan_D", "cgan_G", "loss", "G"), ("loss_G",))),
              adam(S4)),),
    "normal 0.02")


# ---- chapter 5: InfoGAN -----------------------------------------------------------------------

S5 = dict(noise_dim=62, num_classes=10, num_cont=2, latent_dim=74, conv=(32, 64), fc=256,
          q_hidden=128, slope=0.1, lr_D=1e-3, lr_G=1e-3, lambda_cat=1.0, lambda_cont=1.0,
          betas=(0.5, 0.999), eps=1e-8)


def _chapter5(a):
    net_G, net_D, net_Q = a.library.info_nets(S5["latent_dim"], S5["conv"], S5["fc"],
                                              S5["q_hidden"], S5["num_classes"] + S5["num_cont"],
                                              S5["slope"])
    Q_head = getattr(net_Q, "layers", net_Q)[1]   # Keras lists a model's parts in `layers`
    return {"info_G": net_G, "info_D": net_D, "info_Q": net_Q, "info_Q_head": Q_head}


def _info_codes(rng, batch):
    """(G's input, c_cat, c_cont): noise, a one-hot categorical code, uniform codes."""
    c_cat = rng.integers(0, S5["num_classes"], size=batch)
    c_cont = rng.uniform(-1, 1, size=(batch, S5["num_cont"])).astype(np.float32)
    Z = np.concatenate([rng.normal(size=(batch, S5["noise_dim"])),
                        one_hot(c_cat, S5["num_classes"]), c_cont], axis=1)
    return Z.astype(np.float32), c_cat, c_cont


def _info_data(rng, batch):
    Z, c_cat, c_cont = _info_codes(rng, batch)
    return {"X": IMAGE(rng, batch), "Z": Z, "c_cat": c_cat, "c_cont": c_cont,
            **{name: np.float32(S5[name]) for name in ("lambda_cat", "lambda_cont")}}


INFO = ("c_cat", "c_cont", "info_D", "info_Q", "info_G", "loss")
LAMBDAS = ("lambda_cat", "lambda_cont")

CHAPTER_5 = Chapter(
    "InfoGAN", S5, _chapter5,
    {"info_G": [lambda rng, batch: _info_codes(rng, batch)[0]], "info_D": [IMAGE],
     "info_Q": [IMAGE], "info_Q_head": [normal(S5["fc"])]},
    (Training("InfoGAN", {"D": (("info_D", "info_Q_head"), S5["lr_D"]),
                          "G": (("info_G",), S5["lr_G"])}, _info_data,
              (Step("update_info_D", ("X", "Z", *INFO, "D", *LAMBDAS), ("loss_D",)),
               Step("update_info_G", ("Z", *INFO, "G", *LAMBDAS), ("loss_G", "loss_I"))),
              adam(S5)),),
    "normal 0.02")


# ---- chapter 6: CycleGAN and DualGAN -----------------------------------------------------------
# The steps at the chapter's rates; the training loop's schedule (constant, then linear to
# 0) and its history buffer are not compared (the tests check the buffer on its own).

S6 = dict(batch_size=16, channels=16, num_res=2, lr_cycle=1e-3, betas=(0.5, 0.999), eps=1e-8,
          lambda_cycle=10.0, lambda_identity=5.0, pool_size=50, lr_dual=1e-3, rho=0.9,
          rms_eps=1e-8, clip=0.1, lambda_rec=10.0, dropout=0.2)

# Each model's G_AB, G_BA, D_A, D_B, in the order the library's steps take them.
CYCLE_NETS = ("cycle_G G_AB", "cycle_G G_BA", "patch_D D_A", "patch_D D_B")
DUAL_NETS = ("dual_G G_AB", "dual_G G_BA", "patch_D critic D_A", "patch_D critic D_B")


def _chapter6(a):
    ge, c, r = a.library, S6["channels"], S6["num_res"]
    builders = {"cycle_G": lambda: ge.cycle_G(c, r),
                "dual_G": lambda: ge.dual_G(c, r, S6["dropout"]),
                "patch_D": lambda: ge.patch_D(c, norm=True),
                "patch_D critic": lambda: ge.patch_D(c, norm=False)}
    return {name: builders[name.rsplit(" ", 1)[0]]() for name in CYCLE_NETS + DUAL_NETS}


def _translation_data(*settings):
    """A batch of each domain (images in [-1, 1]) and the step's settings."""
    return lambda rng, batch: {"X_A": IMAGE(rng, batch), "X_B": IMAGE(rng, batch),
                               **{name: np.float64(S6[name]) for name in settings}}


CHAPTER_6 = Chapter(
    "CycleGAN and DualGAN", S6, _chapter6, dict.fromkeys(CYCLE_NETS + DUAL_NETS, [IMAGE]),
    (Training("CycleGAN", {"G": (CYCLE_NETS[:2], S6["lr_cycle"]),
                           "D": (CYCLE_NETS[2:], S6["lr_cycle"])},
              _translation_data("lambda_cycle", "lambda_identity"),
              (Step("update_cycle_G", ("X_A", "X_B", *CYCLE_NETS, "G", "lambda_cycle",
                                       "lambda_identity"), ("loss_G", "fake_A", "fake_B")),
               Step("update_cycle_D", ("X_A", "X_B", "fake_A", "fake_B", *CYCLE_NETS[2:], "D"),
                    ("loss_D",))), adam(S6)),
     # One critic step, then one generator step (the chapter takes n_critic = 2).
     Training("DualGAN", {"D": (DUAL_NETS[2:], S6["lr_dual"]), "G": (DUAL_NETS[:2], S6["lr_dual"])},
              _translation_data("clip", "lambda_rec"),
              (Step("update_dual_D", ("X_A", "X_B", *DUAL_NETS, "D", "clip"), ("loss_D",)),
               Step("update_dual_G", ("X_A", "X_B", *DUAL_NETS, "G", "lambda_rec"), ("loss_G",))),
              adam=None, rmsprop=dict(rho=S6["rho"], eps=S6["rms_eps"]))),
    "normal 0.02")


CHAPTERS = {1: CHAPTER_1, 2: CHAPTER_2, 3: CHAPTER_3, 4: CHAPTER_4, 5: CHAPTER_5, 6: CHAPTER_6}

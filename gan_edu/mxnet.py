"""MXNet (Gluon) building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import mxnet as mx
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import nn

from gan_edu import Accumulator, Timer, seed  # noqa: F401  (the chapters use them as ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401


def try_gpu(i=0):
    """The i-th GPU if there is one, else the CPU."""
    if mx.context.num_gpus() > i:
        return mx.gpu(i)
    return mx.cpu()


# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----


# Defined in chapters/01_first_gan.md
def load_array(arrays, batch_size, is_train=True):
    """Minibatches of numpy arrays through a Gluon DataLoader, reshuffled every epoch."""
    dataset = gluon.data.ArrayDataset(*(nd.array(a) for a in arrays))
    return gluon.data.DataLoader(dataset, batch_size, shuffle=is_train,
                                 last_batch="discard" if is_train else "keep")


# Defined in chapters/01_first_gan.md
def toy_nets(latent_dim):
    """Chapter 1's linear generator and 5-3-1 tanh discriminator (returning a logit)."""
    net_G = nn.HybridSequential()
    net_G.add(nn.Dense(2, in_units=latent_dim))
    net_D = nn.HybridSequential()
    net_D.add(nn.Dense(5, activation="tanh", in_units=2),
              nn.Dense(3, activation="tanh", in_units=5),
              nn.Dense(1, in_units=3))
    return net_G, net_D


# Defined in chapters/01_first_gan.md
def init_glorot(net):
    """Glorot-uniform weights and zero biases for every dense layer of `net`."""
    net.initialize(init.Xavier(rnd_type="uniform", factor_type="avg", magnitude=3),
                   force_reinit=True)  # Gluon initialises biases with zeros


# Defined in chapters/01_first_gan.md
def update_D(X, Z, net_D, net_G, loss, trainer_D):
    """One discriminator step: real examples labelled 1, generated ones 0."""
    ones = nd.ones((X.shape[0], 1), ctx=X.context)
    zeros = nd.zeros((X.shape[0], 1), ctx=X.context)
    with autograd.record():
        real_Y = net_D(X)
        fake_Y = net_D(net_G(Z).detach())  # no gradient for the generator here
        loss_D = (loss(real_Y, ones) + loss(fake_Y, zeros)) / 2
    loss_D.backward()
    trainer_D.step(X.shape[0])  # the losses are per example: average their gradients
    return loss_D.mean()


def update_G(Z, net_D, net_G, loss, trainer_G):
    """One generator step: generated examples labelled 1 (the non-saturating loss)."""
    ones = nd.ones((Z.shape[0], 1), ctx=Z.context)
    with autograd.record():
        loss_G = loss(net_D(net_G(Z)), ones)
    loss_G.backward()
    trainer_G.step(Z.shape[0])
    return loss_G.mean()

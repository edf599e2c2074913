"""PyTorch building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import torch
from torch import nn

from gan_edu import Accumulator, Timer, seed  # noqa: F401  (the chapters use them as ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401


def try_gpu(i=0):
    """The i-th GPU if there is one, else the CPU."""
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----


# Defined in chapters/01_first_gan.md
def load_array(arrays, batch_size, is_train=True):
    """Minibatches of numpy arrays through a DataLoader, reshuffled every epoch."""
    dataset = torch.utils.data.TensorDataset(*(torch.as_tensor(a) for a in arrays))
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train,
                                       drop_last=is_train)


# Defined in chapters/01_first_gan.md
def init_glorot(module):
    """Glorot-uniform weights and zero biases for every dense layer (Keras' default)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


# Defined in chapters/01_first_gan.md
def toy_nets(latent_dim):
    """Chapter 1's linear generator and 5-3-1 tanh discriminator (returning a logit)."""
    net_G = nn.Sequential(nn.Linear(latent_dim, 2))
    net_D = nn.Sequential(nn.Linear(2, 5), nn.Tanh(),
                          nn.Linear(5, 3), nn.Tanh(),
                          nn.Linear(3, 1))
    return net_G, net_D


# Defined in chapters/01_first_gan.md
def update_D(X, Z, net_D, net_G, loss, trainer_D):
    """One discriminator step: real examples labelled 1, generated ones 0."""
    ones = torch.ones((X.shape[0], 1), device=X.device)
    zeros = torch.zeros((X.shape[0], 1), device=X.device)
    trainer_D.zero_grad()
    real_Y = net_D(X)
    fake_Y = net_D(net_G(Z).detach())  # no gradient for the generator here
    loss_D = (loss(real_Y, ones) + loss(fake_Y, zeros)) / 2
    loss_D.backward()
    trainer_D.step()
    return loss_D.detach()


def update_G(Z, net_D, net_G, loss, trainer_G):
    """One generator step: generated examples labelled 1 (the non-saturating loss)."""
    ones = torch.ones((Z.shape[0], 1), device=Z.device)
    trainer_G.zero_grad()
    loss_G = loss(net_D(net_G(Z)), ones)
    loss_G.backward()
    trainer_G.step()
    return loss_G.detach()

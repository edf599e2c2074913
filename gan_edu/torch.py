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
    """Glorot-uniform weights and zero biases for every dense layer (chapter 1)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


# Defined in chapters/01_first_gan.md
def toy_nets(latent_dim):
    """Chapter 1's linear generator and 5-3-1 tanh discriminator (returning a logit),
    initialised by init_glorot."""
    net_G = nn.Sequential(nn.Linear(latent_dim, 2))
    net_D = nn.Sequential(nn.Linear(2, 5), nn.Tanh(),
                          nn.Linear(5, 3), nn.Tanh(),
                          nn.Linear(3, 1))
    return net_G.apply(init_glorot), net_D.apply(init_glorot)


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


# Defined in chapters/02_gan_theory.md
def toy_mlp(in_dim, hidden, out_dim):
    """Chapter 2's toy networks: tanh layers of the widths in `hidden`, then a linear one."""
    layers = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.Tanh()]
        in_dim = width
    net = nn.Sequential(*layers, nn.Linear(in_dim, out_dim))
    net.apply(init_glorot)
    return net


# Defined in chapters/02_gan_theory.md
def update_G_saturating(Z, net_D, net_G, loss, trainer_G):
    """One generator step on the minimax game's saturating loss log(1 - D(G(z)))."""
    zeros = torch.zeros((Z.shape[0], 1), device=Z.device)
    trainer_G.zero_grad()
    loss_G = -loss(net_D(net_G(Z)), zeros)  # BCE against label 0 is -log(1 - D)
    loss_G.backward()
    trainer_G.step()
    return loss_G.detach()


# Defined in chapters/02_gan_theory.md
def predict(net, *arrays, batch_size=500, device=None):
    """net(*arrays) in inference mode (batch norm's running statistics, no dropout), in
    batches of numpy arrays on `device` (default: the network's), as a numpy array."""
    device = device or next(net.parameters()).device
    training = net.training
    net.eval()
    with torch.no_grad():
        Y = torch.cat([net(*(torch.as_tensor(a[i:i + batch_size], device=device)
                             for a in arrays))
                       for i in range(0, len(arrays[0]), batch_size)])
    net.train(training)
    return Y.cpu().numpy()


# Defined in chapters/02_gan_theory.md
class Maxout(nn.Module):
    """`units` maxout units, each the max of `pieces` linear functions of the input."""

    def __init__(self, in_features, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, X):
        # (n, units * pieces) -> (n, units, pieces) -> (n, units)
        return self.linear(X).reshape(-1, self.units, self.pieces).amax(dim=2)


# Defined in chapters/02_gan_theory.md
def mlp_G(latent_dim):
    """Chapter 2's fully connected generator: z -> 784 pixels in [0, 1]."""
    net = nn.Sequential(
        nn.Linear(latent_dim, 256), nn.BatchNorm1d(256), nn.ReLU(),  # (n, 256)
        nn.Linear(256, 512), nn.BatchNorm1d(512), nn.ReLU(),         # (n, 512)
        nn.Linear(512, 784), nn.Sigmoid())                           # (n, 784)
    net.apply(init_glorot)
    return net


def maxout_D():
    """Chapter 2's maxout discriminator with dropout: 784 pixels -> a logit."""
    net = nn.Sequential(
        nn.Dropout(0.2), Maxout(784, 128, 4),  # (n, 128)
        nn.Dropout(0.5), Maxout(128, 128, 4),  # (n, 128)
        nn.Dropout(0.5), nn.Linear(128, 1))    # (n, 1)
    net.apply(init_glorot)
    return net


# Defined in chapters/03_dcgan.md
def init_dcgan(net):
    """DCGAN's initialisation: weights N(0, 0.02^2), biases 0, batch norm gamma 1, beta 0."""
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.reset_running_stats()
    return net


# Defined in chapters/03_dcgan.md
def dcgan_G(latent_dim):
    """DCGAN's generator for 28x28 digits (chapter 3): z -> images in [-1, 1]."""
    return init_dcgan(nn.Sequential(
        nn.Linear(latent_dim, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
        nn.Linear(256, 64 * 7 * 7, bias=False), nn.Unflatten(1, (64, 7, 7)),
        nn.BatchNorm2d(64), nn.ReLU(),                              # (64, 7, 7)
        nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(32), nn.ReLU(),                              # (32, 14, 14)
        nn.ConvTranspose2d(32, 1, kernel_size=4, stride=2, padding=1),
        nn.Tanh()))                                                 # (1, 28, 28)


# Defined in chapters/03_dcgan.md
def dcgan_D_body():
    """DCGAN's discriminator up to its 256 features (chapter 3)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=4, stride=2, padding=1),
        nn.LeakyReLU(0.2),                                          # (32, 14, 14)
        nn.Conv2d(32, 64, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(64), nn.LeakyReLU(0.2),                      # (64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256, bias=False),
        nn.BatchNorm1d(256), nn.LeakyReLU(0.2))                     # (256)


def dcgan_D():
    """DCGAN's discriminator (chapter 3): images -> one logit; net_D[0] is the body."""
    return init_dcgan(nn.Sequential(dcgan_D_body(), nn.Linear(256, 1)))


# Defined in chapters/03_dcgan.md
@torch.no_grad()
def update_ema(net_ema, net, decay):
    """Each weight and batch-norm statistic of net_ema <- decay * itself + (1 - decay) *
    net's (chapter 3); decay=0 copies net."""
    for average, value in zip(net_ema.state_dict().values(), net.state_dict().values()):
        if average.is_floating_point():
            average.lerp_(value, 1 - decay)
        else:  # batch norm's count of batches
            average.copy_(value)


# Defined in chapters/04_conditional_gan.md
class CganGenerator(nn.Module):
    """G(z, y): the one-hot label joined to the noise at the input."""

    def __init__(self, latent_dim, num_classes=10, nf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim + num_classes, 2 * nf * 7 * 7, bias=False),
            nn.BatchNorm1d(2 * nf * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (2 * nf, 7, 7)),                      # (2nf, 7, 7)
            nn.ConvTranspose2d(2 * nf, nf, 4, 2, 1, bias=False),  # (nf, 14, 14)
            nn.BatchNorm2d(nf), nn.ReLU(),
            nn.ConvTranspose2d(nf, 1, 4, 2, 1), nn.Tanh())        # (1, 28, 28)

    def forward(self, Z, Y):
        return self.net(torch.cat([Z, Y], dim=1))


class CganDiscriminator(nn.Module):
    """D(x, y): a label-free logit plus the projection of the features on y's embedding."""

    def __init__(self, num_classes=10, nf=32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, nf, 4, 2, 1), nn.LeakyReLU(0.2),             # (nf, 14, 14)
            nn.Conv2d(nf, 2 * nf, 4, 2, 1, bias=False),               # (2nf, 7, 7)
            nn.BatchNorm2d(2 * nf), nn.LeakyReLU(0.2), nn.Flatten())  # features phi(x)
        # A dense layer without bias on a one-hot y picks one row: the label's embedding.
        self.embed = nn.Linear(num_classes, 2 * nf * 7 * 7, bias=False)
        self.out = nn.Linear(2 * nf * 7 * 7, 1)                       # label-free logit

    def forward(self, X, Y):
        features = self.body(X)
        return self.out(features) + (self.embed(Y) * features).sum(dim=1, keepdim=True)


def cgan_G(latent_dim, num_classes=10, nf=32):
    """The chapter's conditional generator, initialised."""
    return init_dcgan(CganGenerator(latent_dim, num_classes, nf))


def cgan_D(num_classes=10, nf=32):
    """The chapter's conditional discriminator, initialised."""
    return init_dcgan(CganDiscriminator(num_classes, nf))


# Defined in chapters/04_conditional_gan.md
def update_D_cond(X, Y, Z, Y_wrong, net_D, net_G, loss, trainer_D):
    """One step of the matching-aware D: (x, y) is real; (G(z, y), y), (x, wrong y) fake."""
    ones = torch.ones((X.shape[0], 1), device=X.device)
    zeros = torch.zeros((X.shape[0], 1), device=X.device)
    trainer_D.zero_grad()
    real = net_D(X, Y)
    fake = net_D(net_G(Z, Y).detach(), Y)  # no gradient for the generator here
    wrong = net_D(X, Y_wrong)
    loss_D = (loss(real, ones) + (loss(fake, zeros) + loss(wrong, zeros)) / 2) / 2
    loss_D.backward()
    trainer_D.step()
    return loss_D.detach()


def update_G_cond(Z, Y, net_D, net_G, loss, trainer_G):
    """One generator step: generated pairs labelled 1 (the non-saturating loss)."""
    ones = torch.ones((Z.shape[0], 1), device=Z.device)
    trainer_G.zero_grad()
    loss_G = loss(net_D(net_G(Z, Y), Y), ones)
    loss_G.backward()
    trainer_G.step()
    return loss_G.detach()


# Defined in chapters/05_infogan.md
def info_G(latent_dim=74, conv=(32, 64), fc=256):
    """InfoGAN's MNIST generator (Chen et al., 2016); the paper: conv=(64, 128), fc=1024."""
    c1, c2 = conv
    return init_dcgan(nn.Sequential(
        nn.Linear(latent_dim, fc, bias=False), nn.BatchNorm1d(fc), nn.ReLU(),   # (fc,)
        nn.Linear(fc, c2 * 7 * 7, bias=False), nn.Unflatten(1, (c2, 7, 7)),
        nn.BatchNorm2d(c2), nn.ReLU(),                                          # (c2, 7, 7)
        nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1),
        nn.ReLU(),                                                              # (c1, 14, 14)
        nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Tanh()))                         # (1, 28, 28)


# Defined in chapters/05_infogan.md
def info_D_body(conv=(32, 64), fc=256, slope=0.1):
    """The body that InfoGAN's D and Q share: two strided convolutions and a dense layer."""
    c1, c2 = conv
    return init_dcgan(nn.Sequential(
        nn.Conv2d(1, c1, 4, 2, 1), nn.LeakyReLU(slope),                        # (c1, 14, 14)
        nn.Conv2d(c1, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2),
        nn.LeakyReLU(slope),                                                    # (c2, 7, 7)
        nn.Flatten(), nn.Linear(c2 * 7 * 7, fc, bias=False), nn.BatchNorm1d(fc),
        nn.LeakyReLU(slope)))                                                   # (fc,)


def info_D_head(fc=256):
    """D's head: the real-vs-generated logit."""
    return init_dcgan(nn.Linear(fc, 1))                                         # (1,)


def info_Q_head(fc=256, q_hidden=128, num_outputs=12, slope=0.1):
    """Q's head: the categorical code's logits, then the continuous codes' means."""
    return init_dcgan(nn.Sequential(
        nn.Linear(fc, q_hidden, bias=False), nn.BatchNorm1d(q_hidden),
        nn.LeakyReLU(slope),                                                    # (q_hidden,)
        nn.Linear(q_hidden, num_outputs)))                                      # (num_outputs,)


def info_nets(latent_dim=74, conv=(32, 64), fc=256, q_hidden=128, num_outputs=12, slope=0.1):
    """(net_G, net_D, net_Q) of InfoGAN, initialised; net_D and net_Q share one body."""
    body = info_D_body(conv, fc, slope)
    net_D = nn.Sequential(body, info_D_head(fc))
    net_Q = nn.Sequential(body, info_Q_head(fc, q_hidden, num_outputs, slope))
    return info_G(latent_dim, conv, fc), net_D, net_Q


# Defined in chapters/05_infogan.md
def info_inputs(batch_size, noise_dim=62, num_classes=10, num_cont=2, device=None):
    """(G's input, c_cat, c_cont): z ~ N(0, I), c_cat uniform, c_cont ~ U(-1, 1)."""
    noise = torch.randn(batch_size, noise_dim, device=device)
    c_cat = torch.randint(0, num_classes, (batch_size,), device=device)
    c_cont = torch.rand(batch_size, num_cont, device=device) * 2 - 1
    one_hot = nn.functional.one_hot(c_cat, num_classes).float()
    return torch.cat([noise, one_hot, c_cont], dim=1), c_cat, c_cont


# Defined in chapters/05_infogan.md
def info_loss(Q_out, c_cat, c_cont, lambda_cat, lambda_cont):
    """L_I: -log Q(c | x) for the categorical code (from logits) and unit-variance Gaussians."""
    k = Q_out.shape[1] - c_cont.shape[1]     # the first k outputs are c_cat's logits
    nll_cat = nn.functional.cross_entropy(Q_out[:, :k], c_cat)
    nll_cont = 0.5 * ((Q_out[:, k:] - c_cont) ** 2).sum(dim=1).mean()
    return lambda_cat * nll_cat + lambda_cont * nll_cont


# Defined in chapters/05_infogan.md
def update_info_D(X, Z, c_cat, c_cont, net_D, net_Q, net_G, loss, trainer_D,
                  lambda_cat, lambda_cont):
    """D's step on its cross-entropy plus L_I: the body and both heads learn."""
    ones = torch.ones((X.shape[0], 1), device=X.device)
    zeros = torch.zeros((X.shape[0], 1), device=X.device)
    trainer_D.zero_grad()
    real_Y = net_D(X)
    features = net_D[0](net_G(Z).detach())  # no gradient for the generator here
    loss_D = (loss(real_Y, ones) + loss(net_D[1](features), zeros)) / 2
    loss_I = info_loss(net_Q[1](features), c_cat, c_cont, lambda_cat, lambda_cont)
    (loss_D + loss_I).backward()
    trainer_D.step()
    return loss_D.detach()


def update_info_G(Z, c_cat, c_cont, net_D, net_Q, net_G, loss, trainer_G,
                  lambda_cat, lambda_cont):
    """G's step on its non-saturating loss plus L_I; returns (loss_G, loss_I)."""
    ones = torch.ones((Z.shape[0], 1), device=Z.device)
    trainer_G.zero_grad()
    features = net_D[0](net_G(Z))  # the shared body, run once for both heads
    loss_G = loss(net_D[1](features), ones)
    loss_I = info_loss(net_Q[1](features), c_cat, c_cont, lambda_cat, lambda_cont)
    (loss_G + loss_I).backward()
    trainer_G.step()
    return loss_G.detach(), loss_I.detach()


# Defined in chapters/06_cyclegan_dualgan.md
class CycleResidual(nn.Module):
    """x + F(x), F = conv-norm-ReLU(-dropout)-conv-norm: the generators' residual block."""

    def __init__(self, channels, dropout=0.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(),
            *([nn.Dropout(dropout)] if dropout else []),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels))

    def forward(self, X):
        return X + self.body(X)


def cycle_upsample(channels):
    """(2c, 14, 14) -> (c, 28, 28): nearest-neighbour upsampling, then a 3x3 conv."""
    c = channels
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),                          # (2c, 28, 28)
        nn.Conv2d(2 * c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())


def cycle_stem(channels):
    """A 28x28 image -> (c, 28, 28) features: a 3x3 conv."""
    return nn.Sequential(nn.Conv2d(1, channels, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU())


def cycle_trunk(channels, num_res, dropout):
    """(c, 28, 28) -> (c, 28, 28): a strided 4x4 conv, residual blocks, upsampling."""
    c = channels
    return nn.Sequential(
        nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c),
        nn.ReLU(),                                                            # (2c, 14, 14)
        *[CycleResidual(2 * c, dropout) for _ in range(num_res)],
        cycle_upsample(c))                                                    # (c, 28, 28)


# Defined in chapters/06_cyclegan_dualgan.md
def cycle_G(channels=16, num_res=2, dropout=0.0):
    """Stem, trunk and a 3x3 conv: a 28x28 image in [-1, 1] to another one (initialised)."""
    return init_dcgan(nn.Sequential(
        cycle_stem(channels), cycle_trunk(channels, num_res, dropout),       # (c, 28, 28)
        nn.Conv2d(channels, 1, 3, 1, 1), nn.Tanh()))                         # (1, 28, 28)


class DualUNet(nn.Module):
    """cycle_G's layers plus two skips: the stem's features join the trunk's, and the
    output is a change to the input image, tanh(atanh(0.9 x) + f(x))."""

    def __init__(self, channels=16, num_res=2, dropout=0.2):
        super().__init__()
        self.stem = cycle_stem(channels)
        self.trunk = cycle_trunk(channels, num_res, dropout)
        self.head = nn.Conv2d(2 * channels, 1, 3, 1, 1)

    def forward(self, X):
        E = self.stem(X)                                           # (c, 28, 28)
        change = self.head(torch.cat([E, self.trunk(E)], dim=1))  # skip: (2c, 28, 28)
        return torch.tanh(torch.atanh(0.9 * X) + change)            # f = 0: 0.9 x


def dual_G(channels=16, num_res=2, dropout=0.2):
    """DualGAN's generator: a small U-Net with dropout in its residual blocks."""
    return init_dcgan(DualUNet(channels, num_res, dropout))


def patch_D(channels=16, norm=True):
    """A 28x28 image to a 7x7 grid of scores, one per 18x18 patch (no sigmoid)."""
    c = channels
    return init_dcgan(nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),                     # (c, 14, 14)
        nn.Conv2d(c, 2 * c, 4, 2, 1, bias=not norm),                     # (2c, 7, 7)
        *([nn.BatchNorm2d(2 * c)] if norm else []),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * c, 1, 3, 1, 1)))                                   # (1, 7, 7)


# Defined in chapters/06_cyclegan_dualgan.md
def update_cycle_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, lambda_cycle,
                   lambda_identity):
    """One step of both generators on CycleGAN's loss; returns it and the translations."""
    trainer_G.zero_grad()
    fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    loss_gan = ((D_B(fake_B) - 1) ** 2).mean() + ((D_A(fake_A) - 1) ** 2).mean()
    loss_cycle = ((G_BA(fake_B) - real_A).abs().mean()
                  + (G_AB(fake_A) - real_B).abs().mean())
    loss_identity = ((G_AB(real_B) - real_B).abs().mean()
                     + (G_BA(real_A) - real_A).abs().mean())
    loss_G = loss_gan + lambda_cycle * loss_cycle + lambda_identity * loss_identity
    loss_G.backward()
    trainer_G.step()
    return loss_G.detach(), fake_A.detach(), fake_B.detach()


def update_cycle_D(real_A, real_B, fake_A, fake_B, D_A, D_B, trainer_D):
    """One least-squares step of both discriminators: real to 1, translated to 0."""
    trainer_D.zero_grad()  # also clears what update_cycle_G left in D's gradients
    loss_D = 0.5 * (((D_A(real_A) - 1) ** 2).mean() + (D_A(fake_A) ** 2).mean()
                    + ((D_B(real_B) - 1) ** 2).mean() + (D_B(fake_B) ** 2).mean())
    loss_D.backward()
    trainer_D.step()
    return loss_D.detach()


# Defined in chapters/06_cyclegan_dualgan.md
def update_dual_D(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_D, clip):
    """One step of both Wasserstein critics, then clip their weights into [-clip, clip]."""
    with torch.no_grad():
        fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    trainer_D.zero_grad()
    loss_D = (D_A(fake_A).mean() - D_A(real_A).mean()
              + D_B(fake_B).mean() - D_B(real_B).mean())
    loss_D.backward()
    trainer_D.step()
    with torch.no_grad():
        for net in (D_A, D_B):
            for param in net.parameters():
                param.clamp_(-clip, clip)
    return loss_D.detach()


def update_dual_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, lambda_rec):
    """One step of both generators: fool the critics and reconstruct the input."""
    trainer_G.zero_grad()
    fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    loss_rec = ((G_BA(fake_B) - real_A).abs().mean()
                + (G_AB(fake_A) - real_B).abs().mean())
    loss_G = -D_B(fake_B).mean() - D_A(fake_A).mean() + lambda_rec * loss_rec
    loss_G.backward()
    trainer_G.step()
    return loss_G.detach()

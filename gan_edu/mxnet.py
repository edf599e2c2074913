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
def init_glorot(net):
    """Glorot-uniform weights and zero biases for every dense layer of `net`."""
    net.initialize(init.Xavier(rnd_type="uniform", factor_type="avg", magnitude=3),
                   force_reinit=True)  # Gluon initialises biases with zeros


# Defined in chapters/01_first_gan.md
def toy_nets(latent_dim):
    """Chapter 1's linear generator and 5-3-1 tanh discriminator (returning a logit),
    initialised by init_glorot and hybridized."""
    net_G = nn.HybridSequential()
    net_G.add(nn.Dense(2, in_units=latent_dim))
    net_D = nn.HybridSequential()
    net_D.add(nn.Dense(5, activation="tanh", in_units=2),
              nn.Dense(3, activation="tanh", in_units=5),
              nn.Dense(1, in_units=3))
    for net in (net_G, net_D):
        init_glorot(net)
        net.hybridize()
    return net_G, net_D


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


# Defined in chapters/01_first_gan.md
class LinearDecay(mx.lr_scheduler.LRScheduler):
    """Learning rate constant for the first `start` updates, then falling linearly to 0
    at update `steps` (MXNet counts updates from 1)."""

    def __init__(self, base_lr, steps, start=0):
        super().__init__(base_lr)
        self.steps, self.start = steps, start

    def __call__(self, num_update):
        decayed = (num_update - 1 - self.start) / (self.steps - self.start)
        return self.base_lr * min(1.0, max(0.0, 1 - decayed))


# Defined in chapters/02_gan_theory.md
def toy_mlp(in_dim, hidden, out_dim):
    """Chapter 2's toy networks: tanh layers of the widths in `hidden`, then a linear one."""
    net = nn.HybridSequential()
    for width in hidden:
        net.add(nn.Dense(width, activation="tanh", in_units=in_dim))
        in_dim = width
    net.add(nn.Dense(out_dim, in_units=in_dim))
    init_glorot(net)
    net.hybridize()
    return net


# Defined in chapters/02_gan_theory.md
def update_G_saturating(Z, net_D, net_G, loss, trainer_G):
    """One generator step on the minimax game's saturating loss log(1 - D(G(z)))."""
    zeros = nd.zeros((Z.shape[0], 1), ctx=Z.context)
    with autograd.record():
        loss_G = -loss(net_D(net_G(Z)), zeros)  # BCE against label 0 is -log(1 - D)
    loss_G.backward()
    trainer_G.step(Z.shape[0])
    return loss_G.mean()


# Defined in chapters/02_gan_theory.md
def predict(net, *arrays, batch_size=500, device=None):
    """net(*arrays) in inference mode (batch norm's running statistics, no dropout), in
    batches of numpy arrays on `device` (default: the network's), as a numpy array."""
    device = device or list(net.collect_params().values())[0].list_ctx()[0]
    with autograd.pause():  # not recorded, so in inference mode
        return nd.concat(*[net(*(nd.array(a[i:i + batch_size], ctx=device) for a in arrays))
                           for i in range(0, len(arrays[0]), batch_size)], dim=0).asnumpy()


# Defined in chapters/02_gan_theory.md
class Maxout(nn.HybridBlock):
    """`units` maxout units, each the max of `pieces` linear functions of the input."""

    def __init__(self, in_features, units, pieces, **kwargs):
        super().__init__(**kwargs)
        self.units, self.pieces = units, pieces
        self.linear = nn.Dense(units * pieces, in_units=in_features)

    def hybrid_forward(self, F, X):
        # (n, units * pieces) -> (n, units, pieces) -> (n, units)
        return F.max(F.reshape(self.linear(X), shape=(-1, self.units, self.pieces)), axis=2)


# Defined in chapters/02_gan_theory.md
def mlp_G(latent_dim):
    """Chapter 2's fully connected generator: z -> 784 pixels in [0, 1]."""
    net = nn.HybridSequential()
    net.add(nn.Dense(256, in_units=latent_dim),
            nn.BatchNorm(momentum=0.9, epsilon=1e-5, in_channels=256),
            nn.Activation("relu"),                                        # (n, 256)
            nn.Dense(512, in_units=256),
            nn.BatchNorm(momentum=0.9, epsilon=1e-5, in_channels=512),
            nn.Activation("relu"),                                        # (n, 512)
            nn.Dense(784, activation="sigmoid", in_units=512))            # (n, 784)
    init_glorot(net)
    net.hybridize()
    return net


def maxout_D():
    """Chapter 2's maxout discriminator with dropout: 784 pixels -> a logit."""
    net = nn.HybridSequential()
    net.add(nn.Dropout(0.2), Maxout(784, 128, 4),                         # (n, 128)
            nn.Dropout(0.5), Maxout(128, 128, 4),                         # (n, 128)
            nn.Dropout(0.5), nn.Dense(1, in_units=128))                   # (n, 1)
    init_glorot(net)
    net.hybridize()
    return net


# Defined in chapters/03_dcgan.md
def init_dcgan(net, device=None):
    """DCGAN's initialisation: weights N(0, 0.02^2), biases 0, batch norm gamma 1, beta 0."""
    net.initialize(mx.init.Normal(0.02), ctx=device or mx.cpu(), force_reinit=True)
    return net


# Defined in chapters/03_dcgan.md
def batch_norm(channels=0):
    """Gluon batch norm with the book's settings: momentum 0.9, epsilon 1e-5 (chapter 3)."""
    return nn.BatchNorm(momentum=0.9, epsilon=1e-5, in_channels=channels)


class Reshape(nn.HybridBlock):
    """(N, ...) -> (N, *shape): features into maps (chapter 3)."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = tuple(shape)

    def hybrid_forward(self, F, X):
        X = F.reshape(X, (0,) + self.shape)  # 0: keep the batch axis
        # A copy, not a view (transpose with unchanged axes only copies): oneDNN cannot
        # pass the gradient back into a view of batch norm's output ("!is_view").
        return F.transpose(X, axes=tuple(range(1 + len(self.shape))))


# Defined in chapters/03_dcgan.md
class OneChannelConv2DTranspose(nn.Conv2DTranspose):
    """Conv2DTranspose to one channel (with a bias), trainable on MXNet's oneDNN backend
    (chapter 3)."""
    extra = 7  # zero channels that make the input gradient computable: 8 in all

    def hybrid_forward(self, F, X, weight, bias):
        Y = F.Deconvolution(F.BlockGrad(X), weight, bias, **self._kwargs)
        weight, bias = F.BlockGrad(weight), F.BlockGrad(bias)
        zeros = F.zeros_like(F.repeat(weight, repeats=self.extra, axis=1))  # weight's dtype
        no_bias = F.zeros_like(F.repeat(bias, repeats=self.extra, axis=0))
        wide = F.Deconvolution(X, F.concat(weight, zeros, dim=1),
                               F.concat(bias, no_bias, dim=0),
                               **dict(self._kwargs, num_filter=1 + self.extra))
        wide = F.slice_axis(wide, axis=1, begin=0, end=1)
        return Y + (wide - F.BlockGrad(wide))  # Y's value; X's gradient through `wide`


# Defined in chapters/03_dcgan.md
def dcgan_G(latent_dim):
    """DCGAN's generator for 28x28 digits (chapter 3): z -> images in [-1, 1]."""
    net = nn.HybridSequential()
    net.add(nn.Dense(256, use_bias=False, in_units=latent_dim),
            batch_norm(256), nn.Activation("relu"),
            nn.Dense(64 * 7 * 7, use_bias=False, in_units=256), Reshape((64, 7, 7)),
            batch_norm(64), nn.Activation("relu"),                    # (64, 7, 7)
            nn.Conv2DTranspose(32, kernel_size=4, strides=2, padding=1, use_bias=False,
                               in_channels=64),
            batch_norm(32), nn.Activation("relu"),                    # (32, 14, 14)
            OneChannelConv2DTranspose(1, kernel_size=4, strides=2, padding=1,
                                      in_channels=32),
            nn.Activation("tanh"))                                    # (1, 28, 28)
    init_dcgan(net).hybridize(static_alloc=True, static_shape=True)
    return net


# Defined in chapters/03_dcgan.md
def dcgan_D_body():
    """DCGAN's discriminator up to its 256 features (chapter 3)."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(32, kernel_size=4, strides=2, padding=1, in_channels=1),
            nn.LeakyReLU(0.2),                                        # (32, 14, 14)
            nn.Conv2D(64, kernel_size=4, strides=2, padding=1, use_bias=False,
                      in_channels=32),
            batch_norm(64), nn.LeakyReLU(0.2),                        # (64, 7, 7)
            nn.Flatten(), nn.Dense(256, use_bias=False, in_units=64 * 7 * 7),
            batch_norm(256), nn.LeakyReLU(0.2))                       # (256)
    return net


def dcgan_D():
    """DCGAN's discriminator (chapter 3): images -> one logit; net_D[0] is the body."""
    net = nn.HybridSequential()
    net.add(dcgan_D_body(), nn.Dense(1, in_units=256))
    init_dcgan(net).hybridize(static_alloc=True, static_shape=True)
    return net


# Defined in chapters/03_dcgan.md
def update_ema(net_ema, net, decay):
    """Each weight and batch-norm statistic of net_ema <- decay * itself + (1 - decay) *
    net's (chapter 3); decay=0 copies net."""
    for average, value in zip(net_ema.collect_params().values(),
                              net.collect_params().values()):
        data = average.data()  # in place: the array that the compiled network reads
        data *= decay
        data += (1 - decay) * value.data()


# Defined in chapters/04_conditional_gan.md
class CganGenerator(nn.HybridBlock):
    """G(z, y): the one-hot label joined to the noise at the input."""

    def __init__(self, latent_dim, num_classes=10, nf=32, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.HybridSequential()
        self.net.add(
            nn.Dense(2 * nf * 7 * 7, use_bias=False, in_units=latent_dim + num_classes),
            batch_norm(2 * nf * 7 * 7), nn.Activation("relu"),
            Reshape((2 * nf, 7, 7)),  # a copy: oneDNN needs one after batch norm (chapter 3)
            nn.Conv2DTranspose(nf, 4, 2, 1, use_bias=False, in_channels=2 * nf),
            batch_norm(nf), nn.Activation("relu"),                      # (nf, 14, 14)
            OneChannelConv2DTranspose(1, 4, 2, 1, in_channels=nf),  # chapter 3's
            nn.Activation("tanh"))                                      # (1, 28, 28)

    def hybrid_forward(self, F, Z, Y):
        return self.net(F.concat(Z, Y, dim=1))


class CganDiscriminator(nn.HybridBlock):
    """D(x, y): a label-free logit plus the projection of the features on y's embedding."""

    def __init__(self, num_classes=10, nf=32, **kwargs):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential()
        self.body.add(
            nn.Conv2D(nf, 4, 2, 1, in_channels=1),                       # (nf, 14, 14)
            nn.LeakyReLU(0.2),
            nn.Conv2D(2 * nf, 4, 2, 1, use_bias=False, in_channels=nf),  # (2nf, 7, 7)
            batch_norm(2 * nf), nn.LeakyReLU(0.2), nn.Flatten())         # features phi(x)
        self.embed = nn.Dense(2 * nf * 7 * 7, use_bias=False, in_units=num_classes)
        self.out = nn.Dense(1, in_units=2 * nf * 7 * 7)

    def hybrid_forward(self, F, X, Y):
        features = self.body(X)
        return self.out(features) + F.sum(self.embed(Y) * features, axis=1, keepdims=True)


def cgan_G(latent_dim, num_classes=10, nf=32):
    """The chapter's conditional generator, initialised and hybridized."""
    net = init_dcgan(CganGenerator(latent_dim, num_classes, nf))
    net.hybridize()
    return net


def cgan_D(num_classes=10, nf=32):
    """The chapter's conditional discriminator, initialised and hybridized."""
    net = init_dcgan(CganDiscriminator(num_classes, nf))
    net.hybridize()
    return net


# Defined in chapters/04_conditional_gan.md
def update_D_cond(X, Y, Z, Y_wrong, net_D, net_G, loss, trainer_D):
    """One step of the matching-aware D: (x, y) is real; (G(z, y), y), (x, wrong y) fake."""
    ones = nd.ones((X.shape[0], 1), ctx=X.context)
    zeros = nd.zeros((X.shape[0], 1), ctx=X.context)
    with autograd.record():
        real = net_D(X, Y)
        fake = net_D(net_G(Z, Y).detach(), Y)  # no gradient for the generator here
        wrong = net_D(X, Y_wrong)
        loss_D = (loss(real, ones) + (loss(fake, zeros) + loss(wrong, zeros)) / 2) / 2
    loss_D.backward()
    trainer_D.step(X.shape[0])  # the losses are per example: average their gradients
    return loss_D.mean()


def update_G_cond(Z, Y, net_D, net_G, loss, trainer_G):
    """One generator step: generated pairs labelled 1 (the non-saturating loss)."""
    ones = nd.ones((Z.shape[0], 1), ctx=Z.context)
    with autograd.record():
        loss_G = loss(net_D(net_G(Z, Y), Y), ones)
    loss_G.backward()
    trainer_G.step(Z.shape[0])
    return loss_G.mean()


# Defined in chapters/05_infogan.md
def info_G(latent_dim=74, conv=(32, 64), fc=256):
    """InfoGAN's MNIST generator (Chen et al., 2016); the paper: conv=(64, 128), fc=1024."""
    c1, c2 = conv
    net = nn.HybridSequential()
    net.add(nn.Dense(fc, in_units=latent_dim, use_bias=False),
            batch_norm(fc), nn.Activation("relu"),                              # (fc,)
            nn.Dense(c2 * 7 * 7, in_units=fc, use_bias=False), Reshape((c2, 7, 7)),
            batch_norm(c2), nn.Activation("relu"),                              # (c2, 7, 7)
            nn.Conv2DTranspose(c1, 4, 2, 1, in_channels=c2, use_bias=False),
            batch_norm(c1), nn.Activation("relu"),                              # (c1, 14, 14)
            OneChannelConv2DTranspose(1, 4, 2, 1, in_channels=c1),
            nn.Activation("tanh"))                                              # (1, 28, 28)
    net.hybridize()  # not static_alloc: see "How the three versions differ"
    return init_dcgan(net)


# Defined in chapters/05_infogan.md
def info_D_body(conv=(32, 64), fc=256, slope=0.1):
    """The body that InfoGAN's D and Q share: two strided convolutions and a dense layer."""
    c1, c2 = conv
    net = nn.HybridSequential()
    net.add(nn.Conv2D(c1, 4, 2, 1, in_channels=1), nn.LeakyReLU(slope),         # (c1, 14, 14)
            nn.Conv2D(c2, 4, 2, 1, in_channels=c1, use_bias=False),
            batch_norm(c2), nn.LeakyReLU(slope),                                # (c2, 7, 7)
            nn.Dense(fc, in_units=c2 * 7 * 7, use_bias=False),
            batch_norm(fc), nn.LeakyReLU(slope))                                # (fc,)
    return init_dcgan(net)


def info_D_head(fc=256):
    """D's head: the real-vs-generated logit."""
    return init_dcgan(nn.Dense(1, in_units=fc))                                 # (1,)


def info_Q_head(fc=256, q_hidden=128, num_outputs=12, slope=0.1):
    """Q's head: the categorical code's logits, then the continuous codes' means."""
    net = nn.HybridSequential()
    net.add(nn.Dense(q_hidden, in_units=fc, use_bias=False),
            batch_norm(q_hidden), nn.LeakyReLU(slope),                          # (q_hidden,)
            nn.Dense(num_outputs, in_units=q_hidden))                           # (num_outputs,)
    return init_dcgan(net)


def info_nets(latent_dim=74, conv=(32, 64), fc=256, q_hidden=128, num_outputs=12, slope=0.1):
    """(net_G, net_D, net_Q) of InfoGAN, initialised; net_D and net_Q share one body."""
    body = info_D_body(conv, fc, slope)
    net_D, net_Q = nn.HybridSequential(), nn.HybridSequential()
    net_D.add(body, info_D_head(fc))
    net_Q.add(body, info_Q_head(fc, q_hidden, num_outputs, slope))
    for net in (net_D, net_Q):
        net.hybridize()  # not static_alloc: see "How the three versions differ"
    return info_G(latent_dim, conv, fc), net_D, net_Q


# Defined in chapters/05_infogan.md
def info_inputs(batch_size, noise_dim=62, num_classes=10, num_cont=2, device=None):
    """(G's input, c_cat, c_cont): z ~ N(0, I), c_cat uniform, c_cont ~ U(-1, 1)."""
    device = device or mx.cpu()
    noise = nd.random.normal(0, 1, shape=(batch_size, noise_dim), ctx=device)
    c_cat = nd.random.randint(0, num_classes, shape=(batch_size,), ctx=device)
    c_cont = nd.random.uniform(-1, 1, shape=(batch_size, num_cont), ctx=device)
    one_hot = nd.one_hot(c_cat, num_classes)
    return nd.concat(noise, one_hot, c_cont, dim=1), c_cat, c_cont


def info_loss(Q_out, c_cat, c_cont, lambda_cat, lambda_cont):
    """L_I per example: -log Q(c | x), categorical (from logits) and unit-variance Gaussians."""
    k = Q_out.shape[1] - c_cont.shape[1]     # the first k outputs are c_cat's logits
    logits, means = nd.slice_axis(Q_out, 1, 0, k), nd.slice_axis(Q_out, 1, k, None)
    nll_cat = gluon.loss.SoftmaxCrossEntropyLoss()(logits, c_cat)  # log-softmax inside
    nll_cont = 0.5 * ((means - c_cont) ** 2).sum(axis=1)
    return lambda_cat * nll_cat + lambda_cont * nll_cont


# Defined in chapters/05_infogan.md
def update_info_D(X, Z, c_cat, c_cont, net_D, net_Q, net_G, loss, trainer_D,
                  lambda_cat, lambda_cont):
    """D's step on its cross-entropy plus L_I: the body and both heads learn."""
    ones = nd.ones((X.shape[0], 1), ctx=X.context)
    zeros = nd.zeros((X.shape[0], 1), ctx=X.context)
    with autograd.record():
        real_Y = net_D(X)
        features = net_D[0](net_G(Z).detach())  # no gradient for the generator here
        loss_D = (loss(real_Y, ones) + loss(net_D[1](features), zeros)) / 2
        loss_I = info_loss(net_Q[1](features), c_cat, c_cont, lambda_cat, lambda_cont)
        total = loss_D + loss_I
    total.backward()
    trainer_D.step(X.shape[0])  # the losses are per example: average their gradients
    return loss_D.mean()


def update_info_G(Z, c_cat, c_cont, net_D, net_Q, net_G, loss, trainer_G,
                  lambda_cat, lambda_cont):
    """G's step on its non-saturating loss plus L_I; returns (loss_G, loss_I)."""
    ones = nd.ones((Z.shape[0], 1), ctx=Z.context)
    with autograd.record():
        features = net_D[0](net_G(Z))  # the shared body, run once for both heads
        loss_G = loss(net_D[1](features), ones)
        loss_I = info_loss(net_Q[1](features), c_cat, c_cont, lambda_cat, lambda_cont)
        total = loss_G + loss_I
    total.backward()
    trainer_G.step(Z.shape[0])
    return loss_G.mean(), loss_I.mean()


# Defined in chapters/06_cyclegan_dualgan.md
class CycleResidual(nn.HybridBlock):
    """x + F(x), F = conv-norm-ReLU(-dropout)-conv-norm: the generators' residual block."""

    def __init__(self, channels, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential()
        self.body.add(nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=channels),
                      batch_norm(channels), nn.Activation("relu"))
        if dropout:
            self.body.add(nn.Dropout(dropout))
        self.body.add(nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=channels),
                      batch_norm(channels))

    def hybrid_forward(self, F, X):
        return X + self.body(X)


class Upsample(nn.HybridBlock):
    """Nearest-neighbour upsampling by a factor of 2."""

    def hybrid_forward(self, F, X):
        return F.UpSampling(X, scale=2, sample_type="nearest")


def cycle_upsample(channels):
    """(2c, 14, 14) -> (c, 28, 28): nearest-neighbour upsampling, then a 3x3 conv."""
    c = channels
    net = nn.HybridSequential()
    net.add(Upsample(),                                                      # (2c, 28, 28)
            nn.Conv2D(c, 3, 1, 1, use_bias=False, in_channels=2 * c),
            batch_norm(c), nn.Activation("relu"))
    return net


def cycle_stem(channels):
    """A 28x28 image -> (c, 28, 28) features: a 3x3 conv."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=1),
            batch_norm(channels), nn.Activation("relu"))
    return net


def cycle_trunk(channels, num_res, dropout):
    """(c, 28, 28) -> (c, 28, 28): a strided 4x4 conv, residual blocks, upsampling."""
    c = channels
    net = nn.HybridSequential()
    net.add(nn.Conv2D(2 * c, 4, 2, 1, use_bias=False, in_channels=c),        # (2c, 14, 14)
            batch_norm(2 * c), nn.Activation("relu"))
    for _ in range(num_res):
        net.add(CycleResidual(2 * c, dropout))
    net.add(cycle_upsample(c))                                               # (c, 28, 28)
    return net


# Defined in chapters/06_cyclegan_dualgan.md
def cycle_G(channels=16, num_res=2, dropout=0.0):
    """Stem, trunk and a 3x3 conv: a 28x28 image in [-1, 1] to another one (initialised)."""
    net = nn.HybridSequential()
    net.add(cycle_stem(channels), cycle_trunk(channels, num_res, dropout),   # (c, 28, 28)
            nn.Conv2D(1, 3, 1, 1, in_channels=channels), nn.Activation("tanh"))  # (1, 28, 28)
    init_dcgan(net).hybridize()
    return net


class DualUNet(nn.HybridBlock):
    """cycle_G's layers plus two skips: the stem's features join the trunk's, and the
    output is a change to the input image, tanh(atanh(0.9 x) + f(x))."""

    def __init__(self, channels=16, num_res=2, dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.stem = cycle_stem(channels)
        self.trunk = cycle_trunk(channels, num_res, dropout)
        self.head = nn.Conv2D(1, 3, 1, 1, in_channels=2 * channels)

    def hybrid_forward(self, F, X):
        E = self.stem(X)                                         # (c, 28, 28)
        change = self.head(F.concat(E, self.trunk(E), dim=1))  # skip: (2c, 28, 28)
        return F.tanh(F.arctanh(0.9 * X) + change)               # f = 0: 0.9 x


def dual_G(channels=16, num_res=2, dropout=0.2):
    """DualGAN's generator: a small U-Net with dropout in its residual blocks."""
    net = DualUNet(channels, num_res, dropout)
    init_dcgan(net).hybridize()
    return net


def patch_D(channels=16, norm=True):
    """A 28x28 image to a 7x7 grid of scores, one per 18x18 patch (no sigmoid)."""
    c = channels
    net = nn.HybridSequential()
    net.add(nn.Conv2D(c, 4, 2, 1, in_channels=1), nn.LeakyReLU(0.2),        # (c, 14, 14)
            nn.Conv2D(2 * c, 4, 2, 1, use_bias=not norm, in_channels=c))   # (2c, 7, 7)
    if norm:
        net.add(batch_norm(2 * c))
    net.add(nn.LeakyReLU(0.2),
            nn.Conv2D(1, 3, 1, 1, in_channels=2 * c))                      # (1, 7, 7)
    init_dcgan(net).hybridize()
    return net


# Defined in chapters/06_cyclegan_dualgan.md
def update_cycle_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, lambda_cycle,
                   lambda_identity):
    """One step of both generators on CycleGAN's loss; returns it and the translations."""
    with autograd.record():
        fake_B, fake_A = G_AB(real_A), G_BA(real_B)
        loss_gan = ((D_B(fake_B) - 1) ** 2).mean() + ((D_A(fake_A) - 1) ** 2).mean()
        loss_cycle = ((G_BA(fake_B) - real_A).abs().mean()
                      + (G_AB(fake_A) - real_B).abs().mean())
        loss_identity = ((G_AB(real_B) - real_B).abs().mean()
                         + (G_BA(real_A) - real_A).abs().mean())
        loss_G = loss_gan + lambda_cycle * loss_cycle + lambda_identity * loss_identity
    loss_G.backward()
    trainer_G.step(1)  # the loss is a mean already
    return loss_G, fake_A.detach(), fake_B.detach()


def update_cycle_D(real_A, real_B, fake_A, fake_B, D_A, D_B, trainer_D):
    """One least-squares step of both discriminators: real to 1, translated to 0."""
    with autograd.record():
        loss_D = 0.5 * (((D_A(real_A) - 1) ** 2).mean() + (D_A(fake_A) ** 2).mean()
                        + ((D_B(real_B) - 1) ** 2).mean() + (D_B(fake_B) ** 2).mean())
    loss_D.backward()
    trainer_D.step(1)
    return loss_D


# Defined in chapters/06_cyclegan_dualgan.md
def update_dual_D(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_D, clip):
    """One step of both Wasserstein critics, then clip their weights into [-clip, clip]."""
    with autograd.train_mode():  # dropout on, no gradient recorded
        fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    with autograd.record():
        loss_D = (D_A(fake_A).mean() - D_A(real_A).mean()
                  + D_B(fake_B).mean() - D_B(real_B).mean())
    loss_D.backward()
    trainer_D.step(1)
    for net in (D_A, D_B):
        for param in net.collect_params().values():
            param.set_data(param.data().clip(-clip, clip))
    return loss_D


def update_dual_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, lambda_rec):
    """One step of both generators: fool the critics and reconstruct the input."""
    with autograd.record():
        fake_B, fake_A = G_AB(real_A), G_BA(real_B)
        loss_rec = ((G_BA(fake_B) - real_A).abs().mean()
                    + (G_AB(fake_A) - real_B).abs().mean())
        loss_G = -D_B(fake_B).mean() - D_A(fake_A).mean() + lambda_rec * loss_rec
    loss_G.backward()
    trainer_G.step(1)
    return loss_G

"""TensorFlow (Keras 3) building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import keras
import tensorflow as tf

from gan_edu import Accumulator, Timer, scale, seed  # noqa: F401  (the chapters use ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401

# Whether the chapters compile their training steps with XLA: a compile takes seconds and
# pays for itself over a chapter's thousands of steps, not over the smoke scale's few.
XLA = scale() != "smoke"


def try_gpu(i=0):
    """The name of the i-th GPU if there is one, else of the CPU (for `tf.device`)."""
    if len(tf.config.list_physical_devices("GPU")) > i:
        return f"/GPU:{i}"
    return "/CPU:0"


# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----


# Defined in chapters/01_first_gan.md
def load_array(arrays, batch_size, is_train=True):
    """Minibatches of numpy arrays through tf.data, reshuffled every epoch."""
    dataset = tf.data.Dataset.from_tensor_slices(tuple(arrays))
    if is_train:
        dataset = dataset.shuffle(len(arrays[0]), reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=is_train).prefetch(tf.data.AUTOTUNE)


# Defined in chapters/01_first_gan.md
def init_glorot(net):
    """Glorot-uniform weights and zero biases for every dense layer of `net`."""
    for layer in net.layers:  # Keras' defaults already, but the book states them
        layer.kernel.assign(keras.initializers.GlorotUniform()(layer.kernel.shape))
        layer.bias.assign(tf.zeros_like(layer.bias))


# Defined in chapters/01_first_gan.md
def toy_nets(latent_dim):
    """Chapter 1's linear generator and 5-3-1 tanh discriminator (returning a logit),
    initialised by init_glorot."""
    net_G = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(2)])
    net_D = keras.Sequential([keras.Input((2,)),
                              keras.layers.Dense(5, activation="tanh"),
                              keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Dense(1)])
    for net in (net_G, net_D):
        init_glorot(net)
    return net_G, net_D


# Defined in chapters/01_first_gan.md
@tf.function
def update_D(X, Z, net_D, net_G, loss, trainer_D):
    """One discriminator step: real examples labelled 1, generated ones 0."""
    ones = tf.ones((tf.shape(X)[0], 1))
    zeros = tf.zeros((tf.shape(X)[0], 1))
    fake_X = net_G(Z, training=True)  # outside the tape: no gradient for the generator
    with tf.GradientTape() as tape:
        real_Y = net_D(X, training=True)
        fake_Y = net_D(fake_X, training=True)
        loss_D = (loss(ones, real_Y) + loss(zeros, fake_Y)) / 2
    grads = tape.gradient(loss_D, net_D.trainable_variables)
    trainer_D.apply_gradients(zip(grads, net_D.trainable_variables))
    return loss_D


@tf.function
def update_G(Z, net_D, net_G, loss, trainer_G):
    """One generator step: generated examples labelled 1 (the non-saturating loss)."""
    ones = tf.ones((tf.shape(Z)[0], 1))
    with tf.GradientTape() as tape:
        loss_G = loss(ones, net_D(net_G(Z, training=True), training=True))
    grads = tape.gradient(loss_G, net_G.trainable_variables)
    trainer_G.apply_gradients(zip(grads, net_G.trainable_variables))
    return loss_G


# Defined in chapters/02_gan_theory.md
def toy_mlp(in_dim, hidden, out_dim):
    """Chapter 2's toy networks: tanh layers of the widths in `hidden`, then a linear one."""
    glorot = dict(kernel_initializer="glorot_uniform", bias_initializer="zeros")
    return keras.Sequential([keras.Input((in_dim,))]
                            + [keras.layers.Dense(width, activation="tanh", **glorot)
                               for width in hidden]
                            + [keras.layers.Dense(out_dim, **glorot)])


# Defined in chapters/02_gan_theory.md
@tf.function
def update_G_saturating(Z, net_D, net_G, loss, trainer_G):
    """One generator step on the minimax game's saturating loss log(1 - D(G(z)))."""
    zeros = tf.zeros((tf.shape(Z)[0], 1))
    with tf.GradientTape() as tape:
        # BCE against label 0 is -log(1 - D)
        loss_G = -loss(zeros, net_D(net_G(Z, training=True), training=True))
    grads = tape.gradient(loss_G, net_G.trainable_variables)
    trainer_G.apply_gradients(zip(grads, net_G.trainable_variables))
    return loss_G


# Defined in chapters/02_gan_theory.md
def predict(net, *arrays, batch_size=500, device=None):
    """net(*arrays) in inference mode (batch norm's running statistics, no dropout), in
    batches of numpy arrays on `device` (e.g. "/CPU:0"; default: TensorFlow's choice),
    as a numpy array. A network with several inputs takes them as a list."""
    with tf.device(device):
        return tf.concat([net([a[i:i + batch_size] for a in arrays] if len(arrays) > 1
                              else arrays[0][i:i + batch_size], training=False)
                          for i in range(0, len(arrays[0]), batch_size)], axis=0).numpy()


# Defined in chapters/02_gan_theory.md
class Maxout(keras.layers.Layer):
    """`units` maxout units, each the max of `pieces` linear functions of the input."""

    def __init__(self, in_features, units, pieces, **kwargs):
        super().__init__(**kwargs)
        self.in_features, self.units, self.pieces = in_features, units, pieces
        self.linear = keras.layers.Dense(units * pieces, kernel_initializer="glorot_uniform",
                                         bias_initializer="zeros")

    def build(self, input_shape):
        self.linear.build((None, self.in_features))

    def call(self, X):
        # (n, units * pieces) -> (n, units, pieces) -> (n, units)
        return tf.reduce_max(tf.reshape(self.linear(X), (-1, self.units, self.pieces)), axis=2)


# Defined in chapters/02_gan_theory.md
def mlp_G(latent_dim):
    """Chapter 2's fully connected generator: z -> 784 pixels in [0, 1]."""
    glorot = dict(kernel_initializer="glorot_uniform", bias_initializer="zeros")
    bn = dict(momentum=0.9, epsilon=1e-5)
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(256, **glorot), keras.layers.BatchNormalization(**bn),
        keras.layers.ReLU(),                                               # (n, 256)
        keras.layers.Dense(512, **glorot), keras.layers.BatchNormalization(**bn),
        keras.layers.ReLU(),                                               # (n, 512)
        keras.layers.Dense(784, activation="sigmoid", **glorot)])          # (n, 784)


def maxout_D():
    """Chapter 2's maxout discriminator with dropout: 784 pixels -> a logit."""
    return keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dropout(0.2), Maxout(784, 128, 4),                    # (n, 128)
        keras.layers.Dropout(0.5), Maxout(128, 128, 4),                    # (n, 128)
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, kernel_initializer="glorot_uniform",
                           bias_initializer="zeros")])                     # (n, 1)


# Defined in chapters/03_dcgan.md
def init_dcgan(net):
    """DCGAN's initialisation: weights N(0, 0.02^2), biases 0, batch norm gamma 1, beta 0."""
    for v in net.weights:
        name = v.path.rsplit("/", 1)[-1]
        if name == "kernel":
            v.assign(tf.random.normal(v.shape, 0.0, 0.02))
        elif name in ("gamma", "moving_variance"):
            v.assign(tf.ones(v.shape))
        else:  # bias, beta, moving_mean
            v.assign(tf.zeros(v.shape))
    return net


# Defined in chapters/03_dcgan.md
def batch_norm():
    """Keras batch norm with the book's settings: momentum 0.9, epsilon 1e-5 (chapter 3)."""
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


def dcgan_G(latent_dim):
    """DCGAN's generator for 28x28 digits (chapter 3): z -> images in [-1, 1], NHWC."""
    layers = keras.layers
    return init_dcgan(keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(256, use_bias=False), batch_norm(), layers.ReLU(),
        layers.Dense(64 * 7 * 7, use_bias=False),
        layers.Reshape((64, 7, 7)), layers.Permute((2, 3, 1)),   # (C, H, W) -> (H, W, C)
        batch_norm(), layers.ReLU(),                                  # (7, 7, 64)
        layers.Conv2DTranspose(32, kernel_size=4, strides=2, padding="same",
                               use_bias=False),
        batch_norm(), layers.ReLU(),                                  # (14, 14, 32)
        layers.Conv2DTranspose(1, kernel_size=4, strides=2, padding="same"),
        layers.Activation("tanh")]))                                  # (28, 28, 1)


# Defined in chapters/03_dcgan.md
def dcgan_D_body():
    """DCGAN's discriminator up to its 256 features (chapter 3)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),                         # (14, 14, 32)
        layers.Conv2D(64, kernel_size=4, strides=2, padding="same", use_bias=False),
        batch_norm(), layers.LeakyReLU(negative_slope=0.2),           # (7, 7, 64)
        layers.Permute((3, 1, 2)), layers.Flatten(),                  # (C, H, W) order
        layers.Dense(256, use_bias=False),
        batch_norm(), layers.LeakyReLU(negative_slope=0.2)])          # (256)


def dcgan_D():
    """DCGAN's discriminator (chapter 3): images -> one logit; layers[0] is the body."""
    return init_dcgan(keras.Sequential([keras.Input((28, 28, 1)), dcgan_D_body(),
                                        keras.layers.Dense(1)]))


# Defined in chapters/03_dcgan.md
def update_ema(net_ema, net, decay):
    """Each weight and batch-norm statistic of net_ema <- decay * itself + (1 - decay) *
    net's (chapter 3); decay=0 copies net."""
    for average, value in zip(net_ema.weights, net.weights):
        average.assign(decay * average + (1 - decay) * value)


# Defined in chapters/04_conditional_gan.md
def cgan_G(latent_dim, num_classes=10, nf=32):
    """G(z, y): the one-hot label joined to the noise at the input; initialised."""
    Z, Y = keras.Input((latent_dim,)), keras.Input((num_classes,))
    h = keras.layers.Concatenate()([Z, Y])
    h = keras.layers.Dense(2 * nf * 7 * 7, use_bias=False)(h)
    h = keras.layers.ReLU()(batch_norm()(h))
    h = keras.layers.Reshape((2 * nf, 7, 7))(h)            # units in (C, H, W) order,
    h = keras.layers.Permute((2, 3, 1))(h)                 # then (7, 7, 2nf)
    h = keras.layers.Conv2DTranspose(nf, 4, strides=2, padding="same",
                                     use_bias=False)(h)    # (14, 14, nf)
    h = keras.layers.ReLU()(batch_norm()(h))
    X = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same",
                                     activation="tanh")(h)  # (28, 28, 1)
    return init_dcgan(keras.Model([Z, Y], X))


def cgan_D(num_classes=10, nf=32):
    """D(x, y): a label-free logit plus the projection of the features on y's embedding;
    initialised."""
    X, Y = keras.Input((28, 28, 1)), keras.Input((num_classes,))
    h = keras.layers.Conv2D(nf, 4, strides=2, padding="same")(X)
    h = keras.layers.LeakyReLU(negative_slope=0.2)(h)                # (14, 14, nf)
    h = keras.layers.Conv2D(2 * nf, 4, strides=2, padding="same", use_bias=False)(h)
    h = keras.layers.LeakyReLU(negative_slope=0.2)(batch_norm()(h))  # (7, 7, 2nf)
    features = keras.layers.Flatten()(keras.layers.Permute((3, 1, 2))(h))  # (C, H, W)
    logit = keras.layers.Dense(1)(features)
    embedding = keras.layers.Dense(2 * nf * 7 * 7, use_bias=False)(Y)
    projection = keras.layers.Dot(axes=1)([embedding, features])
    return init_dcgan(keras.Model([X, Y], keras.layers.Add()([logit, projection])))


# Defined in chapters/04_conditional_gan.md
@tf.function(jit_compile=XLA)
def update_D_cond(X, Y, Z, Y_wrong, net_D, net_G, loss, trainer_D):
    """One step of the matching-aware D: (x, y) is real; (G(z, y), y), (x, wrong y) fake."""
    ones = tf.ones((tf.shape(X)[0], 1))
    zeros = tf.zeros((tf.shape(X)[0], 1))
    fake_X = net_G([Z, Y], training=True)  # outside the tape: no gradient for G
    with tf.GradientTape() as tape:
        real = net_D([X, Y], training=True)
        fake = net_D([fake_X, Y], training=True)
        wrong = net_D([X, Y_wrong], training=True)
        loss_D = (loss(ones, real) + (loss(zeros, fake) + loss(zeros, wrong)) / 2) / 2
    grads = tape.gradient(loss_D, net_D.trainable_variables)
    trainer_D.apply_gradients(zip(grads, net_D.trainable_variables))
    return loss_D


@tf.function(jit_compile=XLA)
def update_G_cond(Z, Y, net_D, net_G, loss, trainer_G):
    """One generator step: generated pairs labelled 1 (the non-saturating loss)."""
    ones = tf.ones((tf.shape(Z)[0], 1))
    with tf.GradientTape() as tape:
        loss_G = loss(ones, net_D([net_G([Z, Y], training=True), Y], training=True))
    grads = tape.gradient(loss_G, net_G.trainable_variables)
    trainer_G.apply_gradients(zip(grads, net_G.trainable_variables))
    return loss_G


# Defined in chapters/05_infogan.md
def info_G(latent_dim=74, conv=(32, 64), fc=256):
    """InfoGAN's MNIST generator (Chen et al., 2016); the paper: conv=(64, 128), fc=1024."""
    c1, c2 = conv
    layers = keras.layers
    return init_dcgan(keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(fc, use_bias=False), batch_norm(), layers.ReLU(),          # (fc,)
        layers.Dense(c2 * 7 * 7, use_bias=False), layers.Reshape((c2, 7, 7)),  # (C, H, W)
        layers.Permute((2, 3, 1)), batch_norm(), layers.ReLU(),                 # (7, 7, c2)
        layers.Conv2DTranspose(c1, 4, 2, padding="same", use_bias=False),
        batch_norm(), layers.ReLU(),                                            # (14, 14, c1)
        layers.Conv2DTranspose(1, 4, 2, padding="same", activation="tanh")]))   # (28, 28, 1)


# Defined in chapters/05_infogan.md
def info_D_body(conv=(32, 64), fc=256, slope=0.1):
    """The body that InfoGAN's D and Q share: two strided convolutions and a dense layer."""
    c1, c2 = conv
    layers = keras.layers
    return init_dcgan(keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(c1, 4, 2, padding="same"),
        layers.LeakyReLU(negative_slope=slope),                                 # (14, 14, c1)
        layers.Conv2D(c2, 4, 2, padding="same", use_bias=False), batch_norm(),
        layers.LeakyReLU(negative_slope=slope),                                 # (7, 7, c2)
        layers.Permute((3, 1, 2)), layers.Flatten(),                            # (C, H, W)
        layers.Dense(fc, use_bias=False), batch_norm(),
        layers.LeakyReLU(negative_slope=slope)]))                               # (fc,)


def info_D_head(fc=256):
    """D's head: the real-vs-generated logit."""
    return init_dcgan(keras.Sequential([keras.Input((fc,)), keras.layers.Dense(1)]))  # (1,)


def info_Q_head(fc=256, q_hidden=128, num_outputs=12, slope=0.1):
    """Q's head: the categorical code's logits, then the continuous codes' means."""
    layers = keras.layers
    return init_dcgan(keras.Sequential([
        keras.Input((fc,)),
        layers.Dense(q_hidden, use_bias=False), batch_norm(),
        layers.LeakyReLU(negative_slope=slope),                                 # (q_hidden,)
        layers.Dense(num_outputs)]))                                            # (num_outputs,)


def info_nets(latent_dim=74, conv=(32, 64), fc=256, q_hidden=128, num_outputs=12, slope=0.1):
    """(net_G, net_D, net_Q) of InfoGAN, initialised; net_D and net_Q share one body."""
    body = info_D_body(conv, fc, slope)
    net_D = keras.Sequential([body, info_D_head(fc)])
    net_Q = keras.Sequential([body, info_Q_head(fc, q_hidden, num_outputs, slope)])
    return info_G(latent_dim, conv, fc), net_D, net_Q


# Defined in chapters/05_infogan.md
def info_inputs(batch_size, noise_dim=62, num_classes=10, num_cont=2):
    """(G's input, c_cat, c_cont): z ~ N(0, I), c_cat uniform, c_cont ~ U(-1, 1)."""
    noise = tf.random.normal((batch_size, noise_dim))
    c_cat = tf.random.uniform((batch_size,), 0, num_classes, dtype=tf.int32)
    c_cont = tf.random.uniform((batch_size, num_cont), -1.0, 1.0)
    one_hot = tf.one_hot(c_cat, num_classes)
    return tf.concat([noise, one_hot, c_cont], axis=1), c_cat, c_cont


def info_loss(Q_out, c_cat, c_cont, lambda_cat, lambda_cont):
    """L_I: -log Q(c | x) for the categorical code (from logits) and unit-variance Gaussians."""
    k = Q_out.shape[1] - c_cont.shape[1]     # the first k outputs are c_cat's logits
    nll_cat = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=c_cat, logits=Q_out[:, :k]))
    nll_cont = 0.5 * tf.reduce_mean(tf.reduce_sum((Q_out[:, k:] - c_cont) ** 2, axis=1))
    return lambda_cat * nll_cat + lambda_cont * nll_cont


# Defined in chapters/05_infogan.md
@tf.function(jit_compile=XLA)
def update_info_D(X, Z, c_cat, c_cont, net_D, net_Q, net_G, loss, trainer_D,
                  lambda_cat, lambda_cont):
    """D's step on its cross-entropy plus L_I: the body and both heads learn."""
    ones = tf.ones((tf.shape(X)[0], 1))
    zeros = tf.zeros((tf.shape(X)[0], 1))
    body, D_head, Q_head = net_D.layers[0], net_D.layers[1], net_Q.layers[1]
    fake_X = net_G(Z, training=True)  # outside the tape: no gradient for the generator
    with tf.GradientTape() as tape:
        real_Y = net_D(X, training=True)
        features = body(fake_X, training=True)
        loss_D = (loss(ones, real_Y) + loss(zeros, D_head(features, training=True))) / 2
        loss_I = info_loss(Q_head(features, training=True), c_cat, c_cont,
                           lambda_cat, lambda_cont)
        total = loss_D + loss_I
    D_and_Q = net_D.trainable_variables + Q_head.trainable_variables
    trainer_D.apply_gradients(zip(tape.gradient(total, D_and_Q), D_and_Q))
    return loss_D


@tf.function(jit_compile=XLA)
def update_info_G(Z, c_cat, c_cont, net_D, net_Q, net_G, loss, trainer_G,
                  lambda_cat, lambda_cont):
    """G's step on its non-saturating loss plus L_I; returns (loss_G, loss_I)."""
    ones = tf.ones((tf.shape(Z)[0], 1))
    body, D_head, Q_head = net_D.layers[0], net_D.layers[1], net_Q.layers[1]
    with tf.GradientTape() as tape:
        features = body(net_G(Z, training=True), training=True)  # run once for both heads
        loss_G = loss(ones, D_head(features, training=True))
        loss_I = info_loss(Q_head(features, training=True), c_cat, c_cont,
                           lambda_cat, lambda_cont)
        total = loss_G + loss_I
    grads = tape.gradient(total, net_G.trainable_variables)
    trainer_G.apply_gradients(zip(grads, net_G.trainable_variables))
    return loss_G, loss_I


# Defined in chapters/06_cyclegan_dualgan.md
class CycleResidual(keras.Model):
    """x + F(x), F = conv-norm-ReLU(-dropout)-conv-norm: the generators' residual block."""

    def __init__(self, channels, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.body = keras.Sequential([
            keras.layers.Conv2D(channels, 3, padding="same", use_bias=False),
            batch_norm(), keras.layers.ReLU(),
            *([keras.layers.Dropout(dropout)] if dropout else []),
            keras.layers.Conv2D(channels, 3, padding="same", use_bias=False),
            batch_norm()])

    def call(self, X):
        return X + self.body(X)


def cycle_upsample(channels):
    """(14, 14, 2c) -> (28, 28, c): nearest-neighbour upsampling, then a 3x3 conv."""
    return keras.Sequential([
        keras.layers.UpSampling2D(2, interpolation="nearest"),            # (28, 28, 2c)
        keras.layers.Conv2D(channels, 3, padding="same", use_bias=False),
        batch_norm(), keras.layers.ReLU()])


def cycle_stem(channels):
    """A 28x28 image -> (28, 28, c) features: a 3x3 conv."""
    return keras.Sequential([
        keras.layers.Conv2D(channels, 3, padding="same", use_bias=False),
        batch_norm(), keras.layers.ReLU()])


def cycle_trunk(channels, num_res, dropout):
    """(28, 28, c) -> (28, 28, c): a strided 4x4 conv, residual blocks, upsampling."""
    c = channels
    return keras.Sequential([
        keras.layers.Conv2D(2 * c, 4, 2, padding="same", use_bias=False),
        batch_norm(), keras.layers.ReLU(),                                # (14, 14, 2c)
        *[CycleResidual(2 * c, dropout) for _ in range(num_res)],
        cycle_upsample(c)])                                               # (28, 28, c)


# Defined in chapters/06_cyclegan_dualgan.md
def cycle_G(channels=16, num_res=2, dropout=0.0):
    """Stem, trunk and a 3x3 conv: a 28x28 image in [-1, 1] to another one (initialised)."""
    return init_dcgan(keras.Sequential([
        keras.Input((28, 28, 1)),
        cycle_stem(channels), cycle_trunk(channels, num_res, dropout),   # (28, 28, c)
        keras.layers.Conv2D(1, 3, padding="same", activation="tanh")]))  # (28, 28, 1)


class DualUNet(keras.Model):
    """cycle_G's layers plus two skips: the stem's features join the trunk's, and the
    output is a change to the input image, tanh(atanh(0.9 x) + f(x))."""

    def __init__(self, channels=16, num_res=2, dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.stem = cycle_stem(channels)
        self.trunk = cycle_trunk(channels, num_res, dropout)
        self.head = keras.layers.Conv2D(1, 3, padding="same")

    def call(self, X):
        E = self.stem(X)                                                   # (28, 28, c)
        change = self.head(tf.concat([E, self.trunk(E)], axis=-1))  # skip: (28, 28, 2c)
        return tf.tanh(tf.atanh(0.9 * X) + change)                   # f = 0: 0.9 x


def dual_G(channels=16, num_res=2, dropout=0.2):
    """DualGAN's generator: a small U-Net with dropout in its residual blocks."""
    net = DualUNet(channels, num_res, dropout)
    net(keras.Input((28, 28, 1)))  # a symbolic call creates the weights
    return init_dcgan(net)


def patch_D(channels=16, norm=True):
    """A 28x28 image to a 7x7 grid of scores, one per 18x18 patch (no sigmoid)."""
    c = channels
    return init_dcgan(keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(c, 4, 2, padding="same"),                     # (14, 14, c)
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Conv2D(2 * c, 4, 2, padding="same", use_bias=not norm),  # (7, 7, 2c)
        *([batch_norm()] if norm else []),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Conv2D(1, 3, padding="same")]))                      # (7, 7, 1)


# Defined in chapters/06_cyclegan_dualgan.md
@tf.function
def update_cycle_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, lambda_cycle,
                   lambda_identity):
    """One step of both generators on CycleGAN's loss; returns it and the translations."""
    variables = G_AB.trainable_variables + G_BA.trainable_variables
    with tf.GradientTape() as tape:
        fake_B, fake_A = G_AB(real_A, training=True), G_BA(real_B, training=True)
        loss_gan = (tf.reduce_mean((D_B(fake_B, training=True) - 1) ** 2)
                    + tf.reduce_mean((D_A(fake_A, training=True) - 1) ** 2))
        loss_cycle = (tf.reduce_mean(tf.abs(G_BA(fake_B, training=True) - real_A))
                      + tf.reduce_mean(tf.abs(G_AB(fake_A, training=True) - real_B)))
        loss_identity = (tf.reduce_mean(tf.abs(G_AB(real_B, training=True) - real_B))
                         + tf.reduce_mean(tf.abs(G_BA(real_A, training=True) - real_A)))
        loss_G = loss_gan + lambda_cycle * loss_cycle + lambda_identity * loss_identity
    trainer_G.apply_gradients(zip(tape.gradient(loss_G, variables), variables))
    return loss_G, fake_A, fake_B


@tf.function
def update_cycle_D(real_A, real_B, fake_A, fake_B, D_A, D_B, trainer_D):
    """One least-squares step of both discriminators: real to 1, translated to 0."""
    variables = D_A.trainable_variables + D_B.trainable_variables
    with tf.GradientTape() as tape:
        loss_D = 0.5 * (tf.reduce_mean((D_A(real_A, training=True) - 1) ** 2)
                        + tf.reduce_mean(D_A(fake_A, training=True) ** 2)
                        + tf.reduce_mean((D_B(real_B, training=True) - 1) ** 2)
                        + tf.reduce_mean(D_B(fake_B, training=True) ** 2))
    trainer_D.apply_gradients(zip(tape.gradient(loss_D, variables), variables))
    return loss_D


# Defined in chapters/06_cyclegan_dualgan.md
@tf.function
def update_dual_D(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_D, clip):
    """One step of both Wasserstein critics, then clip their weights into [-clip, clip]."""
    fake_B = G_AB(real_A, training=True)  # outside the tape: no gradient for G
    fake_A = G_BA(real_B, training=True)
    variables = D_A.trainable_variables + D_B.trainable_variables
    with tf.GradientTape() as tape:
        loss_D = (tf.reduce_mean(D_A(fake_A, training=True))
                  - tf.reduce_mean(D_A(real_A, training=True))
                  + tf.reduce_mean(D_B(fake_B, training=True))
                  - tf.reduce_mean(D_B(real_B, training=True)))
    trainer_D.apply_gradients(zip(tape.gradient(loss_D, variables), variables))
    for v in variables:
        v.assign(tf.clip_by_value(v, -clip, clip))
    return loss_D


@tf.function
def update_dual_G(real_A, real_B, G_AB, G_BA, D_A, D_B, trainer_G, lambda_rec):
    """One step of both generators: fool the critics and reconstruct the input."""
    variables = G_AB.trainable_variables + G_BA.trainable_variables
    with tf.GradientTape() as tape:
        fake_B, fake_A = G_AB(real_A, training=True), G_BA(real_B, training=True)
        loss_rec = (tf.reduce_mean(tf.abs(G_BA(fake_B, training=True) - real_A))
                    + tf.reduce_mean(tf.abs(G_AB(fake_A, training=True) - real_B)))
        loss_G = (-tf.reduce_mean(D_B(fake_B, training=True))
                  - tf.reduce_mean(D_A(fake_A, training=True)) + lambda_rec * loss_rec)
    trainer_G.apply_gradients(zip(tape.gradient(loss_G, variables), variables))
    return loss_G


# Defined in chapters/06_cyclegan_dualgan.md
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate constant for the first `start` updates, then falling linearly to 0
    at update `steps` (Keras counts updates from 0)."""

    def __init__(self, base_lr, steps, start=0):
        self.base_lr, self.steps, self.start = base_lr, steps, start

    def __call__(self, step):
        decayed = (tf.cast(step, tf.float32) - self.start) / (self.steps - self.start)
        return self.base_lr * tf.clip_by_value(1 - decayed, 0.0, 1.0)

"""TensorFlow (Keras 3) building blocks of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save` cells by `make lib` (each block says where).
"""

import keras
import tensorflow as tf

from gan_edu import Accumulator, Timer, seed  # noqa: F401  (the chapters use them as ge.*)
from gan_edu.plot import Animator, show_images  # noqa: F401


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
def toy_nets(latent_dim):
    """Chapter 1's linear generator and 5-3-1 tanh discriminator (returning a logit)."""
    net_G = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(2)])
    net_D = keras.Sequential([keras.Input((2,)),
                              keras.layers.Dense(5, activation="tanh"),
                              keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Dense(1)])
    return net_G, net_D


# Defined in chapters/01_first_gan.md
def init_glorot(net):
    """Glorot-uniform weights and zero biases for every dense layer of `net`."""
    for layer in net.layers:  # Keras' defaults already, but the book states them
        layer.kernel.assign(keras.initializers.GlorotUniform()(layer.kernel.shape))
        layer.bias.assign(tf.zeros_like(layer.bias))


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

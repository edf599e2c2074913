"""The parity comparison's view of TensorFlow / Keras 3: gan_edu.parity.torch's names.

Keras holds a kernel with its input and output axes last: dense (in, out), convolution
(kh, kw, in, out), transposed convolution (kh, kw, out, in); the last two axes first, in
reverse order, give PyTorch's layout for all three. Batch norm's gamma, beta, moving
mean and variance are PyTorch's four vectors. Images are NHWC here, NCHW outside.
"""

import keras
import numpy as np
import tensorflow as tf

from gan_edu import tensorflow as library  # noqa: F401  (the adapters' common interface)
from gan_edu.parity.rules import check_shapes

RMSPROP_EPS_IN_ROOT = True         # sqrt(v + eps)
UNBIASED_RUNNING_VARIANCE = False
STATISTICS_IN_BACKWARD = False

KINDS = {"moving_mean": "mean", "moving_variance": "var"}   # the others: kernel, bias, ...


def _leaf(variable):
    return variable.path.rsplit("/", 1)[-1]


def _to_torch(variable, array):
    a = np.asarray(array)
    return np.ascontiguousarray(a.transpose(a.ndim - 1, a.ndim - 2, *range(a.ndim - 2))
                                if _leaf(variable) == "kernel" else a)


def _to_keras(variable, array):
    a = np.asarray(array)
    return a.transpose(*range(2, a.ndim), 1, 0) if _leaf(variable) == "kernel" else a


def objects(net):
    return list(net.weights)   # trained or not (batch norm's moving statistics)


def get_weights(net):
    return [_to_torch(v, v.numpy()) for v in objects(net)]


def set_weights(net, arrays):
    variables = objects(net)
    converted = [_to_keras(v, a) for v, a in zip(variables, arrays)]
    check_shapes(converted, [v.shape for v in variables])
    for v, a in zip(variables, converted):
        v.assign(np.asarray(a, dtype=v.dtype))


def kinds(net):
    return [KINDS.get(_leaf(v), _leaf(v)) for v in objects(net)]


def native(array):
    return array.transpose(0, 2, 3, 1) if array.ndim == 4 else array   # images NHWC


def from_native(array):
    return array.transpose(0, 3, 1, 2) if array.ndim == 4 else array


def tensor(array, dtype="float32"):
    """A 0-d array too becomes a tensor, as the chapters pass their settings: a compiled
    step would be traced anew for every new Python float."""
    array = native(np.asarray(array))
    return tf.constant(np.asarray(array, np.int32 if array.dtype.kind in "iu" else dtype))


def numpy(value):
    return from_native(np.asarray(value))


def forward(net, inputs, training):
    tensors = [tensor(x) for x in inputs]   # a model with several inputs takes a list
    return numpy(net(tensors if len(tensors) > 1 else tensors[0], training=training))


def bce_loss(dtype):
    return keras.losses.BinaryCrossentropy(from_logits=True, dtype=dtype)


def optimiser(nets, lr, adam=None, rmsprop=None):
    variables = [v for net in nets for v in net.trainable_variables]
    if adam is not None:
        (beta_1, beta_2), eps = adam["betas"], adam["eps"]
        trainer = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2,
                                        epsilon=eps)
    elif rmsprop is not None:
        trainer = RMSpropKeepingGradients(learning_rate=lr, rho=rmsprop["rho"],
                                          epsilon=rmsprop["eps"], momentum=0.0)
    else:
        trainer = keras.optimizers.SGD(learning_rate=lr)
    # The library's steps are tf.functions shared by the whole process: an optimiser
    # that made its slots inside one would work for the first trace only.
    trainer.build(variables)
    return trainer


def without_dropout(net):
    layers = [net]
    while layers:   # a model's layers, and theirs
        layer = layers.pop()
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
        layers += getattr(layer, "layers", [])
    return net


def build_in(dtype, build):
    """Keras' inputs follow floatx, its layers the dtype policy."""
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        return build()
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


# ---- Keras' private optimiser state (Keras 3): the one place that reads it ------------------

class RMSpropKeepingGradients(keras.optimizers.RMSprop):
    """Keras' RMSprop that also keeps each variable's last gradient, to be compared
    (without momentum its state holds only the squared gradients' average)."""

    def build(self, variables):
        super().build(variables)
        self.gradients = self.add_optimizer_variables(variables, "gradient")

    def update_step(self, gradient, variable, learning_rate):
        self.gradients[self._get_variable_index(variable)].assign(gradient)
        super().update_step(gradient, variable, learning_rate)


def optimiser_state(trainer, net):
    """Keras 3 keeps an optimiser's slots in lists, one entry per trained variable."""
    slots = ((trainer._momentums, trainer._velocities)
             if isinstance(trainer, keras.optimizers.Adam) else
             (trainer.gradients, trainer._velocities)
             if isinstance(trainer, keras.optimizers.RMSprop) else None)
    first, second = [], []
    for v in objects(net):
        i = trainer._get_variable_index(v) if slots and v.trainable else None
        first.append(None if i is None else _to_torch(v, slots[0][i].numpy()))
        second.append(None if i is None else _to_torch(v, slots[1][i].numpy()))
    return first, second

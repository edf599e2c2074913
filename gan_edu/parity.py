"""Move weights between PyTorch, TensorFlow (Keras 3) and MXNet (Gluon) networks.

The book claims that its three versions of a model are the same algorithm. The parity
tests prove it by giving the three networks the very same weights and comparing what
they compute. For that, weights travel as a list of numpy arrays in one canonical
layout, PyTorch's, in the order the layers hold them:

- dense: PyTorch weight (out, in) and bias; Keras kernel (in, out); Gluon as PyTorch.
- conv: PyTorch weight (out, in, kh, kw); Keras kernel (kh, kw, in, out); Gluon as PyTorch.
- transposed conv: PyTorch weight (in, out, kh, kw); Keras kernel (kh, kw, out, in);
  Gluon as PyTorch.
- batch norm: PyTorch weight, bias, running_mean, running_var; Keras gamma, beta,
  moving_mean, moving_variance; Gluon gamma, beta, running_mean, running_var: the same
  four vectors in the same order.

So only Keras kernels move: reversing their last two axes and putting them first gives
PyTorch's layout for all three kinds of kernel.

A dense layer next to a flatten (or a reshape) sees the feature map's values in
another order as well: PyTorch and Gluon flatten a (C, H, W) map channel-major, Keras
flattens its (H, W, C) map channel-last. The same network therefore holds the same
numbers in a permuted axis: the input axis of a dense layer after a Flatten (a
discriminator), the output axis and bias of a dense layer before a Reshape (a
generator). `channels_last` and `channels_first` permute such an axis between the two
orders, and `reorder_flattened` applies them to chosen arrays of a weight list, so a
test moves weights into a Keras network with

    set_weights(net, "tensorflow", reorder_flattened(arrays, [(i, axis)], (C, H, W)))

and back with `to="NCHW"` after `get_weights`. The networks themselves are not
changed: each framework keeps its own layout.

The rest of the module holds what a comparison needs besides the weights:

- the kind of every array (`weight_kinds`: kernel, bias, batch norm's gamma, beta,
  running mean and variance), so that trainable weights and running statistics can be
  told apart in any framework;
- the real differences between the frameworks' algorithms, as exact rules:
  `adam_epsilon` (where Adam adds its epsilon), `rmsprop_update` (where RMSProp adds
  its epsilon) and `running_statistics` (how batch norm keeps its running averages);
- small adapters that run a network or a training step of the library in each
  framework's own idiom (`as_tensor`, `as_numpy`, `forward`, `bce_loss`, `optimiser`,
  `adam_moments`, `rmsprop_state`, `built_in`, ...). The data and the results are numpy
  arrays in PyTorch's layout.

Each framework is imported inside the functions, so that this module imports, and
its users can skip a comparison, where a framework is not installed.
"""

import contextlib
import functools
import importlib
import itertools
import logging
import math

import numpy as np

__all__ = ["FRAMEWORKS", "PAIRS", "get_weights", "set_weights", "max_relative_error",
           "channels_last", "channels_first", "reorder_flattened", "weight_kinds",
           "weight_objects", "adam_epsilon", "adam_update", "rmsprop_update",
           "running_statistics", "possible_running_statistics", "BatchStatistics", "library",
           "as_tensor", "as_numpy", "forward", "scalar", "bce_loss", "optimiser",
           "match_adam_epsilon", "adam_moments", "rmsprop_state", "without_dropout", "built_in",
           "quiet"]

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
PAIRS = tuple(itertools.combinations(FRAMEWORKS, 2))
MODULES = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}


def _check(framework):
    if framework not in ("pytorch", "tensorflow", "mxnet"):
        raise ValueError(f"unknown framework {framework!r}; "
                         "choose one of pytorch, tensorflow, mxnet")


def _keras_variables(net):
    """A Keras model's weights in layer order, trainable and not (BN's moving stats)."""
    return list(net.weights)


def _keras_permutation(ndim):
    """Axes that take a Keras kernel of `ndim` axes to PyTorch's layout."""
    return (ndim - 1, ndim - 2, *range(ndim - 2))


def _is_kernel(variable):
    return variable.path.rsplit("/", 1)[-1] == "kernel"


def get_weights(net, framework):
    """The weights of `net` as numpy arrays in PyTorch's layout and order (a copy)."""
    _check(framework)
    if framework == "pytorch":
        # state_dict holds parameters and buffers (BN's running statistics) in layer
        # order; BN's step counter is bookkeeping, not a weight.
        return [t.detach().cpu().numpy().copy() for name, t in net.state_dict().items()
                if not name.endswith("num_batches_tracked")]
    if framework == "tensorflow":
        arrays = []
        for v in _keras_variables(net):
            a = np.asarray(v.numpy())
            if _is_kernel(v):
                a = a.transpose(_keras_permutation(a.ndim))
            arrays.append(np.ascontiguousarray(a))
        return arrays
    return [p.data().asnumpy().copy() for p in net.collect_params().values()]


def set_weights(net, framework, arrays):
    """Load `arrays` (PyTorch's layout and order, as `get_weights` returns) into `net`."""
    _check(framework)
    arrays = [_float_array(a) for a in arrays]
    if framework == "pytorch":
        import torch
        targets = [t for name, t in net.state_dict().items()
                   if not name.endswith("num_batches_tracked")]
        _check_shapes(arrays, [tuple(t.shape) for t in targets])
        with torch.no_grad():  # state_dict tensors share storage with the parameters
            for t, a in zip(targets, arrays):
                t.copy_(torch.as_tensor(a))
    elif framework == "tensorflow":
        variables = _keras_variables(net)
        converted = []
        for v, a in zip(variables, arrays):
            if _is_kernel(v):  # invert the permutation of get_weights
                a = a.transpose(np.argsort(_keras_permutation(a.ndim)))
            converted.append(a)
        _check_shapes(converted, [tuple(v.shape) for v in variables])
        for v, a in zip(variables, converted):
            v.assign(a)
    else:
        from mxnet import nd
        params = list(net.collect_params().values())
        _check_shapes(arrays, [tuple(p.shape) for p in params])
        for p, a in zip(params, arrays):
            p.set_data(nd.array(a, dtype=a.dtype))


def _float_array(a):
    """`a` in float32, or in float64 if it is (the weights of chapter 6's training steps)."""
    a = np.asarray(a)
    return a if a.dtype == np.float64 else a.astype(np.float32)


def _check_shapes(arrays, shapes):
    """Fail loudly on a mismatch: a silent broadcast would hide a different model."""
    got = [tuple(a.shape) for a in arrays]
    if got != [tuple(s) for s in shapes]:
        raise ValueError(f"weight shapes differ: given {got}, the network has {shapes}")


def max_relative_error(a, b):
    """max |a - b| / max |b|: the error relative to the size of the values compared.

    Scaled by the largest value rather than element by element, so that an output
    near zero does not turn float32 rounding into a large relative error.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), np.finfo(np.float32).tiny))


def channels_last(array, chw, axis):
    """`array` with `axis`, a flattened (C, H, W) map, reordered as a flattened (H, W, C).

    The PyTorch / Gluon order of a flattened feature map becomes the Keras order.
    `chw` is the map's (C, H, W); `axis` must have C * H * W entries.
    """
    return _reorder(array, chw, axis, (1, 2, 0))


def channels_first(array, chw, axis):
    """The inverse of `channels_last`: a flattened (H, W, C) axis back to (C, H, W) order."""
    c, h, w = chw
    return _reorder(array, (h, w, c), axis, (2, 0, 1))


def _reorder(array, dims, axis, order):
    """Reorder `axis` (a flattened map of shape `dims`) by permuting the map's axes."""
    array = np.asarray(array)
    size = int(np.prod(dims))
    if array.shape[axis] != size:
        raise ValueError(f"axis {axis} of an array of shape {array.shape} should have "
                         f"{size} entries, a flattened map of shape {tuple(dims)}")
    moved = np.moveaxis(array, axis, -1)
    lead = moved.shape[:-1]
    moved = moved.reshape(*lead, *dims).transpose(*range(len(lead)),
                                                  *(len(lead) + i for i in order))
    return np.ascontiguousarray(np.moveaxis(moved.reshape(*lead, size), -1, axis))


def reorder_flattened(arrays, where, chw, to="NHWC"):
    """A copy of the weight list `arrays` with flattened-map axes put in another order.

    `where` lists `(index, axis)` pairs: the axis `axis` of `arrays[index]` indexes a
    flattened map of shape `chw` = (C, H, W). `to="NHWC"` turns PyTorch's order into
    Keras' (before `set_weights(..., "tensorflow", ...)`), `to="NCHW"` the reverse
    (after `get_weights(..., "tensorflow")`). Other arrays are returned unchanged.
    """
    if to not in ("NHWC", "NCHW"):
        raise ValueError(f"unknown layout {to!r}; choose 'NHWC' (Keras) or 'NCHW'")
    move = channels_last if to == "NHWC" else channels_first
    arrays = [np.asarray(a) for a in arrays]
    for index, axis in where:
        arrays[index] = move(arrays[index], chw, axis)
    return arrays


# ---- what each array is ----------------------------------------------------------------

# The last part of an array's name in each framework, and the kind of weight it holds.
_KINDS = {"running_mean": "mean", "moving_mean": "mean", "running_var": "var",
          "moving_variance": "var", "gamma": "gamma", "beta": "beta", "weight": "kernel",
          "kernel": "kernel", "bias": "bias"}
TRAINED = ("kernel", "bias", "gamma", "beta")   # the other kinds are running statistics


def _kind(name):
    # Longest names first: "running_var" before "var"-like endings of other names.
    for ending in sorted(_KINDS, key=len, reverse=True):
        if name.endswith(ending):
            return _KINDS[ending]
    raise ValueError(f"no known kind of weight ends the name {name!r}")


def weight_kinds(net, framework):
    """What each array of `get_weights(net, framework)` is, in the same order.

    'kernel' and 'bias' of a dense or convolution layer; batch norm's 'gamma', 'beta'
    (trained) and 'mean', 'var' (its running statistics, not trained).
    """
    _check(framework)
    if framework == "pytorch":
        from torch import nn
        norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
        kinds = []
        for name in net.state_dict():
            if name.endswith("num_batches_tracked"):
                continue
            owner, _, leaf = name.rpartition(".")
            if isinstance(net.get_submodule(owner), norms):  # PyTorch's gamma is "weight"
                leaf = {"weight": "gamma", "bias": "beta"}.get(leaf, leaf)
            kinds.append(_kind(leaf))
        return kinds
    if framework == "tensorflow":
        return [_kind(v.path.rsplit("/", 1)[-1]) for v in _keras_variables(net)]
    return [_kind(name) for name in net.collect_params()]


def weight_objects(net, framework):
    """The parameters (or variables) behind `get_weights(net, framework)`, in its order.

    Two networks that share a part (InfoGAN's D and Q share a body) share these objects.
    """
    _check(framework)
    if framework == "pytorch":
        return [t for name, t in net.state_dict(keep_vars=True).items()
                if not name.endswith("num_batches_tracked")]
    if framework == "tensorflow":
        return _keras_variables(net)
    return list(net.collect_params().values())


# ---- the real differences, as exact rules -------------------------------------------------

def adam_epsilon(eps, beta_2, step):
    """PyTorch's Adam epsilon that makes its step number `step` Keras' and MXNet's.

    PyTorch divides by sqrt(v_hat) + eps, where v_hat = v / (1 - beta_2^t) is the
    bias-corrected second moment. Keras and MXNet divide by sqrt(v) + eps and correct
    the step size instead, which is the same as sqrt(v_hat) + eps / sqrt(1 - beta_2^t).
    """
    return eps / math.sqrt(1 - beta_2 ** step)


def adam_update(first, second, lr, adam, step):
    """The change that Adam's step number `step` made to weights whose two moments are
    now `first` and `second` (in float64).

    Keras' and MXNet's form, lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + eps),
    which is PyTorch's with `adam_epsilon`. After one step m = (1 - beta_1) g and
    v = (1 - beta_2) g^2, and the change is -lr g / (|g| + eps / sqrt(1 - beta_2)):
    about lr whatever the gradient's size, and steep in g where |g| is near 3e-7.
    """
    (beta_1, beta_2), eps = adam["betas"], adam["eps"]
    m, v = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    return -lr * math.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step) * m / (np.sqrt(v) + eps)


def rmsprop_update(gradient, second, lr, rmsprop, framework):
    """The change that an RMSProp step (no momentum) made to weights whose gradient was
    `gradient` and whose average of squared gradients is now `second` (in float64).

    v = rho v + (1 - rho) g^2 in all three, but PyTorch divides by sqrt(v) + eps, Keras
    and MXNet by sqrt(v + eps): no epsilon makes one the other, since the gap depends on
    v. After one step v = (1 - rho) g^2, so PyTorch moves about lr / sqrt(1 - rho) whatever
    the gradient's size (steep where |g| is near eps), Keras and MXNet less where |g| is
    below sqrt(eps / (1 - rho)), 3e-4 for eps = 1e-8 and rho = 0.9.
    """
    _check(framework)
    g, v = np.asarray(gradient, dtype=np.float64), np.asarray(second, dtype=np.float64)
    eps = rmsprop["eps"]
    denominator = np.sqrt(v) + eps if framework == "pytorch" else np.sqrt(v + eps)
    return -lr * g / denominator


class BatchStatistics:
    """One training-mode call of a batch norm: the statistics it folds into its averages.

    `mean` and `var` are the batch's mean and biased variance per feature, `count` the
    number of values per feature (batch size times height times width), `backward` the
    rank of the call in the backward passes that went through it (None if none did).
    """

    def __init__(self, mean, var, count, backward=None):
        self.mean, self.var, self.count, self.backward = mean, var, count, backward


def running_statistics(mean, var, calls, framework, momentum=0.1):
    """Batch norm's running mean and variance after `calls`, by `framework`'s own rule.

    Every framework moves the averages a fraction `momentum` (PyTorch's convention; Keras
    and Gluon write 1 - momentum) towards each batch's statistics, but:

    - PyTorch folds in every training-mode call, in the order of the forward passes, and
      the *unbiased* batch variance, var * n / (n - 1);
    - Keras folds in every training-mode call, in forward order, the biased variance;
    - MXNet (Gluon) updates them in the *backward* pass: only calls that a gradient
      flows back through count (not a generator called for a detached batch), in the
      order the backward passes reach them; the biased variance.
    """
    return possible_running_statistics(mean, var, calls, framework, momentum)[0]


def possible_running_statistics(mean, var, calls, framework, momentum=0.1):
    """Every (mean, var) that `framework`'s rule allows after `calls`, the order of
    `running_statistics` first.

    One for PyTorch and Keras. MXNet's engine, not the order of the calls, decides in
    which order it runs the backward passes of a network called several times in one
    step (chapter 6's generators, called three times): the calls a gradient reached may
    be folded in in any order, and all are candidates.
    """
    _check(framework)
    orders = [calls]
    if framework == "mxnet":
        reached = sorted((c for c in calls if c.backward is not None), key=lambda c: c.backward)
        orders = list(itertools.permutations(reached))
    return [_fold(mean, var, order, unbiased=framework == "pytorch", momentum=momentum)
            for order in orders]


def _fold(mean, var, calls, unbiased, momentum):
    """The running averages after folding in `calls`, in the order given."""
    mean, var = np.array(mean, dtype=np.float64), np.array(var, dtype=np.float64)
    for c in calls:
        batch_var = c.var * c.count / (c.count - 1) if unbiased else c.var
        mean = (1 - momentum) * mean + momentum * c.mean
        var = (1 - momentum) * var + momentum * batch_var
    return mean, var


# ---- each framework in its own idiom --------------------------------------------------------

def library(framework):
    """The book's library module of `framework`: gan_edu.torch, .tensorflow or .mxnet."""
    _check(framework)
    return importlib.import_module(f"gan_edu.{MODULES[framework]}")


def as_tensor(framework, array, dtype="float32"):
    """A numpy array as a tensor of `framework`: floats in `dtype`, or integer class labels.

    Images (4-D arrays, PyTorch's NCHW) become NHWC for Keras. A 0-d array (a setting
    such as InfoGAN's lambda) stays a Python float, but for TensorFlow becomes a tensor,
    as the chapters pass it: a compiled step would be traced anew for every new float.
    """
    array = np.asarray(array)
    if array.ndim == 0 and framework != "tensorflow":
        return float(array)
    if framework == "tensorflow" and array.ndim == 4:
        array = array.transpose(0, 2, 3, 1)
    labels = np.issubdtype(array.dtype, np.integer)
    # not ascontiguousarray: it makes a 0-d array 1-d, and a loss scaled by it a vector
    array = np.asarray(array, dtype=np.int64 if labels else dtype, order="C")
    if framework == "pytorch":
        import torch
        return torch.as_tensor(array)
    if framework == "tensorflow":
        import tensorflow as tf
        return tf.constant(array, dtype=tf.int32 if labels else dtype)
    from mxnet import nd
    return nd.array(array, dtype="int32" if labels else dtype)


def as_numpy(framework, tensor):
    """A tensor of `framework` as numpy; Keras images (NHWC) become NCHW."""
    if framework == "pytorch":
        array = tensor.detach().cpu().numpy()
    elif framework == "tensorflow":
        array = np.asarray(tensor)
        if array.ndim == 4:
            array = array.transpose(0, 3, 1, 2)
    else:
        array = tensor.asnumpy()
    return array


def scalar(framework, value):
    """A loss as a Python float."""
    return float(value.asscalar()) if framework == "mxnet" else float(value)


def forward(framework, net, inputs, training):
    """`net` applied to `inputs` (numpy arrays), in training or inference mode, as numpy.

    Training mode uses the batch's statistics in batch norm (and dropout, which the
    comparisons switch off); inference mode the running statistics.
    """
    tensors = [as_tensor(framework, x) for x in inputs]
    if framework == "pytorch":
        import torch
        net.train(training)
        with torch.no_grad():
            return as_numpy(framework, net(*tensors))
    if framework == "tensorflow":  # a Keras model with several inputs takes a list
        return as_numpy(framework, net(tensors if len(tensors) > 1 else tensors[0],
                                       training=training))
    from mxnet import autograd
    with autograd.train_mode() if training else autograd.predict_mode():
        return as_numpy(framework, net(*tensors))


def bce_loss(framework):
    """Binary cross-entropy on a logit, as the chapters use it."""
    if framework == "pytorch":
        from torch import nn
        return nn.BCEWithLogitsLoss()
    if framework == "tensorflow":
        import keras
        return keras.losses.BinaryCrossentropy(from_logits=True)
    from mxnet import gluon
    return gluon.loss.SigmoidBCELoss()


def _trained_variables(framework, nets):
    if framework == "pytorch":
        return [p for net in nets for p in net.parameters()]
    if framework == "tensorflow":
        return [v for net in nets for v in net.trainable_variables]
    return [p for net in nets for p in net.collect_params().values() if p.grad_req != "null"]


def optimiser(framework, nets, lr, adam=None, rmsprop=None):
    """An optimiser of the weights of `nets` (a list): Adam, RMSProp without momentum, or
    plain SGD if both `adam` and `rmsprop` are None.

    `adam` is dict(betas=(beta_1, beta_2), eps=eps), `rmsprop` dict(rho=rho, eps=eps),
    every setting explicit, passed as each framework spells it. PyTorch's Adam epsilon
    goes where Keras and MXNet put theirs only through `match_adam_epsilon`, before each
    step; RMSProp's epsilon stays where each framework puts it (`rmsprop_update`).
    """
    params = _trained_variables(framework, nets)
    if framework == "pytorch":
        import torch
        if adam is not None:
            return torch.optim.Adam(params, lr=lr, betas=adam["betas"], eps=adam["eps"])
        if rmsprop is not None:
            return torch.optim.RMSprop(params, lr=lr, alpha=rmsprop["rho"], eps=rmsprop["eps"])
        return torch.optim.SGD(params, lr=lr)
    if framework == "tensorflow":
        import keras
        if adam is not None:
            (beta_1, beta_2), eps = adam["betas"], adam["eps"]
            trainer = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2,
                                            epsilon=eps)
        elif rmsprop is not None:
            trainer = _keras_rmsprop()(learning_rate=lr, rho=rmsprop["rho"],
                                       epsilon=rmsprop["eps"], momentum=0.0)
        else:
            trainer = keras.optimizers.SGD(learning_rate=lr)
        # The library's steps are tf.functions shared by the whole process: an optimiser
        # that made its slots inside one would work for the first trace only.
        trainer.build(params)
        return trainer
    from mxnet import gluon
    if adam is not None:
        (beta_1, beta_2), eps = adam["betas"], adam["eps"]
        return gluon.Trainer(params, "adam", dict(learning_rate=lr, beta1=beta_1, beta2=beta_2,
                                                  epsilon=eps))
    if rmsprop is not None:
        settings = dict(learning_rate=lr, gamma1=rmsprop["rho"], epsilon=rmsprop["eps"],
                        centered=False)
        if params and np.dtype(params[0].dtype) == np.float64:
            return gluon.Trainer(params, _mxnet_rmsprop()(**settings))
        return gluon.Trainer(params, "rmsprop", settings)
    return gluon.Trainer(params, "sgd", dict(learning_rate=lr))


@functools.cache
def _keras_rmsprop():
    """Keras' RMSprop that also keeps each variable's last gradient, to be compared
    (without momentum, its state holds only the squared gradients' average)."""
    import keras

    class RMSpropKeepingGradients(keras.optimizers.RMSprop):
        def build(self, variables):
            super().build(variables)
            self.gradients = self.add_optimizer_variables(variables, "gradient")

        def update_step(self, gradient, variable, learning_rate):
            self.gradients[self._get_variable_index(variable)].assign(gradient)
            super().update_step(gradient, variable, learning_rate)
    return RMSpropKeepingGradients


@functools.cache
def _mxnet_rmsprop():
    """MXNet 1.9's RMSProp, which makes its state float32 whatever the weights' type; this
    one makes it in the weights' type (float64 weights: chapter 6's training steps)."""
    import mxnet as mx

    class RMSPropInTheWeightsType(mx.optimizer.RMSProp):
        def create_state(self, index, weight):
            return (mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype),)
    return RMSPropInTheWeightsType


def match_adam_epsilon(framework, trainer, adam, step):
    """Before step number `step`: give PyTorch's Adam the epsilon of Keras and MXNet."""
    if framework == "pytorch" and adam is not None:
        for group in trainer.param_groups:
            group["eps"] = adam_epsilon(adam["eps"], adam["betas"][1], step)


def adam_moments(framework, trainer, net):
    """Adam's first and second moments of `net`'s weights, aligned with `get_weights`.

    Two lists in PyTorch's layout, None where an array is not trained. After one step
    they are (1 - beta_1) g and (1 - beta_2) g^2: the gradient each framework computed.
    """
    _check(framework)
    first, second = [], []
    if framework == "pytorch":
        for t in weight_objects(net, framework):
            state = trainer.state.get(t) if t.requires_grad else None
            first.append(None if state is None else state["exp_avg"].numpy().copy())
            second.append(None if state is None else state["exp_avg_sq"].numpy().copy())
    elif framework == "tensorflow":
        for v in _keras_variables(net):
            if not v.trainable:
                first.append(None), second.append(None)
                continue
            # Keras 3 keeps Adam's slots in these lists, one entry per trained variable.
            i = trainer._get_variable_index(v)
            for moments, slots in ((first, trainer._momentums), (second, trainer._velocities)):
                a = np.asarray(slots[i].numpy())
                moments.append(a.transpose(_keras_permutation(a.ndim)) if _is_kernel(v) else a)
    else:
        # Gluon keeps a (mean, variance) pair per parameter, by its index in the trainer.
        states = trainer._updaters[0].states
        for p in net.collect_params().values():
            i = trainer._params.index(p) if p in trainer._params else None
            state = states.get(i)
            first.append(None if state is None else state[0].asnumpy())
            second.append(None if state is None else state[1].asnumpy())
    return first, second


def rmsprop_state(framework, trainer, net):
    """The last gradients and RMSProp's averages of squared gradients of `net`'s weights,
    aligned with `get_weights`: two lists in PyTorch's layout, None where an array is not
    trained. After one step the average is (1 - rho) g^2."""
    _check(framework)
    gradients, second = [], []
    if framework == "pytorch":
        for t in weight_objects(net, framework):
            state = trainer.state.get(t) if t.requires_grad else None
            gradients.append(None if state is None else t.grad.numpy().copy())
            second.append(None if state is None else state["square_avg"].numpy().copy())
    elif framework == "tensorflow":
        for v in _keras_variables(net):
            if not v.trainable:
                gradients.append(None), second.append(None)
                continue
            i = trainer._get_variable_index(v)
            for arrays, slots in ((gradients, trainer.gradients), (second, trainer._velocities)):
                a = np.asarray(slots[i].numpy())
                arrays.append(a.transpose(_keras_permutation(a.ndim)) if _is_kernel(v) else a)
    else:
        states = trainer._updaters[0].states   # a 1-tuple (n,) per parameter index
        for p in net.collect_params().values():
            i = trainer._params.index(p) if p in trainer._params else None
            state = states.get(i)
            gradients.append(None if state is None else p.grad().asnumpy())
            second.append(None if state is None else state[0].asnumpy())
    return gradients, second


def without_dropout(framework, net):
    """`net` with every dropout rate set to 0 (before its first call: MXNet's graph)."""
    if framework == "pytorch":
        from torch import nn
        for module in net.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    elif framework == "tensorflow":
        import keras
        layers = [net]
        while layers:  # a model's layers, and theirs
            layer = layers.pop()
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
            layers += getattr(layer, "layers", [])
    else:
        from mxnet.gluon import nn
        blocks = [net]
        while blocks:
            block = blocks.pop()
            if isinstance(block, nn.Dropout):
                block._rate = 0.0
            blocks += list(block._children.values())
    return net


def built_in(dtype, framework, build):
    """The networks of `build()` (a dict) with every weight in `dtype`: Keras builds them
    in it, PyTorch and MXNet cast them afterwards (before the first call)."""
    _check(framework)
    if dtype == "float32":
        return build()
    if framework == "tensorflow":   # Keras' inputs follow floatx, its layers the policy
        import keras
        floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
        keras.config.set_floatx(dtype)
        keras.config.set_dtype_policy(dtype)
        try:
            return build()
        finally:
            keras.config.set_floatx(floatx)
            keras.config.set_dtype_policy(policy)
    nets = build()
    for net in nets.values():
        if framework == "pytorch":
            import torch
            net.to(getattr(torch, dtype))
        else:
            net.cast(dtype)
    return nets


@contextlib.contextmanager
def quiet():
    """Keep TensorFlow's Python logger quiet: a comparison traces the library's steps anew
    for every new network, which TensorFlow would report as frequent retracing."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)

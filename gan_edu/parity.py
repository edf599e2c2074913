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

Each framework is imported inside the functions, so that this module imports, and
its users can skip a comparison, where a framework is not installed.
"""

import numpy as np

__all__ = ["get_weights", "set_weights", "max_relative_error", "channels_last",
           "channels_first", "reorder_flattened"]


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
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
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

"""The parity comparison's view of PyTorch (the same names in .tensorflow and .mxnet).

Weights travel in PyTorch's layout and order (parameters and batch norm's running
statistics, layer by layer). PyTorch is the reference: `recording` watches its steps.
"""

import contextlib
import itertools
from collections import defaultdict

import numpy as np
import torch
from torch import nn

from gan_edu import torch as library  # noqa: F401  (the adapters' common interface)
from gan_edu.parity.rules import BatchStatistics, adam_epsilon, check_shapes

RMSPROP_EPS_IN_ROOT = False        # sqrt(v) + eps
UNBIASED_RUNNING_VARIANCE = True
STATISTICS_IN_BACKWARD = False

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
KINDS = {"weight": "kernel", "bias": "bias", "running_mean": "mean", "running_var": "var"}


def _entries(net, keep_vars=False):
    """(name, tensor) in layer order; batch norm's step counter is bookkeeping."""
    return [(name, t) for name, t in net.state_dict(keep_vars=keep_vars).items()
            if not name.endswith("num_batches_tracked")]


def get_weights(net):
    """`net`'s weights as numpy arrays (a copy)."""
    return [t.detach().cpu().numpy().copy() for _, t in _entries(net)]


def set_weights(net, arrays):
    """Load `arrays` (in `get_weights`' layout and order) into `net`."""
    targets = [t for _, t in _entries(net)]
    check_shapes(arrays, [t.shape for t in targets])
    with torch.no_grad():   # state_dict tensors share storage with the parameters
        for t, a in zip(targets, arrays):
            t.copy_(torch.as_tensor(np.asarray(a)))


def objects(net):
    """The tensors behind `get_weights`: networks that share a part share these."""
    return [t for _, t in _entries(net, keep_vars=True)]


def kinds(net):
    """'kernel', 'bias', 'gamma', 'beta', 'mean' or 'var' for each array of `get_weights`."""
    found = []
    for name, _ in _entries(net):
        owner, _, leaf = name.rpartition(".")
        if isinstance(net.get_submodule(owner), NORMS):   # batch norm's gamma is "weight"
            leaf = {"weight": "gamma", "bias": "beta"}.get(leaf, leaf)
        found.append(KINDS.get(leaf, leaf))
    return found


def native(array):
    """A numpy array in PyTorch's layout (images NCHW) in this framework's (the same)."""
    return array


from_native = native


def tensor(array, dtype="float32"):
    """A numpy array as a tensor: floats in `dtype`, integers as class labels; a 0-d
    array (a setting such as InfoGAN's lambda) as a Python float."""
    array = np.asarray(array)
    if array.ndim == 0:
        return float(array)
    labels = np.issubdtype(array.dtype, np.integer)
    return torch.as_tensor(np.asarray(array, dtype=np.int64 if labels else dtype))


def numpy(value):
    return value.detach().cpu().numpy()


def forward(net, inputs, training):
    """`net` on numpy `inputs`, in training mode (batch statistics) or inference mode."""
    net.train(training)
    with torch.no_grad():
        return numpy(net(*(tensor(x) for x in inputs)))


def bce_loss(dtype):
    """The chapters' loss, with the labels (the steps make them float32) in the logits' type."""
    return lambda logits, labels: nn.functional.binary_cross_entropy_with_logits(
        logits, labels.to(logits.dtype))


class AdamAddingEpsLikeKeras(torch.optim.Adam):
    """Adam with its eps where Keras and MXNet add theirs (`rules.adam_epsilon`)."""
    steps = 0

    def step(self, closure=None):
        self.steps += 1
        for group in self.param_groups:
            group["eps"] = adam_epsilon(self.defaults["eps"], group["betas"][1], self.steps)
        return super().step(closure)


def optimiser(nets, lr, adam=None, rmsprop=None):
    """Adam (`adam` = dict(betas, eps)), RMSProp without momentum (`rmsprop` = dict(rho,
    eps)) or plain SGD over the parameters of `nets`."""
    params = [p for net in nets for p in net.parameters()]
    if adam is not None:
        return AdamAddingEpsLikeKeras(params, lr=lr, betas=adam["betas"], eps=adam["eps"])
    if rmsprop is not None:
        return torch.optim.RMSprop(params, lr=lr, alpha=rmsprop["rho"], eps=rmsprop["eps"])
    return torch.optim.SGD(params, lr=lr)


def optimiser_state(trainer, net):
    """(first, second), aligned with `get_weights`, None where an array is not trained:
    Adam's moments m and v, or RMSProp's last gradients and averages of squared gradients."""
    first, second = [], []
    for t in objects(net):
        state = trainer.state.get(t) if t.requires_grad else None
        if not state:
            first.append(None), second.append(None)
        elif "exp_avg" in state:
            first.append(numpy(state["exp_avg"])), second.append(numpy(state["exp_avg_sq"]))
        else:
            first.append(numpy(t.grad)), second.append(numpy(state["square_avg"]))
    return first, second


def without_dropout(net):
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return net


def build_in(dtype, build):
    """The networks of `build()` (a dict) with every weight in `dtype`."""
    nets = build()
    for net in nets.values():
        net.to(getattr(torch, dtype))
    return nets


# ---- the reference: batch norm's calls in a training step --------------------------------------

@contextlib.contextmanager
def recording(nets):
    """{batch norm: [BatchStatistics of each training-mode call]} of `nets` in the block."""
    calls, order = defaultdict(list), itertools.count()

    def hook(module, inputs, output):
        if not module.training:
            return
        x = inputs[0].detach().double()
        axes = [0, *range(2, x.ndim)]
        call = BatchStatistics(x.mean(axes).numpy(), x.var(axes, unbiased=False).numpy(),
                               x.numel() // x.shape[1])
        calls[module].append(call)

        def reached(grad):   # MXNet counts the calls that the gradient reaches
            if call.backward is None:
                call.backward = next(order)
        if output.requires_grad:
            output.register_hook(reached)
    norms = {id(m): m for net in nets.values() for m in net.modules() if isinstance(m, NORMS)}
    handles = [m.register_forward_hook(hook) for m in norms.values()]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def statistics_calls(record, net):
    """{(index of a running mean in `get_weights(net)`, of its variance): the calls}."""
    where = {id(t): i for i, t in enumerate(objects(net))}
    return {(where[id(m.running_mean)], where[id(m.running_var)]): calls
            for m, calls in record.items() if id(m.running_mean) in where}

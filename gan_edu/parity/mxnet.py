"""The parity comparison's view of MXNet Gluon: gan_edu.parity.torch's names.

Gluon holds every weight in PyTorch's layout and order (batch norm: gamma, beta,
running mean and variance), so this adapter reads and writes them as they are.
"""


import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

from gan_edu import mxnet as library  # noqa: F401  (the adapters' common interface)
from gan_edu.parity.rules import check_shapes

RMSPROP_EPS_IN_ROOT = True         # sqrt(v + eps)
UNBIASED_RUNNING_VARIANCE = False
STATISTICS_IN_BACKWARD = True      # only calls that a gradient reaches

KINDS = {"weight": "kernel", "bias": "bias", "gamma": "gamma", "beta": "beta",
         "running_mean": "mean", "running_var": "var"}


def objects(net):
    return list(net.collect_params().values())


def get_weights(net):
    return [p.data().asnumpy().copy() for p in objects(net)]


def set_weights(net, arrays):
    params = objects(net)
    check_shapes(arrays, [p.shape for p in params])
    for p, a in zip(params, arrays):
        p.set_data(nd.array(a, dtype=p.dtype))


def kinds(net):
    return [next(kind for leaf, kind in KINDS.items() if name.endswith("_" + leaf))
            for name in net.collect_params()]


def native(array):
    return array   # images NCHW


from_native = native


def tensor(array, dtype="float32"):
    array = np.asarray(array)
    if array.ndim == 0:
        return float(array)
    return nd.array(array, dtype="int32" if array.dtype.kind in "iu" else dtype)


def numpy(value):
    return value.asnumpy()


def forward(net, inputs, training):
    with autograd.train_mode() if training else autograd.predict_mode():
        return numpy(net(*(tensor(x) for x in inputs)))


class _BCELoss(gluon.loss.SigmoidBCELoss):
    def hybrid_forward(self, F, pred, label, *args, **kwargs):   # MXNet does not mix types
        return super().hybrid_forward(F, pred, label.astype(pred.dtype), *args, **kwargs)


def bce_loss(dtype):
    return _BCELoss()


def optimiser(nets, lr, adam=None, rmsprop=None):
    params = [p for net in nets for p in objects(net) if p.grad_req != "null"]
    if adam is not None:
        (beta_1, beta_2), eps = adam["betas"], adam["eps"]
        return gluon.Trainer(params, "adam", dict(learning_rate=lr, beta1=beta_1, beta2=beta_2,
                                                  epsilon=eps))
    if rmsprop is not None:
        return gluon.Trainer(params, RMSPropInTheWeightsType(
            learning_rate=lr, gamma1=rmsprop["rho"], epsilon=rmsprop["eps"], centered=False))
    return gluon.Trainer(params, "sgd", dict(learning_rate=lr))


class RMSPropInTheWeightsType(mx.optimizer.RMSProp):
    """MXNet 1.9's RMSProp makes its state float32 whatever the weights' type."""

    def create_state(self, index, weight):
        return (nd.zeros(weight.shape, weight.context, dtype=weight.dtype),)


def build_in(dtype, build):
    """Cast before the first call, which fixes a hybridized graph's types."""
    nets = build()
    for net in nets.values():
        net.cast(dtype)
    return nets


# ---- Gluon's private state (MXNet 1.9): the one place that reads it ---------------------------

def optimiser_state(trainer, net):
    """Gluon keeps a state per parameter, by the parameter's index in the trainer: Adam's
    (mean, variance), RMSProp's (n,), SGD's None."""
    states, first, second = trainer._updaters[0].states, [], []
    for p in objects(net):
        state = states.get(trainer._params.index(p)) if p in trainer._params else None
        if state is None:
            first.append(None), second.append(None)
        elif len(state) == 2:
            first.append(state[0].asnumpy()), second.append(state[1].asnumpy())
        else:
            first.append(p.grad().asnumpy()), second.append(state[0].asnumpy())
    return first, second


def without_dropout(net):
    """Before the first call: a hybridized graph keeps the rate."""
    def off(block):
        if isinstance(block, nn.Dropout):
            block._rate = 0.0
    return net.apply(off)

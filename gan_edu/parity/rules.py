"""Where the frameworks' algorithms truly differ, as exact rules in numpy (float64).

Each adapter states which rule its framework follows (RMSPROP_EPS_IN_ROOT,
UNBIASED_RUNNING_VARIANCE, STATISTICS_IN_BACKWARD), and the comparison holds each
framework to its own: a real difference is allowed for exactly, and nothing more.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np


def max_relative_error(a, b):
    """max |a - b| / max |b|: relative to the largest value, not element by element, so
    that a value near zero does not turn rounding into a large relative error."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), np.finfo(np.float32).tiny))


def check_shapes(arrays, shapes):
    """Fail loudly on a mismatch: a silent broadcast would hide a different model."""
    got, want = [tuple(a.shape) for a in arrays], [tuple(s) for s in shapes]
    if got != want:
        raise ValueError(f"weight shapes differ: given {got}, the network has {want}")


def adam_epsilon(eps, beta_2, step):
    """PyTorch's Adam epsilon that makes its step number `step` Keras' and MXNet's.

    PyTorch divides by sqrt(v_hat) + eps, where v_hat = v / (1 - beta_2^t) is the
    bias-corrected second moment. Keras and MXNet divide by sqrt(v) + eps and correct
    the step size instead, which is the same as sqrt(v_hat) + eps / sqrt(1 - beta_2^t).
    """
    return eps / math.sqrt(1 - beta_2 ** step)


def adam_update(first, second, lr, adam, step):
    """The change that Adam's step number `step` made to weights whose moments are now
    `first` and `second`, in Keras' and MXNet's form (PyTorch's with `adam_epsilon`).
    After one step (m = (1 - beta_1) g, v = (1 - beta_2) g^2) it is -lr g / (|g| + eps /
    sqrt(1 - beta_2)): about lr whatever the gradient, and steep where |g| is near 3e-7.
    MXNet computes 1 - beta_2 in float32: its v lies 1.3e-5 below the others'."""
    (beta_1, beta_2), eps = adam["betas"], adam["eps"]
    m, v = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    return -lr * math.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step) * m / (np.sqrt(v) + eps)


def rmsprop_update(gradient, second, lr, rmsprop, eps_in_root):
    """The change that an RMSProp step (no momentum) made to weights whose gradient was
    `gradient` and whose average of squared gradients is now `second`. PyTorch divides by
    sqrt(v) + eps, Keras and MXNet by sqrt(v + eps) (`eps_in_root`): no eps turns one into
    the other. After one step (v = (1 - rho) g^2) PyTorch moves about lr / sqrt(1 - rho)
    whatever the gradient, Keras and MXNet less where |g| < sqrt(eps / (1 - rho)), 3e-4."""
    g, v = np.asarray(gradient, dtype=np.float64), np.asarray(second, dtype=np.float64)
    eps = rmsprop["eps"]
    return -lr * g / (np.sqrt(v + eps) if eps_in_root else np.sqrt(v) + eps)


@dataclass
class BatchStatistics:
    """One training-mode call of a batch norm: the batch's `mean` and biased `var` per
    feature, `count` values per feature (batch size times height times width), and the
    rank of the call among the backward passes that reached it (None if none did)."""
    mean: np.ndarray
    var: np.ndarray
    count: int
    backward: int = None


def possible_running_statistics(mean, var, calls, unbiased, in_backward, momentum=0.1):
    """Every (mean, var) that batch norm's running averages may hold after `calls`, each
    moving them a fraction `momentum` (Keras and Gluon write 1 - momentum) towards the
    batch's statistics. PyTorch folds in the unbiased variance, var n / (n - 1)
    (`unbiased`); MXNet updates them in the backward pass (`in_backward`): only calls that
    a gradient reached count, in an order its engine chooses (chapter 6's generators run
    three times in a step), so every order is a candidate; the others, one in call order."""
    orders = [calls]
    if in_backward:
        reached = sorted((c for c in calls if c.backward is not None), key=lambda c: c.backward)
        orders = list(itertools.permutations(reached))
    candidates = []
    for order in orders:
        m, v = np.array(mean, dtype=np.float64), np.array(var, dtype=np.float64)
        for c in order:
            m = (1 - momentum) * m + momentum * c.mean
            v = (1 - momentum) * v + momentum * (c.var * c.count / (c.count - 1)
                                                 if unbiased else c.var)
        candidates.append((m, v))
    return candidates

"""A chapter's parity table: its networks and training steps, compared across frameworks.

    from gan_edu.parity_table import chapter_table
    table = chapter_table(3)
    print(table)      # the table in the chapter's "How the three versions differ"
    table.check()     # every difference within the bar (1e-4), or AssertionError

Every framework builds each network that the chapter saves (`gan_edu.parity_chapters`)
as the chapter does and gets the same random reference weights (moved by
`gan_edu.parity`). The table shows, for each pair of frameworks, the largest relative
difference (`max_relative_error`) of

- the forward outputs for the same inputs, in training mode (batch statistics; dropout
  off) and in inference mode (running statistics);
- two iterations of the chapter's own training steps with its optimiser settings, on
  the same data and noise: the losses, the gradients and the second moments (read
  from Adam's state, m and v; after one step m = (1 - beta_1) g, v = (1 - beta_2) g^2;
  RMSProp without momentum keeps no m, so its gradients are read as they are, and its
  average of squared gradients), and the weights after each step (after clipping, where
  the step clips);

and, for each framework, how far batch norm's running statistics after a step lie from
that framework's own rule (`parity.running_statistics`): the rules differ. PyTorch's
Adam gets the epsilon convention of Keras and MXNet (`parity.adam_epsilon`); RMSProp's
conventions cannot be converted into each other (`parity.rmsprop_update`), so each
framework keeps its own and measure 3 below allows exactly for it. MXNet computes
1 - beta_2 in float32 (1 - 1.3e-5 times the exact value): its second moments lie 1.3e-5
below the others', the largest difference in most tables.

A step may hand tensors to the next (`Step.passes`: CycleGAN's translations, which its
discriminators' step takes); each framework hands on its own, as the chapter's loop does.

Three measures make a training step comparable to 1e-4 whatever the thread count, which
changes the order of float32 sums and so their last digits (about 1e-6 of the largest
value, more for gradients through batch norm):

1. Kinks. Away from them everything a step computes is continuous, but where a ReLU's,
   leaky ReLU's or maxout's derivative jumps, rounding decides the branch, and a flip
   changes a gradient by one example's share (it happened: a leaky ReLU input of -1.1e-7
   made chapter 3's generator gradients differ by 2 % between one and two threads). So
   in a PyTorch run of each step (`calibrate`), every unit whose inputs come within
   KINK_MARGIN (1e-4 of its layer's largest input, 100 times the rounding) of its kink
   gets the bias or batch-norm shift in front of it moved, as little as it takes, until
   no input of any pass comes that close. The forward comparisons keep kinks in play:
   they are continuous there. That cannot work where inputs crowd every kink: chapter
   6's generators see 8 x 28 x 28 x 3 (calls) ReLU inputs per channel in one step, so
   a hundred or more lie within 1e-5 of their kink, the size of the rounding differences
   there (MXNet's batch norm sums in float32), and every move of a bias brings others
   onto theirs (the moves did not settle in 30 rounds). Such a chapter compares its
   training steps in float64 (`Chapter.step_dtype`), where the rounding is 10^9 times
   smaller, and the margin with it (`kink_margin`); its forward comparisons stay in
   float32. The kinks of |x| (L1 losses) are measured, not moved.
2. Lockstep. Each framework keeps its networks and optimisers from step to step, as the
   chapter's loop does (so what a step leaves for the next is compared too: Adam's
   state, compiled graphs and their buffers), but each step starts all of them from the
   same weights, PyTorch's after the step before: no comparison inherits the differences
   of the one before, and each step's kinks can be checked in the state it starts from.
3. Adam's update, lr m_hat / (sqrt(v_hat) + eps'), is about lr whatever the gradient's
   size and steep where |g| is near eps' (3e-7 at the first step): a weight whose
   gradient is that small, as a few of a million are, moves by a part of lr that the
   gradient's last digits decide. So the moments are compared (to 1e-4 of the network's
   largest), and the weights after a step to 1e-4 beyond what Adam's formula makes of
   each framework's own moments, element by element (`parity.adam_update`). RMSProp's
   first update, lr g / sqrt((1 - rho) g^2) in PyTorch, is as steep; its weights after
   are compared beyond what each framework's own rule makes of its own gradients and
   averages (`parity.rmsprop_update`), which also allows for where the rules put eps.
"""

import contextlib
import copy
import itertools
from collections import defaultdict

import numpy as np

from gan_edu import installed
from gan_edu.parity import (
    FRAMEWORKS,
    TRAINED,
    BatchStatistics,
    adam_moments,
    adam_update,
    as_tensor,
    bce_loss,
    built_in,
    channels_first,
    channels_last,
    forward,
    get_weights,
    library,
    match_adam_epsilon,
    max_relative_error,
    optimiser,
    possible_running_statistics,
    quiet,
    rmsprop_state,
    rmsprop_update,
    scalar,
    set_weights,
    weight_kinds,
    weight_objects,
    without_dropout,
)
from gan_edu.parity_chapters import CHAPTERS

__all__ = ["chapter_table", "ParityTable", "reference_weights", "load", "put_weights",
           "compare_nets", "compare_step", "compare_training", "sessions_for", "Session",
           "initialisation_problems", "kink_margin", "BAR", "BATCH", "KINK_MARGIN",
           "ITERATIONS"]

BAR = 1e-4           # the book's bar for every difference
BATCH = 8            # examples per comparison
KINK_MARGIN = 1e-4   # how close, relative to a layer's largest input, no input may come
ITERATIONS = 2       # the second shows what a step leaves for the next
SHORT = {"pytorch": "PT", "tensorflow": "TF", "mxnet": "MX"}
NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet"}


# ---- networks with the reference weights -----------------------------------------------------

def keras_order(chapter, name, arrays, to):
    """`arrays` of network `name` with its flattened axes in Keras' order ("NHWC") or
    back ("NCHW"); entries that are None (untrained moments) stay None."""
    move = channels_last if to == "NHWC" else channels_first
    arrays = list(arrays)
    for index, axis, chw in chapter.nets[name].flattened:
        arrays[index] = move(arrays[index], chw, axis)
    return arrays


def canonical_weights(chapter, framework, nets):
    """Every network's weights in PyTorch's layout and order."""
    weights = {name: get_weights(net, framework) for name, net in nets.items()}
    if framework == "tensorflow":
        weights = {name: keras_order(chapter, name, w, "NCHW") for name, w in weights.items()}
    return weights


def load(chapter, framework, weights, dropout=True):
    """The chapter's networks in `framework`, holding `weights` (PyTorch's layout)."""
    nets = chapter.build(framework)
    if not dropout:
        for net in nets.values():
            without_dropout(framework, net)
    return put_weights(chapter, framework, nets, weights)


def put_weights(chapter, framework, nets, weights):
    """`nets` holding `weights` (every network's, in PyTorch's layout and order)."""
    for name, net in nets.items():
        arrays = weights[name]
        if framework == "tensorflow":
            arrays = keras_order(chapter, name, arrays, "NHWC")
        set_weights(net, framework, arrays)
    return nets


def _draw(rng, shape, kind):
    """A random array that keeps activations of order 1 and batch norm well defined."""
    if kind == "kernel":  # Glorot's normal: fans of a dense or (transposed) conv kernel
        field = int(np.prod(shape[2:]))
        return rng.normal(0, np.sqrt(2 / ((shape[0] + shape[1]) * field)), shape)
    if kind in ("gamma", "var"):  # positive scales and variances
        return rng.uniform(0.5, 1.5, shape)
    return rng.normal(0, 0.2, shape)  # biases, beta, running means


def reference_weights(chapter, framework, seed=0):
    """Random weights for every network of `chapter`, in PyTorch's layout.

    Drawn from the shapes that `framework`'s networks have (the same in all frameworks:
    the parameter-count check), one draw per shared array (InfoGAN's D and Q get the
    same body), so every framework gets the very same numbers.
    """
    rng = np.random.default_rng(seed)
    nets = chapter.build(framework)
    weights, drawn = {}, {}
    for name, arrays in canonical_weights(chapter, framework, nets).items():
        objects = weight_objects(nets[name], framework)
        kinds = weight_kinds(nets[name], framework)
        for a, obj, kind in zip(arrays, objects, kinds):
            if id(obj) not in drawn:
                drawn[id(obj)] = _draw(rng, a.shape, kind).astype(np.float32)
        weights[name] = [drawn[id(obj)] for obj in objects]
    return weights


# ---- forward outputs ---------------------------------------------------------------------------

def _inputs(chapter, seed=1):
    rng = np.random.default_rng(seed)
    return {name: net.inputs(rng, BATCH) for name, net in chapter.nets.items()}


def _shapes(chapter, framework, nets):
    """{network: (shapes layer by layer, trained parameters)} as `framework` builds them."""
    arrays = canonical_weights(chapter, framework, nets)
    return {name: ([a.shape for a in arrays[name]],
                   sum(a.size for a, kind in zip(arrays[name], weight_kinds(net, framework))
                       if kind in TRAINED))
            for name, net in nets.items()}


def compare_nets(chapter, frameworks, weights):
    """{network: NetParity}: every framework's shapes and parameter counts, and the
    forward outputs' differences for `weights`, in inference and in training mode (one
    build per framework, dropout off: inference mode does not use it anyway)."""
    inputs, shapes, outputs = _inputs(chapter), {}, {}
    for fw in frameworks:
        nets = {name: without_dropout(fw, net) for name, net in chapter.build(fw).items()}
        shapes[fw] = _shapes(chapter, fw, nets)
        if shapes[fw] != shapes[frameworks[0]]:
            raise ValueError(f"{chapter.title}: {NAMES[fw]}'s networks have other layers "
                             f"than {NAMES[frameworks[0]]}'s: {shapes[fw]}")
        put_weights(chapter, fw, nets, weights)
        outputs[fw] = {mode: {name: forward(fw, net, inputs[name], mode == "training")
                              for name, net in nets.items()}
                       for mode in ("inference", "training")}  # training mode moves statistics
    pairs = list(itertools.combinations(frameworks, 2))
    return {name: NetParity({fw: shapes[fw][name][0] for fw in frameworks},
                            {fw: shapes[fw][name][1] for fw in frameworks},
                            *({(a, b): max_relative_error(outputs[a][mode][name],
                                                          outputs[b][mode][name])
                               for a, b in pairs} for mode in ("training", "inference")))
            for name in chapter.nets}


# ---- one training step -------------------------------------------------------------------------

class Run:
    """What one framework's step left: losses, weights, and Adam's moments by network as
    (first, second, lr, t), all numpy in PyTorch's layout; the kinds of the weights,
    the networks, and (PyTorch) a Record of the step."""

    def __init__(self, framework, losses, weights, moments, kinds, nets, record=None):
        self.framework, self.losses, self.weights = framework, losses, weights
        self.moments, self.kinds, self.nets, self.record = moments, kinds, nets, record


class Session:
    """One framework's networks and optimisers for a training, kept from step to step as
    the chapter's loop keeps them: what a step leaves for the next (Adam's state, its
    step count, compiled graphs and their buffers) is part of what is compared.

    The networks hold their weights in the chapter's `step_dtype`. `drift` replaces some
    of the training's optimiser settings (Adam's or RMSProp's): a drift to be caught.
    """

    def __init__(self, chapter, training, framework, drift=None):
        self.chapter, self.training, self.framework = chapter, training, framework
        self.dtype = chapter.step_dtype
        self.adam, self.rmsprop = (settings and {**settings, **(drift or {})}
                                   for settings in (training.adam, training.rmsprop))
        nets = built_in(self.dtype, framework, lambda: chapter.build(framework))
        self.nets = {name: without_dropout(framework, net) for name, net in nets.items()}
        self.trainers = {role: optimiser(framework, [self.nets[n] for n in names], lr,
                                         self.adam, self.rmsprop)
                         for role, (names, lr) in training.trainers.items()}
        self.taken = dict.fromkeys(training.trainers, 0)   # steps each optimiser has taken
        self.loss = bce_loss(framework)   # one object: a new one would retrace a tf.function
        self.passed = {}   # what a step hands to the next ones (CycleGAN's translations)

    def run(self, step, weights, data, record=False):
        """`step` from `weights` (loaded into the networks) on `data` (numpy arrays);
        `record` (PyTorch) hooks batch norm's statistics and the inputs of kinks."""
        fw, chapter = self.framework, self.chapter
        put_weights(chapter, fw, self.nets, weights)
        for role in step.roles:
            self.taken[role] += 1
            match_adam_epsilon(fw, self.trainers[role], self.adam, self.taken[role])
        tensors = {key: as_tensor(fw, value, self.dtype) for key, value in data.items()}
        tensors.update(self.passed)
        with quiet(), _recording(self.nets) if record else contextlib.nullcontext() as recorded:
            losses = step.run(library(fw), self.nets, self.trainers, self.loss, tensors)
        self.passed.update({key: losses.pop(key) for key in step.passes})
        return Run(fw, {k: scalar(fw, v) for k, v in losses.items()},
                   canonical_weights(chapter, fw, self.nets), self._moments(step),
                   {name: weight_kinds(net, fw) for name, net in self.nets.items()},
                   self.nets, recorded)

    def _moments(self, step):
        """{network: (first, second, lr, t)}: Adam's moments, or RMSProp's gradients and
        averages of squared gradients; nothing with SGD."""
        state = adam_moments if self.adam is not None else rmsprop_state
        moments = {}
        for role in step.roles if self.adam or self.rmsprop else ():
            names, lr = self.training.trainers[role]
            for name in names:
                first, second = state(self.framework, self.trainers[role], self.nets[name])
                if self.framework == "tensorflow":
                    first, second = (keras_order(self.chapter, name, m, "NCHW")
                                     for m in (first, second))
                moments[name] = first, second, lr, self.taken[role]
        return moments

    def snapshot(self):
        """What a step changes besides the weights (PyTorch: to run a step again)."""
        return dict(self.taken), {r: copy.deepcopy(t.state_dict())
                                  for r, t in self.trainers.items()}

    def restore(self, snapshot):
        taken, states = snapshot
        self.taken = dict(taken)
        for role, state in states.items():
            self.trainers[role].load_state_dict(copy.deepcopy(state))


class Record:
    """A PyTorch step seen through hooks: each batch norm's training-mode calls and the
    inputs of each kink (ReLU, leaky ReLU, maxout), per module, in call order; and the
    inputs of every |x| (the L1 losses of chapter 6), whose kink is at 0."""

    def __init__(self):
        self.norms, self.kinks = defaultdict(list), defaultdict(list)
        self.absolutes = []
        self._backward = itertools.count()

    def batch_norm(self, module, inputs, output):
        if not module.training:
            return
        x = inputs[0].detach().double()
        axes = [0, *range(2, x.ndim)]
        call = BatchStatistics(x.mean(axes).numpy(), x.var(axes, unbiased=False).numpy(),
                               x.numel() // x.shape[1])
        self.norms[module].append(call)
        if output.requires_grad:  # when the gradient reaches this call, MXNet counts it
            output.register_hook(lambda grad: self._reached(call))

    def _reached(self, call):
        if call.backward is None:
            call.backward = next(self._backward)

    def kink(self, module, inputs, output):
        x = inputs[0].detach()
        if _is_maxout(module):  # its kinks are ties between the pieces' values
            pieces = module.linear(x).detach().reshape(len(x), module.units, -1)
            self.kinks[module].append(pieces.double().numpy())
        else:                   # one row per unit (feature or channel)
            self.kinks[module].append(x.double().transpose(0, 1).reshape(x.shape[1], -1).numpy())


def _is_maxout(module):
    return type(module).__name__ == "Maxout"   # chapter 2's, from gan_edu.torch


def _absolutes(record):
    """A mode that records the input of every torch.abs / Tensor.abs in `record`."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Absolutes(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in (torch.abs, torch.Tensor.abs):
                record.absolutes.append(args[0].detach().double().numpy().ravel())
            return func(*args, **(kwargs or {}))
    return Absolutes()


@contextlib.contextmanager
def _recording(nets):
    from torch import nn
    record, handles, seen = Record(), [], set()
    for net in nets.values():
        for module in net.modules():
            if id(module) in seen:
                continue
            seen.add(id(module))
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                handles.append(module.register_forward_hook(record.batch_norm))
            elif isinstance(module, (nn.ReLU, nn.LeakyReLU)) or _is_maxout(module):
                handles.append(module.register_forward_hook(record.kink))
    try:
        with _absolutes(record):
            yield record
    finally:
        for handle in handles:
            handle.remove()


# ---- keeping a step away from kinks -------------------------------------------------------------

def _nearest_clear_point(values, margin):
    """The point nearest 0 that no value comes within `margin` of."""
    v = np.sort(values)
    lows = np.concatenate([[-np.inf], v + margin])   # clear intervals lie between
    highs = np.concatenate([v - margin, [np.inf]])   # neighbouring values
    clear = lows <= highs
    points = np.clip(0.0, lows[clear], highs[clear])
    return points[np.argmin(np.abs(points))]


def kink_margin(dtype):
    """KINK_MARGIN for steps in float32; in another float type, the same multiple of its
    rounding (1.9e-13 in float64)."""
    return KINK_MARGIN * float(np.finfo(dtype).eps / np.finfo(np.float32).eps)


def _kink_shift(module, calls, margin=KINK_MARGIN):
    """(margin, shift): the smallest distance of the module's inputs to a kink relative
    to its largest input, and the change of the bias in front of it that moves every
    unit closer than `margin` to twice that distance (twice, so that rounding cannot
    undo the move; None where no unit is that close)."""
    if _is_maxout(module):
        return _maxout_shift(np.concatenate(calls), margin)
    x = np.concatenate(calls, axis=1)     # (units, values)
    scale = np.abs(x).max()
    nearest = np.abs(x).min(axis=1)
    shift = np.zeros(len(x))
    for u in np.flatnonzero(nearest < margin * scale):
        shift[u] = -_nearest_clear_point(x[u], 2 * margin * scale)
    return nearest.min() / scale, shift if shift.any() else None


def _maxout_shift(x, margin):
    """`_kink_shift` for maxout's pieces x (values, units, pieces): its kinks are ties
    of the two largest pieces. A unit with a near tie has the piece that wins most
    often raised until it wins every time by twice the margin."""
    scale = np.abs(x).max()
    top = np.sort(x, axis=2)
    gaps = (top[..., -1] - top[..., -2]).min(axis=0)
    shift = np.zeros(x.shape[1:])
    for u in np.flatnonzero(gaps < margin * scale):
        best = np.bincount(x[:, u].argmax(axis=1), minlength=x.shape[2]).argmax()
        others = np.delete(x[:, u], best, axis=1).max(axis=1)
        shift[u, best] = (others - x[:, u, best]).max() + 2 * margin * scale
    return gaps.min() / scale, shift.ravel() if shift.any() else None


def _bias_in_front(nets, module):
    """The bias (or batch norm's beta) that shifts the inputs of a kink module."""
    if _is_maxout(module):
        return module.linear.bias
    for parent in (m for net in nets.values() for m in net.modules()):
        children = list(parent.children())
        for before, child in zip([None, *children], children):
            if child is module:
                if getattr(before, "bias", None) is None:
                    raise ValueError(f"no bias in front of {module} moves its inputs")
                return before.bias
    raise ValueError(f"{module} is in none of the networks")


def _add(nets, weights, parameter, shift):
    """Add `shift` to `parameter` in every network's weight list that holds it."""
    for name, net in nets.items():
        for i, obj in enumerate(weight_objects(net, "pytorch")):
            if obj is parameter:
                weights[name][i] = (weights[name][i] + shift).astype(weights[name][i].dtype)


def calibrate(session, step, weights, data, rounds=10):
    """(weights, run, margin): `weights` (in the session's float type) with biases moved
    off the kinks of every pass of `step`, the PyTorch `session`'s run of the step from
    them (recorded), and the smallest distance of an input to its kink relative to its
    layer's largest input. The kinks of |x| are measured too but not moved: their
    inputs are data minus outputs, which no bias shifts alone."""
    weights = {name: [a.astype(session.dtype) for a in arrays] for name, arrays in weights.items()}
    margin = kink_margin(session.dtype)
    for _ in range(rounds):
        before = session.snapshot()
        run = session.run(step, weights, data, record=True)
        margins = [np.inf] + [np.abs(x).min() / np.abs(x).max() for x in run.record.absolutes]
        moved = False
        for module, calls in run.record.kinks.items():
            nearest, shift = _kink_shift(module, calls, margin)
            margins.append(nearest)
            if shift is not None:
                _add(run.nets, weights, _bias_in_front(run.nets, module), shift)
                moved = True
        if not moved:
            return weights, run, min(margins)
        session.restore(before)
    raise RuntimeError(f"{step.name}: inputs still within {margin:.1e} of a kink after "
                       f"{rounds} rounds of moving biases")


# ---- comparing the steps ------------------------------------------------------------------------

def _trained(run):
    for name, arrays in run.weights.items():
        for i, (a, kind) in enumerate(zip(arrays, run.kinds[name])):
            if kind in TRAINED:
                yield (name, i), a


def _updates(run, training):
    """{(network, index): the update the optimiser made, from this run's own state (Adam's
    moments; RMSProp's gradient and squared average, by the framework's own rule)} for
    every array the step trained, also where another network holds it (InfoGAN's body)."""
    def update(first, second, lr, t):
        if training.adam is not None:
            return adam_update(first, second, lr, training.adam, t)
        return rmsprop_update(first, second, lr, training.rmsprop, run.framework)
    by_object = {}
    for name, (first, second, lr, t) in run.moments.items():
        for obj, m, v in zip(weight_objects(run.nets[name], run.framework), first, second):
            if m is not None:
                by_object[id(obj)] = update(m, v, lr, t)
    return {(name, i): by_object[id(obj)] for name, net in run.nets.items()
            for i, obj in enumerate(weight_objects(net, run.framework)) if id(obj) in by_object}


def _weights_error(run_a, run_b, training):
    """The weights' largest relative difference after a step, beyond what the optimiser's
    update makes of the two frameworks' own state: each element may differ by
    |update_a - update_b| (measure 3 of the module's docstring; with RMSProp this also
    holds the real difference of its epsilon's place). Weight clipping after the update
    brings two weights no further apart, so the allowance stands."""
    updates_a, updates_b = (_updates(r, training) for r in (run_a, run_b))
    trained_b, worst = dict(_trained(run_b)), 0.0
    for key, a in _trained(run_a):
        b = trained_b[key]
        gap = np.abs(a.astype(np.float64) - b)
        if key in updates_b:
            gap -= np.abs(updates_a[key] - updates_b[key])
        worst = max(worst, gap.max() / max(np.abs(b).max(), np.finfo(np.float32).tiny))
    return max(worst, 0.0)


def _moments_error(run_a, run_b, which):
    """The largest difference of Adam's first (`which` 0) or second (1) moments, relative
    to the largest in the network.

    Relative to the network's largest, not the array's: an array whose gradient is zero
    in exact arithmetic (a bias in front of batch norm, which cancels any shift) holds
    rounding noise only, and two frameworks' noise differs by its own size.
    """
    worst = None
    for name in run_b.moments:
        pairs = [(a, b) for a, b in zip(run_a.moments[name][which], run_b.moments[name][which])
                 if b is not None]
        if pairs:
            scale = max(np.abs(b).max() for _, b in pairs)
            error = max(np.abs(a - b).max() for a, b in pairs) / scale
            worst = error if worst is None else max(worst, error)
    return worst


def _differences(run_a, run_b, training):
    """{what: error}: the largest relative differences of two runs of a step."""
    return {"losses": max(max_relative_error(run_a.losses[k], run_b.losses[k])
                          for k in run_b.losses),
            "gradients": _moments_error(run_a, run_b, 0),
            "second moments": _moments_error(run_a, run_b, 1),
            "weights after": _weights_error(run_a, run_b, training)}


def predicted_statistics(pytorch_run, weights, framework):
    """{(network, index of the running mean, of the variance): [(mean, var), ...]}: the
    running statistics after the step that `framework`'s rule allows, from `weights`
    before it and the batch statistics that PyTorch's run recorded."""
    predicted = {}
    for name, net in pytorch_run.nets.items():
        objects = weight_objects(net, "pytorch")
        for module, calls in pytorch_run.record.norms.items():
            where = [i for i, obj in enumerate(objects)
                     if obj is module.running_mean or obj is module.running_var]
            if where:
                i, j = where
                predicted[name, i, j] = possible_running_statistics(
                    weights[name][i], weights[name][j], calls, framework)
    return predicted


class StepParity:
    """One step compared: `errors` maps 'losses', 'gradients', 'second moments' (Adam's;
    None with SGD) and 'weights after' to {pair: error}; `statistics` maps a framework
    to the error of its running statistics against its own rule, `statistics_gaps` a
    pair to how far their running statistics lie apart (the rules' real difference);
    `margin` is the smallest relative distance of an input to a kink (None without
    PyTorch); `iteration` counts from 1."""

    def __init__(self, step, iteration, errors, statistics, statistics_gaps, margin):
        self.step, self.iteration, self.errors, self.margin = step, iteration, errors, margin
        self.statistics, self.statistics_gaps = statistics, statistics_gaps


def compare_step(sessions, step, weights, data, iteration=1):
    """(StepParity, the weights after the step): `step` run by every framework's Session
    from the same `weights`, kept off kinks (`calibrate`), on the same `data`. The
    weights after are PyTorch's (or the first framework's)."""
    runs, margin = {}, None
    if "pytorch" in sessions:
        weights, runs["pytorch"], margin = calibrate(sessions["pytorch"], step, weights, data)
    for fw, session in sessions.items():
        if fw not in runs:
            runs[fw] = session.run(step, weights, data)
    training = next(iter(sessions.values())).training
    differences = {pair: _differences(runs[pair[0]], runs[pair[1]], training)
                   for pair in itertools.combinations(runs, 2)}
    errors = {what: {pair: d[what] for pair, d in differences.items()}
              for what in next(iter(differences.values()))}
    parity = StepParity(step, iteration, errors, *_statistics(runs, weights), margin)
    return parity, next(iter(runs.values())).weights


def _statistics(runs, weights):
    """({framework: error against its own rule}, {pair: difference between the two}) of
    batch norm's running statistics after a step; empty without batch norm or PyTorch."""
    if "pytorch" not in runs or not runs["pytorch"].record.norms:
        return {}, {}

    def error(run, name, i, j, candidates):   # against the candidate that fits best
        return min(max(max_relative_error(run.weights[name][i], mean),
                       max_relative_error(run.weights[name][j], var))
                   for mean, var in candidates)
    own = {fw: max(error(run, *where, candidates) for where, candidates
                   in predicted_statistics(runs["pytorch"], weights, fw).items())
           for fw, run in runs.items()}
    where = [(name, k) for name, i, j in predicted_statistics(runs["pytorch"], weights, "pytorch")
             for k in (i, j)]
    gaps = {(a, b): max(max_relative_error(runs[a].weights[name][k], runs[b].weights[name][k])
                        for name, k in where)
            for a, b in itertools.combinations(runs, 2)}
    return own, gaps


def sessions_for(chapter, training, frameworks, drift=None):
    """{framework: Session}; `drift` maps a framework to optimiser settings (Adam's or
    RMSProp's) that replace the chapter's there, a drift the comparison must catch."""
    drift = drift or {}
    return {fw: Session(chapter, training, fw, drift.get(fw)) for fw in frameworks}


def compare_training(chapter, training, frameworks, weights, drift=None, seed=2):
    """[StepParity, ...] of ITERATIONS iterations of `training`'s steps, in lockstep: each
    framework keeps its networks and optimisers, and each step starts all of them from
    the same weights, `weights` and then PyTorch's (or the first framework's) after the
    step before. `drift` as for `sessions_for`."""
    rng = np.random.default_rng(seed)
    sessions = sessions_for(chapter, training, frameworks, drift)
    parities = []
    for iteration in range(1, ITERATIONS + 1):
        data = training.data(rng, BATCH)   # fresh data and noise, as in the chapter's loop
        for step in training.steps:
            parity, weights = compare_step(sessions, step, weights, data, iteration)
            parities.append(parity)
    return parities


# ---- initialisation ------------------------------------------------------------------------------

# Kernels in units of the chapter's scale (Glorot's bound sqrt(6 / (fan_in + fan_out)),
# or 0.02) follow U(-1, 1) or N(0, 1): their std, kurtosis and 8th moment (for the
# kurtosis' sampling error), and the largest value they can take.
INITIAL = {"glorot uniform": dict(std=3 ** -0.5, kurtosis=1.8, moment_8=9.0, bound=1.0),
           "normal 0.02": dict(std=1.0, kurtosis=3.0, moment_8=105.0, bound=np.inf)}


def _init_scale(init, shape):
    if init == "normal 0.02":
        return 0.02
    field = int(np.prod(shape[2:]))
    return np.sqrt(6 / ((shape[0] + shape[1]) * field))


def initialisation_problems(number, framework, sigmas=5):
    """What in chapter `number`'s networks, as `framework` initialises them, does not
    follow the chapter's initial distribution: kernels' mean, std and kurtosis more
    than `sigmas` standard errors off, values beyond the bound, and biases, beta and
    running means not 0 or gamma and running variances not 1. Empty if all is well.

    Every framework draws from its own generator, so the values differ; their moments
    over all kernels (each array once) must not.
    """
    chapter = CHAPTERS[number]
    nets = chapter.build(framework)
    seen, kernels, problems = set(), [], []
    for name, arrays in canonical_weights(chapter, framework, nets).items():
        objects, kinds = weight_objects(nets[name], framework), weight_kinds(nets[name], framework)
        for a, obj, kind in zip(arrays, objects, kinds):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if kind == "kernel":
                kernels.append(a.ravel() / _init_scale(chapter.init, a.shape))
            elif not np.all(a == (1 if kind in ("gamma", "var") else 0)):
                problems.append(f"{name}: a {kind} does not start at its initial value")
    x = np.concatenate(kernels).astype(np.float64)
    want, n = INITIAL[chapter.init], x.size
    std, kurtosis = x.std(), np.mean((x - x.mean()) ** 4) / x.var() ** 2
    for what, got, expected, error in (
            ("mean", x.mean(), 0.0, want["std"] / np.sqrt(n)),
            ("std", std, want["std"], want["std"] * np.sqrt((want["kurtosis"] - 1) / (4 * n))),
            ("kurtosis", kurtosis, want["kurtosis"],
             np.sqrt((want["moment_8"] - want["kurtosis"] ** 2) / n))):
        if abs(got - expected) > sigmas * error:
            problems.append(f"kernels' {what} {got:.4g}, the chapter's {expected:.4g} "
                            f"(standard error {error:.2g}, {n} values)")
    if np.abs(x).max() > want["bound"] * (1 + 1e-6):
        problems.append(f"a kernel value {np.abs(x).max():.4g} beyond the bound")
    return problems


# ---- the table --------------------------------------------------------------------------------

class NetParity:
    """One network compared: shapes and trained-parameter counts per framework, and the
    forward outputs' {pair: error} in training and inference mode."""

    def __init__(self, shapes, counts, training, inference):
        self.shapes, self.counts = shapes, counts
        self.forward = {"training": training, "inference": inference}


class ParityTable:
    """A chapter's parity measurements; `str()` is the table, `check()` asserts the bar.

    `nets` maps each network to its NetParity; `trainings` maps each Training of the
    chapter to its steps' StepParity.
    """

    def __init__(self, number, chapter, frameworks, nets, trainings):
        self.number, self.chapter, self.frameworks = number, chapter, frameworks
        self.nets, self.trainings = nets, trainings

    def measurements(self):
        """(what, error) for every number that the bar applies to."""
        for name, net in self.nets.items():
            for mode, errors in net.forward.items():
                for pair, e in errors.items():
                    yield f"{name}: forward, {mode} mode, {_pair(pair)}", e
        for training, steps in self.trainings.items():
            for s in steps:
                where = f"{training.name}, iteration {s.iteration}, {s.step.name}"
                for what, errors in s.errors.items():
                    for pair, e in errors.items():
                        if e is not None:
                            yield f"{where}: {what}, {_pair(pair)}", e
                for fw, e in s.statistics.items():
                    yield f"{where}: running statistics by {NAMES[fw]}'s rule", e

    def failures(self, bar=BAR):
        """What exceeds `bar` (or is not a number)."""
        return [f"{what}: {e:.1e}" for what, e in self.measurements() if not e <= bar]

    def check(self, bar=BAR):
        """Raise AssertionError listing every difference above `bar`."""
        bad = self.failures(bar)
        assert not bad, f"chapter {self.number}: differences above {bar:g}:\n" + "\n".join(bad)

    def verdict(self, bar=BAR):
        """One line that does not depend on the machine, for a notebook's output."""
        names = ", ".join(NAMES[fw] for fw in self.frameworks)
        if len(self.frameworks) < 2:
            return (f"Chapter {self.number}: a comparison needs two frameworks; "
                    f"installed: {names or 'none'}.")
        if self.failures(bar):
            return f"Chapter {self.number}: {names} DIFFER by more than {bar:g}."
        return (f"Chapter {self.number}: {names} compute the same networks and training "
                f"steps (every difference within {bar:g}).")

    def __str__(self):
        if len(self.frameworks) < 2:
            return self.verdict()
        return "\n".join(_render(self))


def _pair(pair):
    return "-".join(SHORT[fw] for fw in pair)


def _settings(training):
    rates = ", ".join(f"{role} {lr:g}" for role, (_, lr) in training.trainers.items())
    if training.adam is not None:
        betas, eps = training.adam["betas"], training.adam["eps"]
        return f"Adam, lr {rates}, betas {betas}, eps {eps:g}"
    if training.rmsprop is not None:
        rho, eps = training.rmsprop["rho"], training.rmsprop["eps"]
        return f"RMSProp, lr {rates}, rho {rho:g}, eps {eps:g}"
    return f"SGD, lr {rates}"


def _render(table):
    """The table's lines: the networks, then each training's iterations (the largest
    difference over their steps)."""
    pairs = list(itertools.combinations(table.frameworks, 2))
    width, columns = max(map(len, table.nets)) + 2, 9 * len(pairs)
    head = "".join(f"{_pair(p):>9}" for p in pairs)

    def cells(errors):
        return "".join(" " * 9 if errors.get(p) is None else f"{errors[p]:>9.1e}" for p in pairs)

    yield (f"Chapter {table.number} ({table.chapter.title}) in "
           + ", ".join(f"{NAMES[fw]} ({SHORT[fw]})" for fw in table.frameworks)
           + ": the same weights and inputs.")
    yield f"Largest relative difference between two frameworks; the bar is {BAR:g}."
    yield ""
    yield (f"{'':{width}}{'trained':<20}{'forward, training':>{columns}}"
           f"  {'forward, inference':>{columns}}")
    yield f"{'network':{width}}{'parameters':<20}{head}  {head}"
    for name, net in table.nets.items():
        yield (f"{name:{width}}{_counts(table.frameworks, net):<20}"
               f"{cells(net.forward['training'])}  {cells(net.forward['inference'])}")
    for training, steps in table.trainings.items():
        names = ", ".join(dict.fromkeys(s.step.name for s in steps))
        yield ""
        dtype = table.chapter.step_dtype
        precision = "" if dtype == "float32" else f", in {dtype}"
        yield (f"{ITERATIONS} iterations of the {training.name} ({names}), "
               f"batch {BATCH}{precision}:")
        yield f"  {_settings(training)}"
        yield f"{'':{width + 20}}{head}"
        for what in steps[0].errors:
            worst = {p: max((s.errors[what][p] for s in steps
                             if s.errors[what][p] is not None), default=None) for p in pairs}
            if any(e is not None for e in worst.values()):
                yield f"{what:{width + 20}}{cells(worst)}"
        if steps[0].statistics:
            rules = "  ".join(f"{SHORT[fw]} {max(s.statistics[fw] for s in steps):.1e}"
                              for fw in table.frameworks)
            yield f"running statistics, each framework by its own rule: {rules}"
    yield ""
    yield ("weights after: beyond what Adam's update, steep for gradients near eps, makes of "
           "each framework's own moments")
    if any(t.rmsprop is not None for t in table.trainings):
        yield ("RMSProp: gradients as computed, second moments the averages of squared "
               "gradients; weights after:")
        yield ("  beyond what RMSProp's update, eps where each framework puts it, makes of "
               "each one's own state")


def _counts(frameworks, net):
    return f"{net.counts[frameworks[0]]:,} (all {len(frameworks)})"   # the layers agree


def chapter_table(number, frameworks=None):
    """Compare chapter `number`'s networks and training steps across `frameworks` (by
    default every installed one) and return the ParityTable."""
    chapter = CHAPTERS[number]
    frameworks = [fw for fw in (frameworks or FRAMEWORKS) if installed(fw)]
    if len(frameworks) < 2:  # a reader with one framework: nothing to compare
        return ParityTable(number, chapter, frameworks, {}, {})
    weights = reference_weights(chapter, frameworks[0])
    nets = compare_nets(chapter, frameworks, weights)
    trainings = {t: compare_training(chapter, t, frameworks, weights) for t in chapter.trainings}
    return ParityTable(number, chapter, frameworks, nets, trainings)

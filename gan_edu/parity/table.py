"""A chapter's parity table: its networks and training steps, compared across frameworks.

Every framework builds the chapter's networks (`chapters`) with the same random weights.
For each pair of frameworks the table shows the largest relative difference of the
forward outputs (float32, as the chapters run; training mode with dropout off, and
inference mode) and of two iterations of the chapter's training steps (float64): losses,
gradients and second moments from the optimiser's state, weights after each step. For
each framework it shows how far batch norm's running statistics lie from its own rule.

The steps run in float64 since rounding, which depends on the order of sums and so on the
thread count, decides the branch of an input near a kink (ReLU, maxout), and a flip moves
a gradient by one example's share: float32 rounding reaches inputs within 1e-6 of their
layer's largest, float64 within 1e-15, far closer than the steps' inputs come. They run
in lockstep: each framework keeps its networks and optimisers from step to step, as the
chapter's loop does, but every step starts from the same weights (PyTorch's after the
step before). Adam's and RMSProp's first updates are about lr whatever the gradient, and
steep where |g| is near eps: the weights after a step are compared beyond what each
framework's rule makes of its own optimiser state (`rules`).
"""

import contextlib
import itertools
import logging
from collections import namedtuple

import numpy as np

from gan_edu import installed
from gan_edu.parity import FRAMEWORKS, adapter
from gan_edu.parity.chapters import CHAPTERS, call
from gan_edu.parity.rules import (
    adam_update,
    max_relative_error,
    possible_running_statistics,
    rmsprop_update,
)

BAR = 1e-4             # the book's bar for every difference
BATCH = 8              # examples per comparison
ITERATIONS = 2         # the second shows what a step leaves for the next
STEP_DTYPE = "float64"
TRAINED = ("kernel", "bias", "gamma", "beta")   # the other kinds are running statistics
SHORT = {"pytorch": "PT", "tensorflow": "TF", "mxnet": "MX"}
NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet"}


@contextlib.contextmanager
def quiet():
    """TensorFlow's logger quiet: the library's steps are traced anew for every network
    compared, which TensorFlow would report as frequent retracing."""
    logger = logging.getLogger("tensorflow")
    level, _ = logger.level, logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# ---- networks with the reference weights -----------------------------------------------------

def put_weights(a, nets, weights):
    """`nets` of the adapter `a`, holding `weights` ({network: arrays})."""
    for name, net in nets.items():
        a.set_weights(net, weights[name])
    return nets


def _draw(rng, shape, kind):
    """A random array that keeps activations of order 1 and batch norm well defined."""
    if kind == "kernel":   # Glorot's normal: fans of a dense or (transposed) conv kernel
        field = int(np.prod(shape[2:]))
        return rng.normal(0, np.sqrt(2 / ((shape[0] + shape[1]) * field)), shape)
    if kind in ("gamma", "var"):   # positive scales and variances
        return rng.uniform(0.5, 1.5, shape)
    return rng.normal(0, 0.2, shape)   # biases, beta, running means


def entries(a, nets):
    """{network: [(array, object, kind), ...]} in `get_weights`' order."""
    return {name: list(zip(a.get_weights(net), a.objects(net), a.kinds(net)))
            for name, net in nets.items()}


def reference_weights(chapter, framework="pytorch", seed=0):
    """Random weights for every network of `chapter`, from the shapes of `framework`'s
    (the same in every framework: a test checks), one draw per shared array (InfoGAN's
    D and Q get the same body)."""
    rng, a, drawn = np.random.default_rng(seed), adapter(framework), {}
    weights = {}
    for name, arrays in entries(a, chapter.build(a)).items():
        for array, obj, kind in arrays:
            if id(obj) not in drawn:
                drawn[id(obj)] = _draw(rng, array.shape, kind).astype(np.float32)
        weights[name] = [drawn[id(obj)] for _, obj, _ in arrays]
    return weights


# ---- forward outputs ---------------------------------------------------------------------------

# One network compared: its shapes and trained-parameter counts per framework, and the
# forward outputs' {pair: error} by mode ('training', 'inference').
NetParity = namedtuple("NetParity", "shapes counts forward")


def compare_nets(chapter, frameworks, weights):
    """{network: NetParity} for `weights`, one build per framework, dropout off."""
    rng = np.random.default_rng(1)
    inputs = {name: [draw(rng, BATCH) for draw in draws] for name, draws in chapter.inputs.items()}
    shapes, counts, outputs = {}, {}, {}
    for fw in frameworks:
        a = adapter(fw)
        nets = {name: a.without_dropout(net) for name, net in chapter.build(a).items()}
        arrays = entries(a, nets)
        shapes[fw] = {n: [w.shape for w, _, _ in arrays[n]] for n in nets}
        counts[fw] = {n: sum(w.size for w, _, kind in arrays[n] if kind in TRAINED) for n in nets}
        put_weights(a, nets, weights)
        outputs[fw] = {mode: {n: a.forward(net, inputs[n], mode == "training")
                              for n, net in nets.items()}
                       for mode in ("inference", "training")}   # training moves statistics
    pairs = list(itertools.combinations(frameworks, 2))
    return {n: NetParity({fw: shapes[fw][n] for fw in frameworks},
                         {fw: counts[fw][n] for fw in frameworks},
                         {mode: {(x, y): max_relative_error(outputs[x][mode][n],
                                                            outputs[y][mode][n]) for x, y in pairs}
                          for mode in ("training", "inference")})
            for n in chapter.inputs}


# ---- training steps ------------------------------------------------------------------------------

# What one framework's step left: losses, every network's weights, the optimiser state of
# those it trained {network: (first, second, lr, step)}, and (PyTorch) batch norms' calls.
Run = namedtuple("Run", "a losses weights state nets kinds record")


class Session:
    """One framework's networks and optimisers for a training, in float64, kept from step
    to step; `drift` replaces some optimiser settings: a drift the comparison must catch."""

    def __init__(self, chapter, training, framework, drift=None):
        self.a, self.training = adapter(framework), training
        self.adam, self.rmsprop = (settings and {**settings, **(drift or {})}
                                   for settings in (training.adam, training.rmsprop))
        nets = self.a.build_in(STEP_DTYPE, lambda: chapter.build(self.a))
        self.nets = {name: self.a.without_dropout(net) for name, net in nets.items()}
        self.kinds = {name: self.a.kinds(net) for name, net in self.nets.items()}
        self.trainers = {role: self.a.optimiser([self.nets[n] for n in names], lr,
                                                self.adam, self.rmsprop)
                         for role, (names, lr) in training.trainers.items()}
        self.taken = dict.fromkeys(training.trainers, 0)   # steps each optimiser took
        self.loss = self.a.bce_loss(STEP_DTYPE)   # one object: a new one would retrace
        self.passed = {}   # what a step hands to the next ones (CycleGAN's translations)

    def run(self, step, weights, data, record=False):
        """`step` from `weights`, on `data` (numpy arrays); `record` (PyTorch) watches it."""
        a, roles = self.a, [name for name in step.args if name in self.trainers]
        put_weights(a, self.nets, {n: [w.astype(STEP_DTYPE) for w in arrays]
                                   for n, arrays in weights.items()})
        for role in roles:
            self.taken[role] += 1
        values = {**{k: a.tensor(v, STEP_DTYPE) for k, v in data.items()}, **self.passed,
                  **self.nets, **self.trainers, "loss": self.loss}
        with quiet(), a.recording(self.nets) if record else contextlib.nullcontext() as seen:
            out = call(step, a.library, values)
        self.passed.update({k: v for k, v in out.items() if not k.startswith("loss")})
        state = {}
        for role in roles if self.adam or self.rmsprop else ():
            names, lr = self.training.trainers[role]
            for n in names:
                state[n] = (*a.optimiser_state(self.trainers[role], self.nets[n]), lr,
                            self.taken[role])
        return Run(a, {k: a.numpy(v).item() for k, v in out.items() if k.startswith("loss")},
                   {n: a.get_weights(net) for n, net in self.nets.items()}, state, self.nets,
                   self.kinds, seen)


def _updates(run, training):
    """{(network, index): the update that the optimiser's rule makes of this run's own
    state} for every array the step trained, also where another network holds it."""
    by_object = {}
    for name, (first, second, lr, t) in run.state.items():
        for obj, m, v in zip(run.a.objects(run.nets[name]), first, second):
            if m is not None:
                by_object[id(obj)] = (adam_update(m, v, lr, training.adam, t)
                                      if training.adam is not None else
                                      rmsprop_update(m, v, lr, training.rmsprop,
                                                     run.a.RMSPROP_EPS_IN_ROOT))
    return {(name, i): by_object[id(obj)] for name, net in run.nets.items()
            for i, obj in enumerate(run.a.objects(net)) if id(obj) in by_object}


def _weights_error(run_a, run_b, training, kinds=TRAINED):
    """The largest relative difference of the arrays of `kinds` (None: all, running
    statistics too) after a step, beyond |update_a - update_b| element by element.
    Clipping after the update brings two weights no further apart."""
    updates_a, updates_b = _updates(run_a, training), _updates(run_b, training)
    worst = 0.0
    for name, arrays in run_b.weights.items():
        for i, (b, kind) in enumerate(zip(arrays, run_b.kinds[name])):
            if kinds is None or kind in kinds:
                gap = np.abs(run_a.weights[name][i] - b)
                if (name, i) in updates_b:
                    gap -= np.abs(updates_a[name, i] - updates_b[name, i])
                worst = max(worst, gap.max() / max(np.abs(b).max(), np.finfo(np.float32).tiny))
    return worst


def _state_error(run_a, run_b, which):
    """The largest difference of the optimiser's first (`which` 0) or second (1) state,
    relative to the largest in the network: an array whose gradient is zero in exact
    arithmetic (a bias in front of batch norm) holds rounding noise only."""
    worst = None
    for name in run_b.state:
        pairs = [(x, y) for x, y in zip(run_a.state[name][which], run_b.state[name][which])
                 if y is not None]
        if pairs:
            error = (max(np.abs(x - y).max() for x, y in pairs)
                     / max(np.abs(y).max() for _, y in pairs))
            worst = error if worst is None else max(worst, error)
    return worst


def predicted_statistics(pytorch_run, weights, framework):
    """{(network, index of the running mean, of the variance): [(mean, var), ...]}: what
    `framework`'s rule allows after the step, from `weights` before it and the batch
    statistics that PyTorch's run recorded."""
    a = adapter(framework)
    return {(name, i, j): possible_running_statistics(
                weights[name][i], weights[name][j], calls, a.UNBIASED_RUNNING_VARIANCE,
                a.STATISTICS_IN_BACKWARD)
            for name, net in pytorch_run.nets.items()
            for (i, j), calls in pytorch_run.a.statistics_calls(pytorch_run.record, net).items()}


def _statistics(runs, weights):
    """({framework: error against its own rule}, {pair: gap between the two}) of batch
    norm's running statistics after a step; empty without batch norm or PyTorch."""
    if "pytorch" not in runs or not runs["pytorch"].record:
        return {}, {}
    predicted = {fw: predicted_statistics(runs["pytorch"], weights, fw) for fw in runs}
    own = {fw: max(min(max(max_relative_error(run.weights[n][i], mean),
                           max_relative_error(run.weights[n][j], var))
                       for mean, var in candidates)
                   for (n, i, j), candidates in predicted[fw].items())
           for fw, run in runs.items()}
    where = [(n, k) for n, i, j in predicted["pytorch"] for k in (i, j)]
    gaps = {(x, y): max(max_relative_error(runs[x].weights[n][k], runs[y].weights[n][k])
                        for n, k in where)
            for x, y in itertools.combinations(runs, 2)}
    return own, gaps


# One step compared: `errors` maps 'losses', 'gradients', 'second moments' (None with SGD),
# 'weights after' to {pair: error}; `statistics` a framework to its running statistics'
# error against its own rule, `statistics_gaps` a pair to how far theirs lie apart.
StepParity = namedtuple("StepParity", "step iteration errors statistics statistics_gaps")


def compare_step(sessions, step, weights, data, iteration=1):
    """(StepParity, the first framework's weights after): `step` run by every framework's
    Session from the same `weights` on the same `data`."""
    runs = {fw: s.run(step, weights, data, record=fw == "pytorch") for fw, s in sessions.items()}
    training = next(iter(sessions.values())).training
    pairs = list(itertools.combinations(runs, 2))
    # A step without an optimiser (G's average) follows one rule everywhere: all its
    # arrays, running statistics too, must agree.
    kinds = TRAINED if any(name in training.trainers for name in step.args) else None
    errors = {"losses": {(x, y): max((max_relative_error(runs[x].losses[k], runs[y].losses[k])
                                      for k in runs[y].losses), default=None) for x, y in pairs},
              "gradients": {(x, y): _state_error(runs[x], runs[y], 0) for x, y in pairs},
              "second moments": {(x, y): _state_error(runs[x], runs[y], 1) for x, y in pairs},
              "weights after": {(x, y): _weights_error(runs[x], runs[y], training, kinds)
                                for x, y in pairs}}
    parity = StepParity(step, iteration, errors, *_statistics(runs, weights))
    return parity, next(iter(runs.values())).weights


def compare_training(chapter, training, frameworks, weights, drift=None, seed=2):
    """[StepParity, ...] of ITERATIONS iterations of `training`'s steps, in lockstep from
    `weights`; `drift` maps a framework to optimiser settings that replace the chapter's."""
    rng = np.random.default_rng(seed)
    sessions = {fw: Session(chapter, training, fw, (drift or {}).get(fw)) for fw in frameworks}
    parities = []
    for iteration in range(1, ITERATIONS + 1):
        data = training.data(rng, BATCH)   # fresh data and noise, as in the chapter's loop
        for step in training.steps:
            parity, weights = compare_step(sessions, step, weights, data, iteration)
            parities.append(parity)
    return parities


# ---- the table --------------------------------------------------------------------------------

class ParityTable:
    """A chapter's parity measurements; `str()` is the table, `check()` asserts the bar.
    `nets` maps each network to its NetParity, `trainings` each Training of the chapter
    to its steps' StepParity."""

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
                    yield from ((f"{where}: {what}, {_pair(pair)}", e)
                                for pair, e in errors.items() if e is not None)
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
        return "\n".join(_render(self)) if len(self.frameworks) > 1 else self.verdict()


def _pair(pair):
    return "-".join(SHORT[fw] for fw in pair)


def _settings(training):
    rates = ", ".join(f"{role} {lr:g}" for role, (_, lr) in training.trainers.items())
    if training.adam is not None:
        return f"Adam, lr {rates}, betas {training.adam['betas']}, eps {training.adam['eps']:g}"
    if training.rmsprop is not None:
        return f"RMSProp, lr {rates}, rho {training.rmsprop['rho']:g}, " \
               f"eps {training.rmsprop['eps']:g}"
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
        counts = f"{net.counts[table.frameworks[0]]:,} (all {len(table.frameworks)})"
        yield (f"{name:{width}}{counts:<20}"
               f"{cells(net.forward['training'])}  {cells(net.forward['inference'])}")
    for training, steps in table.trainings.items():
        names = ", ".join(dict.fromkeys(s.step.name for s in steps))
        yield ""
        yield (f"{ITERATIONS} iterations of the {training.name} ({names}), "
               f"batch {BATCH}, in {STEP_DTYPE}:")
        yield f"  {_settings(training)}"
        yield f"{'':{width + 20}}{head}"
        for what in steps[0].errors:
            worst = {p: max((s.errors[what][p] for s in steps
                             if s.errors[what][p] is not None), default=None) for p in pairs}
            if any(e is not None for e in worst.values()):
                yield f"{what:{width + 20}}{cells(worst)}"
        if steps[0].statistics:   # (a step that runs no network has none)
            rules = "  ".join(f"{SHORT[fw]} "
                              f"{max(s.statistics[fw] for s in steps if s.statistics):.1e}"
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


def chapter_table(number, frameworks=None):
    """Compare chapter `number`'s networks and training steps across `frameworks` (by
    default every installed one) and return the ParityTable."""
    chapter = CHAPTERS[number]
    frameworks = [fw for fw in (frameworks or FRAMEWORKS) if installed(fw)]
    if len(frameworks) < 2:   # a reader with one framework: nothing to compare
        return ParityTable(number, chapter, frameworks, {}, {})
    weights = reference_weights(chapter, frameworks[0])
    nets = compare_nets(chapter, frameworks, weights)
    trainings = {t: compare_training(chapter, t, frameworks, weights) for t in chapter.trainings}
    return ParityTable(number, chapter, frameworks, nets, trainings)

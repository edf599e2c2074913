"""Every chapter's networks and training steps are the same algorithm in PyTorch,
TensorFlow and MXNet: the numbers of gan_edu.parity's table, chapter by chapter and pair
by pair; the initial distributions; the registry against the chapters and the library;
and drifts (one setting changed in one framework) that the comparison must catch.
"""

import ast
import functools
import inspect
import re
import sys

import jupytext
import numpy as np
import pytest

import gan_edu
from gan_edu import book
from gan_edu.parity import FRAMEWORKS, PAIRS, adapter, chapter_table
from gan_edu.parity.chapters import CHAPTERS, DUAL_NETS, S6, call
from gan_edu.parity.table import (
    BAR,
    BATCH,
    Session,
    compare_nets,
    compare_step,
    compare_training,
    entries,
    predicted_statistics,
    put_weights,
    reference_weights,
)

NUMBERS = sorted(CHAPTERS)
MODES = ("training", "inference")
CYCLEGAN, DUALGAN = CHAPTERS[6].trainings


def need(*frameworks):
    for fw in frameworks:
        pytest.importorskip(gan_edu.MODULES[fw])


def pair_id(pair):
    return "-".join(pair)


@pytest.fixture(scope="module")
def tables():
    return {}


@pytest.fixture
def table(number, tables):
    """Chapter `number`'s table in every framework, made once per module."""
    need(*FRAMEWORKS)
    if number not in tables:
        tables[number] = chapter_table(number)
    return tables[number]


@functools.cache
def reference(number):
    return reference_weights(CHAPTERS[number], "pytorch")


def load(number, fw, dropout=True):
    """Chapter `number`'s networks in `fw` with the reference weights."""
    a = adapter(fw)
    nets = {name: net if dropout else a.without_dropout(net)
            for name, net in CHAPTERS[number].build(a).items()}
    return put_weights(a, nets, reference(number))


def steps(table):
    for training, parities in table.trainings.items():
        for parity in parities:
            yield f"{training.name}, iteration {parity.iteration}, {parity.step.name}", parity


# ---- the table's numbers, every chapter ---------------------------------------------------------

@pytest.mark.parametrize("number", NUMBERS)
def test_the_table_checks_every_framework_and_its_bar(table):
    assert table.frameworks == list(FRAMEWORKS)
    assert not table.failures(), "\n".join(table.failures())
    assert table.verdict().endswith(f"(every difference within {BAR:g}).")
    assert all(name in str(table) for name in table.nets)


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("number", NUMBERS)
def test_same_parameter_shapes_layer_by_layer(table, pair):
    for name, net in table.nets.items():
        assert net.shapes[pair[0]] == net.shapes[pair[1]], name
        assert net.counts[pair[0]] == net.counts[pair[1]] > 0, name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("number", NUMBERS)
def test_same_forward_outputs(table, pair, mode):
    for name, net in table.nets.items():
        assert net.forward[mode][pair] <= BAR, f"{name}: {net.forward[mode][pair]:.1e}"


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("number", NUMBERS)
def test_same_losses_gradients_and_weights_after_each_step(table, pair):
    """Two iterations of the chapter's steps in lockstep; see gan_edu.parity.table for
    how Adam's and RMSProp's steep first updates are allowed for."""
    for where, parity in steps(table):
        for what, errors in parity.errors.items():
            if errors[pair] is not None:
                assert errors[pair] <= BAR, f"{where}: {what} {errors[pair]:.1e}"


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("number", NUMBERS)
def test_running_statistics_follow_each_frameworks_rule(table, fw):
    """PyTorch folds in the unbiased batch variance, Keras and MXNet the biased one, and
    MXNet only calls a gradient reaches, in some order (gan_edu.parity.rules)."""
    for where, parity in steps(table):
        if parity.statistics:
            assert parity.statistics[fw] <= BAR, f"{where}: {parity.statistics[fw]:.1e}"


@pytest.mark.parametrize("pair", [("pytorch", "tensorflow"), ("tensorflow", "mxnet")],
                         ids=pair_id)
@pytest.mark.parametrize("number", NUMBERS)
def test_the_rules_differ_where_the_frameworks_do(table, pair):
    """The running statistics truly differ, by more than the bar, while each framework
    matches its own rule (above): a framework that followed another's rule would fail.
    PyTorch's from Keras' by n / (n - 1); MXNet's from Keras' where a batch is detached."""
    gaps = [parity.statistics_gaps[pair] for _, parity in steps(table) if parity.statistics_gaps]
    if not gaps:
        pytest.skip("no batch norm in this chapter")
    assert max(gaps) > BAR


COUNTS = {   # trained parameters; batch norm's running statistics are not trained
    1: {"toy_nets G": 2 * 2 + 2, "toy_nets D": (2 * 5 + 5) + (5 * 3 + 3) + (3 + 1)},
    2: {"toy_mlp D 1-D": 1_153, "toy_mlp G 1-D": 2, "toy_mlp D ring": 4_417,
        "toy_mlp G ring": 4_482,
        "mlp_G": (100 * 256 + 256 + 2 * 256) + (256 * 512 + 512 + 2 * 512) + (512 * 784 + 784),
        "maxout_D": (784 * 512 + 512) + (128 * 512 + 512) + (128 + 1)},
    3: {"dcgan_G": 862_401, "dcgan_D": 837_025, "dcgan_G average": 862_401},
    # G: dense 110 -> 3136, BN, transposed convs 64 -> 32 (BN) -> 1; D: convs 1 -> 32 (bias)
    # -> 64 (BN), label embedding 10 -> 3136, dense 3136 -> 1 (bias)
    4: {"cgan_G": 110 * 3136 + 2 * 3136 + 64 * 32 * 16 + 2 * 32 + 32 * 16 + 1,
        "cgan_D": 1 * 32 * 16 + 32 + 32 * 64 * 16 + 2 * 64 + 10 * 3136 + 3136 + 1},
    # D = body + D's head, Q = body + Q's head (the body counted in both)
    5: {"info_G": 855_745, "info_D": 837_025, "info_Q": 871_340, "info_Q_head": 34_572},
    # dual_G: the U-Net's skip doubles the last convolution's inputs (16 * 9 more); the
    # critic: a bias of 32 where patch_D has batch norm's 2 * 32
    6: {name: {"cycle_G": 50_337, "dual_G": 50_481, "patch_D": 8_817,
               "patch_D critic": 8_785}[name.rsplit(" ", 1)[0]] for name in CHAPTERS[6].inputs}}


@pytest.mark.parametrize("number", NUMBERS)
def test_the_networks_have_the_chapters_parameters(table, number):
    assert {name: net.counts["pytorch"] for name, net in table.nets.items()} == COUNTS[number]


# ---- weights and initialisation ------------------------------------------------------------------

@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("number", NUMBERS)
def test_weights_round_trip(number, fw):
    need("pytorch", fw)
    for name, net in load(number, fw).items():
        for got, want in zip(adapter(fw).get_weights(net), reference(number)[name]):
            np.testing.assert_array_equal(got, want)


# Kernels in units of the chapter's scale (Glorot's bound sqrt(6 / (fan_in + fan_out)),
# or 0.02) follow U(-1, 1) or N(0, 1): their std, kurtosis and 8th moment (for the
# kurtosis' sampling error), and the largest value they can take.
INITIAL = {"glorot uniform": dict(std=3 ** -0.5, kurtosis=1.8, moment_8=9.0, bound=1.0),
           "normal 0.02": dict(std=1.0, kurtosis=3.0, moment_8=105.0, bound=np.inf)}


def _init_scale(init, shape):
    if init == "normal 0.02":
        return 0.02
    return np.sqrt(6 / ((shape[0] + shape[1]) * int(np.prod(shape[2:]))))


def initialisation_problems(number, framework, sigmas=5):
    """What in chapter `number`'s networks, as `framework`'s builders return them, does
    not follow the chapter's initial distribution: kernels' mean, std and kurtosis more
    than `sigmas` standard errors off, values beyond the bound, and biases, beta and
    running means not 0 or gamma and running variances not 1. Empty if all is well.
    Every framework draws from its own generator: the moments over all kernels (each
    array once) must agree, not the values."""
    chapter, a = CHAPTERS[number], adapter(framework)
    seen, kernels, problems = set(), [], []
    for name, arrays in entries(a, chapter.build(a)).items():
        for array, obj, kind in arrays:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if kind == "kernel":
                kernels.append(array.ravel() / _init_scale(chapter.init, array.shape))
            elif not np.all(array == (1 if kind in ("gamma", "var") else 0)):
                problems.append(f"{name}: a {kind} does not start at its initial value")
    x = np.concatenate(kernels).astype(np.float64)
    want, n = INITIAL[chapter.init], x.size
    kurtosis = np.mean((x - x.mean()) ** 4) / x.var() ** 2
    for what, got, expected, error in (
            ("mean", x.mean(), 0.0, want["std"] / np.sqrt(n)),
            ("std", x.std(), want["std"], want["std"] * np.sqrt((want["kurtosis"] - 1) / (4 * n))),
            ("kurtosis", kurtosis, want["kurtosis"],
             np.sqrt((want["moment_8"] - want["kurtosis"] ** 2) / n))):
        if abs(got - expected) > sigmas * error:
            problems.append(f"kernels' {what} {got:.4g}, the chapter's {expected:.4g} "
                            f"(standard error {error:.2g}, {n} values)")
    if np.abs(x).max() > want["bound"] * (1 + 1e-6):
        problems.append(f"a kernel value {np.abs(x).max():.4g} beyond the bound")
    return problems


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("number", NUMBERS)
def test_the_builders_initialise_as_the_chapter_says(number, fw):
    need(fw)
    assert initialisation_problems(number, fw) == []


# ---- the registry against the chapters and the library ----------------------------------------

def assigned(source):
    """The names a cell's top-level statements assign."""
    try:
        body = ast.parse(source).body
    except SyntaxError:   # IPython's syntax
        return set()
    return {node.id for statement in body if isinstance(statement, ast.Assign)
            for target in statement.targets for node in ast.walk(target)
            if isinstance(node, ast.Name)}


@pytest.mark.parametrize("number", NUMBERS)
def test_the_settings_are_the_chapters(number):
    """The comparison runs with the values of the chapter's cell that assigns every one
    of its settings (at the default scale)."""
    settings = CHAPTERS[number].settings
    source = next(p for p in book.chapter_sources() if p.name.startswith(f"{number:02d}_"))
    cells = [c.source for c in jupytext.read(source).cells
             if c.cell_type == "code" and set(settings) <= assigned(c.source)]
    assert len(cells) == 1, f"{len(cells)} cells assign all of {sorted(settings)}"
    values = {"gan_edu": gan_edu, "full": False}
    exec(cells[0], values)
    for name, value in settings.items():
        assert values[name] == value, f"{name}: the chapter's {values[name]}, compared {value}"


def library_calls(a):
    """The names of the library's functions, and of the classes whose methods, building
    every chapter's networks and running them once call."""
    path, called = inspect.getsourcefile(a.library), set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename == path:
            called.add(frame.f_code.co_name)
            if "self" in frame.f_locals:
                called.add(type(frame.f_locals["self"]).__name__)
    sys.setprofile(profile)
    try:
        for chapter in CHAPTERS.values():
            for name, net in chapter.build(a).items():
                rng = np.random.default_rng(0)
                a.forward(net, [draw(rng, 2) for draw in chapter.inputs[name]], False)
    finally:
        sys.setprofile(None)
    return called


LAYERS = r"\b(nn|layers|keras)\.(?!\w*Loss)[A-Z]\w*\("   # a layer made, not a loss


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_every_saved_network_is_compared(fw):
    """Every function of the library that makes layers, and every layer class, runs in
    some chapter's comparison: a network saved later cannot go uncompared."""
    need(fw)
    a = adapter(fw)
    called = library_calls(a)
    for name, obj in vars(a.library).items():
        if getattr(obj, "__module__", None) != a.library.__name__:
            continue
        source = inspect.getsource(obj)
        if inspect.isfunction(obj) and re.search(LAYERS, source):
            assert name in called, f"{name} makes layers and is in no comparison"
        if inspect.isclass(obj) and re.search(r"def (forward|call|hybrid_forward)\(", source):
            assert name in called, f"{name} is in no comparison"


# ---- a drift must be caught ---------------------------------------------------------------------

def first_step_errors(number, training, drifted, drift=None):
    """Every error of `training`'s first step between the `drifted` framework, with `drift`
    in its optimiser settings, and another (PyTorch, whose batch norm is recorded)."""
    frameworks = ["pytorch", drifted] if drifted != "pytorch" else ["pytorch", "tensorflow"]
    sessions = {fw: Session(CHAPTERS[number], training, fw, drift if fw == drifted else None)
                for fw in frameworks}
    data = training.data(np.random.default_rng(2), BATCH)
    parity, _ = compare_step(sessions, training.steps[0], reference(number), data)
    yield from (e for errors in parity.errors.values() for e in errors.values() if e is not None)
    yield from parity.statistics.values()


def adam_training(number):
    return [t for t in CHAPTERS[number].trainings if t.adam is not None][-1]


def has_batch_norm(number):
    need("pytorch")
    a = adapter("pytorch")
    return any("var" in a.kinds(net) for net in CHAPTERS[number].build(a).values())


@pytest.mark.parametrize("number", NUMBERS)
def test_a_different_adam_epsilon_is_caught(number):
    need(*FRAMEWORKS)
    assert max(first_step_errors(number, adam_training(number), "tensorflow", dict(eps=1e-3))) \
        > 10 * BAR


@pytest.mark.parametrize("fw, drift", [("mxnet", dict(betas=(0.9, 0.999))),
                                       ("pytorch", dict(betas=(0.5, 0.99)))],
                         ids=["beta_1", "beta_2"])
@pytest.mark.parametrize("number", [1, 4])   # Adam is the same in every chapter
def test_a_different_adam_beta_is_caught(number, fw, drift):
    need(*FRAMEWORKS)
    assert max(first_step_errors(number, adam_training(number), fw, drift)) > 10 * BAR


@pytest.mark.parametrize("fw, drift", [("pytorch", dict(rho=0.99)),        # PyTorch's default
                                       ("tensorflow", dict(eps=1e-7))],   # Keras' default
                         ids=["rho", "eps"])
def test_a_different_rmsprop_setting_is_caught(fw, drift):
    need(*FRAMEWORKS)
    assert max(first_step_errors(6, DUALGAN, fw, drift)) > 10 * BAR


def keras_batch_norm_with(monkeypatch, **setting):
    """Every Keras BatchNormalization built from now on takes `setting` instead."""
    import keras
    init = keras.layers.BatchNormalization.__init__

    def drifted(self, *args, **kwargs):
        init(self, *args, **{**kwargs, **setting})
    monkeypatch.setattr(keras.layers.BatchNormalization, "__init__", drifted)


@pytest.mark.parametrize("number", NUMBERS)
def test_a_different_batch_norm_momentum_is_caught(number, monkeypatch):
    need(*FRAMEWORKS)
    if not has_batch_norm(number):
        pytest.skip("no batch norm in this chapter")
    keras_batch_norm_with(monkeypatch, momentum=0.99)   # PyTorch's 0.01, not 0.1
    training = CHAPTERS[number].trainings[-1]           # chapter 2: the MNIST MLP's
    assert max(first_step_errors(number, training, "tensorflow")) > 10 * BAR


@pytest.mark.parametrize("number", NUMBERS)
def test_a_different_batch_norm_epsilon_is_caught(number, monkeypatch):
    need(*FRAMEWORKS)
    if not has_batch_norm(number):
        pytest.skip("no batch norm in this chapter")
    keras_batch_norm_with(monkeypatch, epsilon=1e-3)     # Keras' default
    nets = compare_nets(CHAPTERS[number], ["pytorch", "tensorflow"], reference(number))
    assert max(e for net in nets.values() for errors in net.forward.values()
               for e in errors.values()) > 10 * BAR


@pytest.mark.parametrize("drift", ["decay", "statistics"])
def test_a_different_average_of_G_is_caught(drift, monkeypatch):
    """Chapter 3's average of G: another decay, or an average of the trained weights
    only (as Keras' use_ema keeps), in one framework."""
    need("pytorch", "tensorflow")
    tf_library = adapter("tensorflow").library

    def drifted(net_ema, net, decay):
        if drift == "decay":
            decay = 0.999
        for average, value in zip(net_ema.weights, net.weights):
            if drift == "decay" or average.trainable:
                average.assign(decay * average + (1 - decay) * value)
    monkeypatch.setattr(tf_library, "update_ema", drifted)
    training = CHAPTERS[3].trainings[0]
    sessions = {fw: Session(CHAPTERS[3], training, fw) for fw in ("pytorch", "tensorflow")}
    data = training.data(np.random.default_rng(2), BATCH)
    parity, _ = compare_step(sessions, training.steps[-1], reference(3), data)
    assert parity.step.name == "update_ema"
    assert parity.errors["weights after"]["pytorch", "tensorflow"] > 10 * BAR


def test_a_static_alloc_mxnet_body_is_caught():
    """Chapter 5 hybridizes without static_alloc: with it, Gluon's D and Q, compiled
    around one shared body, take a wrong second step, which the lockstep's second
    iteration catches."""
    need("pytorch", "mxnet")

    def static_alloc(a):
        nets = CHAPTERS[5].build(a)
        for name in ("info_G", "info_D", "info_Q") if a.__name__.endswith("mxnet") else ():
            nets[name].hybridize(static_alloc=True, static_shape=True)
        return nets
    chapter = CHAPTERS[5]._replace(build=static_alloc)
    worst = {1: 0.0, 2: 0.0}
    for s in compare_training(chapter, chapter.trainings[0], ["pytorch", "mxnet"], reference(5)):
        errors = [e for by_pair in s.errors.values() for e in by_pair.values() if e is not None]
        worst[s.iteration] = max(worst[s.iteration], *errors)
    assert worst[1] <= BAR and worst[2] > 10 * BAR


# ---- what the tables cannot see ------------------------------------------------------------------

def test_dropout_is_active_in_training_only():
    """Chapter 2's maxout_D: so that the comparisons, which switch it off, have a reason to."""
    need("pytorch")
    a, net = adapter("pytorch"), load(2, "pytorch")["maxout_D"]
    X = [np.random.default_rng(0).uniform(0, 1, (8, 784)).astype(np.float32)]
    assert not np.allclose(a.forward(net, X, True), a.forward(net, X, False))


def test_the_label_changes_the_outputs():
    """Chapter 4: the label reaches both networks (a model that ignored it would pass)."""
    need("pytorch")
    a, nets, rng = adapter("pytorch"), load(4, "pytorch"), np.random.default_rng(0)
    for name, draws in CHAPTERS[4].inputs.items():
        *inputs, labels = [draw(rng, 8) for draw in draws]
        right = a.forward(nets[name], [*inputs, labels], False)
        wrong = a.forward(nets[name], [*inputs, np.roll(labels, 1, axis=1)], False)
        assert np.abs(right - wrong).max() > 1e-2 * np.abs(right).max(), name


def test_the_papers_widths_have_the_papers_parameters():
    need("pytorch")
    nets = adapter("pytorch").library.info_nets(74, (64, 128), 1024, 128, 12, 0.1)
    assert [sum(p.numel() for p in n.parameters()) for n in nets] == \
        [6_632_833, 6_558_017, 6_689_868]


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_D_and_Q_share_one_body(fw):
    """Chapter 5: a change made through net_D shows in net_Q: one body, not two copies."""
    need(fw)
    a = adapter(fw)
    nets = CHAPTERS[5].build(a)
    w_D = a.get_weights(nets["info_D"])
    w_D[0] = w_D[0] + 1
    a.set_weights(nets["info_D"], w_D)
    assert (a.get_weights(nets["info_Q"])[0] == w_D[0]).all()


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_clipping_keeps_every_critic_weight_within_clip(fw):
    """Chapter 6's critic step, from reference weights of which some lie beyond the bound
    (kernels' std up to 0.09, biases' 0.2): those end on it, the step being far smaller.
    MXNet's clip takes its bounds in float32 (0.1 is 0.1 + 1.5e-9 there)."""
    need(fw)
    data = DUALGAN.data(np.random.default_rng(2), BATCH)
    run = Session(CHAPTERS[6], DUALGAN, fw).run(DUALGAN.steps[0], reference(6), data)

    def critics(weights):
        return np.abs(np.concatenate([a.ravel() for name in DUAL_NETS[2:] for a in weights[name]]))
    clip, (_, lr) = S6["clip"], DUALGAN.trainers["D"]
    before, after = critics(reference(6)), critics(run.weights)
    assert after.max() <= clip * (1 + 1e-7)
    beyond = before > clip + 10 * lr   # RMSProp's first step is about 3 lr
    assert beyond.any() and np.allclose(after[beyond], clip, rtol=1e-7, atol=0)


def critic_loss(fw, dropout):
    """Chapter 6's critic loss from the reference weights, with the generators' dropout or
    without, in float32 as the chapter trains; seeded, so that the masks do not depend on
    what ran before (Keras seeds each Dropout layer from Python's random)."""
    gan_edu.seed(0)
    a, nets = adapter(fw), load(6, fw, dropout=dropout)
    names, lr = DUALGAN.trainers["D"]
    values = {k: a.tensor(v) for k, v in DUALGAN.data(np.random.default_rng(2), BATCH).items()}
    values.update(nets, D=a.optimiser([nets[n] for n in names], lr, rmsprop=DUALGAN.rmsprop))
    return a.numpy(call(DUALGAN.steps[0], a.library, values)["loss_D"]).item()


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_the_critic_step_runs_the_generators_with_dropout_on(fw):
    """DualGAN's noise is the generators' dropout, on in the critic's step. It moves the
    loss by about 1e-3 of its size, float32 rounding by 1e-7."""
    need(fw)
    with_dropout, without = critic_loss(fw, dropout=True), critic_loss(fw, dropout=False)
    assert abs(with_dropout - without) > 1e-5 * abs(without)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_predict_turns_dropout_off(fw):
    """predict, which the chapters evaluate with, gives what the network without dropout
    gives: inference mode turns dropout off in every framework."""
    need(fw)
    a, name = adapter(fw), DUAL_NETS[0]
    X = CHAPTERS[6].inputs[name][0](np.random.default_rng(3), BATCH)
    predicted = a.from_native(a.library.predict(load(6, fw)[name], a.native(X)))
    np.testing.assert_allclose(predicted, a.forward(load(6, fw, dropout=False)[name], [X], False),
                               rtol=0, atol=1e-6)


def test_mxnet_folds_a_generators_calls_in_its_own_order():
    """CycleGAN's G_BA runs three times in its step; MXNet's engine runs their backward
    passes in another order than PyTorch's, and its running statistics follow one of the
    other orders that gan_edu.parity.rules allows."""
    need("pytorch", "mxnet")
    step, data = CYCLEGAN.steps[0], CYCLEGAN.data(np.random.default_rng(2), BATCH)
    pytorch = Session(CHAPTERS[6], CYCLEGAN, "pytorch").run(step, reference(6), data, record=True)
    mxnet = Session(CHAPTERS[6], CYCLEGAN, "mxnet").run(step, reference(6), data)
    weights = {n: [w.astype(np.float64) for w in arrays] for n, arrays in reference(6).items()}
    by_pytorchs_order, by_some_order = [], []
    for (name, i, _), candidates in predicted_statistics(pytorch, weights, "mxnet").items():
        if name == "cycle_G G_BA":
            errors = [np.abs(mxnet.weights[name][i] - mean).max() / np.abs(mean).max()
                      for mean, _ in candidates]
            assert len(errors) == 6   # the orders of three calls that the gradient reached
            by_pytorchs_order.append(errors[0])
            by_some_order.append(min(errors))
    assert min(by_pytorchs_order) > BAR and max(by_some_order) <= BAR


def test_a_reader_with_one_framework_gets_a_line_not_a_traceback():
    table = chapter_table(1, frameworks=["mxnet"])
    table.check()
    assert str(table) == table.verdict() == \
        "Chapter 1: a comparison needs two frameworks; installed: MXNet."


def test_the_table_prints_nothing_on_stderr(capfd):
    need(*FRAMEWORKS)
    print(chapter_table(1))
    out, err = capfd.readouterr()
    assert err == "" and "toy_nets D" in out


def test_parity_imports_without_frameworks():
    import subprocess
    code = ("import sys; sys.modules.update(torch=None, tensorflow=None, keras=None, "
            "mxnet=None); import gan_edu.parity.table; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


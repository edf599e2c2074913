"""`make bench`: where the time of a chapter run goes.

    python -m gan_edu.bench run [OUT]        execute every chapter into OUT, then report
    python -m gan_edu.bench report [FOLDER]  report on executed notebooks (default: chapters/)
    python -m gan_edu.bench steps            chapter 1's steps, the book's way against eager

The report reads what an executed notebook records anyway: each code cell's start and
end (nbclient's `execution` metadata) and the `N examples/sec` lines that the training
loops print. Per chapter and framework it gives the seconds of the training cells (those
that print examples/sec), the throughput they printed, and the seconds of the
framework's other cells (imports, building, evaluation); per chapter, the seconds of
the shared cells (data, comparison, figures), of which the parity table.
"""

import argparse
import re
from datetime import datetime
from pathlib import Path

import nbformat
import numpy as np

import gan_edu
from gan_edu import book

THROUGHPUT = re.compile(r"([\d,]+(?:\.\d+)?) examples/sec")


def cell_seconds(cell):
    """Wall-clock seconds of an executed code cell, or 0 if it carries no timing."""
    timing = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return 0.0
    start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                  for key in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def printed_speeds(cell):
    """The examples/sec figures that a cell printed to stdout."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    return [float(x.replace(",", "")) for x in THROUGHPUT.findall(text)]


def chapter_times(notebook):
    """{framework or 'shared': {'train', 'speeds', 'other'}} and the parity seconds."""
    rows = {fw: dict(train=0.0, speeds=[], other=0.0) for fw in (*book.TAGS, "shared")}
    parity = 0.0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        owner = book.framework_of(cell)  # every framework's code cell carries its tag
        seconds, row = cell_seconds(cell), rows[owner or "shared"]
        speeds = printed_speeds(cell) if owner else []
        if speeds:
            row["train"] += seconds
            row["speeds"] += speeds
        else:
            row["other"] += seconds
        if "chapter_table(" in cell.source or "parity" in cell.metadata.get("tags", []):
            parity += seconds
    return rows, parity


def report(folder):
    """A markdown table of the executed chapter notebooks in `folder`."""
    lines = ["| chapter | framework | training s | examples/sec | other s |",
             "|---|---|---:|---:|---:|"]
    total = 0.0
    for source in book.chapter_sources():
        path = Path(folder) / f"{source.stem}.ipynb"
        if not path.exists():
            continue
        rows, parity = chapter_times(nbformat.read(path, as_version=4))
        for fw in book.TAGS:
            r = rows[fw]
            speeds = ", ".join(f"{s:,.0f}" for s in r["speeds"]) or "–"
            lines.append(f"| {source.stem} | {book.TITLES[fw]} | {r['train']:.0f} | {speeds} "
                         f"| {r['other']:.0f} |")
        shared = rows["shared"]["other"]
        lines.append(f"| {source.stem} | shared cells (parity table {parity:.0f} s) | | | "
                     f"{shared:.0f} |")
        chapter = sum(r["train"] + r["other"] for r in rows.values())
        lines.append(f"| {source.stem} | **all cells** | | | **{chapter:.0f}** |")
        total += chapter
    lines.append(f"| all chapters | | | | **{total:.0f}** |")
    return "\n".join(lines)


def run(out):
    """Execute every chapter afresh into `out`, then report on it."""
    from gan_edu import site
    site.execute_chapters(out)
    print(report(out))


# ---------------------------------------------------------------- chapter 1's steps

K = 5  # discriminator steps per generator step, as in chapter 1
ADAM = dict(lr=0.01, beta1=0.5, beta2=0.999, eps=1e-8)


def toy_data(n=1000):
    rng = np.random.default_rng(0)
    A = np.array([[1, 2], [-0.1, 0.5]])
    return (rng.normal(size=(n, 2)) @ A + np.array([1, 2])).astype(np.float32)


def run_loop(batches, step_D, step_G, noise, batch_size, steps):
    """Examples/sec of `steps` discriminator steps with a generator step every K."""
    done, timer = 0, None
    while done < steps:
        for X in batches():
            if timer is None and done == K:  # the first steps trace and warm up
                timer, done = gan_edu.Timer(), 0
            Z = noise(batch_size)
            step_D(X, Z)
            done += 1
            if done % K == 0:
                step_G(Z)
            if done == steps:
                break
    return steps * batch_size / timer.stop()


def bench_pytorch(batch_size, steps, book_way):
    import torch
    from torch import nn

    from gan_edu import torch as ge
    net_G, net_D = ge.toy_nets(2)
    for net in (net_D, net_G):
        net.apply(ge.init_glorot)
    loss = nn.BCEWithLogitsLoss()
    betas = (ADAM["beta1"], ADAM["beta2"])
    trainer_D = torch.optim.Adam(net_D.parameters(), ADAM["lr"], betas, ADAM["eps"])
    trainer_G = torch.optim.Adam(net_G.parameters(), ADAM["lr"], betas, ADAM["eps"])
    loader = ge.load_array((toy_data(),), batch_size)
    # The book's PyTorch code is eager: both measurements run the same loop.
    return run_loop(lambda: (X for (X,) in loader),
                    lambda X, Z: ge.update_D(X, Z, net_D, net_G, loss, trainer_D),
                    lambda Z: ge.update_G(Z, net_D, net_G, loss, trainer_G),
                    lambda n: torch.normal(0, 1, size=(n, 2)), batch_size, steps)


def bench_tensorflow(batch_size, steps, book_way):
    import keras
    import tensorflow as tf

    from gan_edu import tensorflow as ge
    net_G, net_D = ge.toy_nets(2)
    for net in (net_D, net_G):
        ge.init_glorot(net)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    adam = dict(learning_rate=ADAM["lr"], beta_1=ADAM["beta1"], beta_2=ADAM["beta2"],
                epsilon=ADAM["eps"])
    trainer_D, trainer_G = keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam)
    update_D, update_G = ge.update_D, ge.update_G
    if not book_way:  # the functions as written, run eagerly
        update_D, update_G = update_D.python_function, update_G.python_function
    dataset = ge.load_array((toy_data(),), batch_size)
    return run_loop(lambda: (X for (X,) in dataset),
                    lambda X, Z: update_D(X, Z, net_D, net_G, loss, trainer_D),
                    lambda Z: update_G(Z, net_D, net_G, loss, trainer_G),
                    lambda n: tf.random.normal((n, 2)), batch_size, steps)


def bench_mxnet(batch_size, steps, book_way):
    from mxnet import gluon, nd

    from gan_edu import mxnet as ge
    net_G, net_D = ge.toy_nets(2)
    for net in (net_D, net_G):
        ge.init_glorot(net)
        if book_way:
            net.hybridize()
    adam = dict(learning_rate=ADAM["lr"], beta1=ADAM["beta1"], beta2=ADAM["beta2"],
                epsilon=ADAM["eps"])
    trainer_D = gluon.Trainer(net_D.collect_params(), "adam", adam)
    trainer_G = gluon.Trainer(net_G.collect_params(), "adam", adam)
    loss = gluon.loss.SigmoidBCELoss()
    loader = ge.load_array((toy_data(),), batch_size)
    speed = run_loop(lambda: iter(loader),
                     lambda X, Z: ge.update_D(X, Z, net_D, net_G, loss, trainer_D),
                     lambda Z: ge.update_G(Z, net_D, net_G, loss, trainer_G),
                     lambda n: nd.random.normal(0, 1, shape=(n, 2)), batch_size, steps)
    nd.waitall()
    return speed


BENCHES = {"pytorch": bench_pytorch, "tensorflow": bench_tensorflow, "mxnet": bench_mxnet}


def steps_table(batch_size, steps, names):
    print(f"toy GAN, batch size {batch_size}, {steps} discriminator steps "
          f"(one generator step every {K})")
    print(f"{'framework':<11} {'book (ex/s)':>12} {'eager (ex/s)':>13} {'ratio':>6}")
    for name in names:
        if not gan_edu.installed(name):  # also a clear error for an unknown name
            print(f"{name:<11} not installed")
            continue
        gan_edu.seed(0, frameworks=[name])
        book_way = BENCHES[name](batch_size, steps, book_way=True)
        eager = BENCHES[name](batch_size, steps, book_way=False)
        print(f"{name:<11} {book_way:12.0f} {eager:13.0f} {book_way / eager:6.1f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gan_edu.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="execute every chapter, then report")
    run_parser.add_argument("out", nargs="?", default=str(book.ROOT / "_build" / "bench"))
    report_parser = commands.add_parser("report", help="report on executed notebooks")
    report_parser.add_argument("folder", nargs="?", default=str(book.CHAPTERS))
    steps = commands.add_parser("steps", help="chapter 1's steps, book way vs eager")
    steps.add_argument("--batch-size", type=int, default=8)
    steps.add_argument("--steps", type=int, default=2000)
    steps.add_argument("--frameworks", default=",".join(gan_edu.FRAMEWORKS))
    args = parser.parse_args(argv)

    if args.command == "run":
        run(args.out)
    elif args.command == "report":
        if not Path(args.folder).is_dir():
            raise SystemExit(f"{args.folder} is not a folder of executed chapter notebooks")
        print(report(args.folder))
    else:
        names = [f.strip() for f in args.frameworks.split(",") if f.strip()]
        steps_table(args.batch_size, args.steps, names)


if __name__ == "__main__":
    main()

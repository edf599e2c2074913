"""`make bench`: throughput of the book's training steps against a plain eager loop.

For each installed framework, the chapter-1 toy GAN trains for a fixed number of
minibatches twice at the same batch size: once as the book runs it (PyTorch eagerly,
TensorFlow through `tf.function`, MXNet with hybridized networks) and once as a plain
eager loop (TensorFlow's undecorated step functions, MXNet's networks not hybridized).
Both use the library's own `load_array`, `update_D` and `update_G`.

    python -m gan_edu.bench [--batch-size 8] [--steps 2000] [--frameworks pytorch,mxnet]
"""

import argparse

import numpy as np

import gan_edu

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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gan_edu.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--frameworks", default=",".join(gan_edu.FRAMEWORKS))
    args = parser.parse_args(argv)
    names = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for name in names:
        gan_edu.installed(name)  # a clear error for an unknown name
    print(f"toy GAN, batch size {args.batch_size}, {args.steps} discriminator steps "
          f"(one generator step every {K})")
    print(f"{'framework':<11} {'book (ex/s)':>12} {'eager (ex/s)':>13} {'ratio':>6}")
    for name in names:
        if not gan_edu.installed(name):
            print(f"{name:<11} not installed")
            continue
        gan_edu.seed(0)
        book = BENCHES[name](args.batch_size, args.steps, book_way=True)
        eager = BENCHES[name](args.batch_size, args.steps, book_way=False)
        print(f"{name:<11} {book:12.0f} {eager:13.0f} {book / eager:6.1f}", flush=True)


if __name__ == "__main__":
    main()

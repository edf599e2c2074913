"""Train the judge: the small MNIST classifier that `gan_edu.metrics` scores GANs with.

A GAN written in PyTorch should not be graded by a PyTorch model and a TensorFlow
GAN by a TensorFlow one, so the judge is trained once, here (PyTorch, on the full
60,000 training images), and shipped as plain weights in `gan_edu/data/judge.npz`;
`gan_edu.metrics` runs it in numpy. The test set is used once, at the end, to report
accuracy; it chooses nothing (the recipe is fixed in advance).

    python scripts/build_mnist.py --fill-cache   # full MNIST into the cache (or download it)
    python scripts/train_judge.py                # 12 epochs: about 25 min on 2 busy CPU cores
    python scripts/train_judge.py --dry-run      # one batch, no file written

The architecture is `gan_edu.metrics.JUDGE_ARCHITECTURE`; inputs are images in
[-1, 1], NCHW (N, 1, 28, 28).
"""

import argparse
import json
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gan_edu import data, metrics

SEED = 0
EPOCHS = 12
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
SHIFT = 2  # random translations of up to 2 pixels: a judge of generated digits should
# not care whether a digit sits a pixel off-centre.


class JudgeNet(nn.Module):
    """conv 3x3/32, ReLU, maxpool 2, conv 3x3/64, ReLU, maxpool 2, fc 128, ReLU, fc 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)      # (32, 26, 26), pooled to (32, 13, 13)
        self.conv2 = nn.Conv2d(32, 64, 3)     # (64, 11, 11), pooled to (64, 5, 5)
        self.fc1 = nn.Linear(64 * 5 * 5, 128)  # the features of the Frechet distance
        self.fc2 = nn.Linear(128, 10)         # logits
        self.dropout = nn.Dropout(0.25)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(self.dropout(torch.flatten(x, 1))))

    def forward(self, x):
        return self.fc2(self.dropout(self.features(x)))


def shift_randomly(x, generator):
    """Translate each image (N, 1, 28, 28) by up to SHIFT pixels, filling with background."""
    n, size = x.shape[0], x.shape[-1]
    padded = F.pad(x, (SHIFT,) * 4, value=-1.0)  # -1 is the black background
    dy, dx = torch.randint(0, 2 * SHIFT + 1, (2, n, 1), generator=generator)
    rows = (dy + torch.arange(size))[:, :, None]  # (n, 28, 1)
    cols = (dx + torch.arange(size))[:, None, :]  # (n, 1, 28)
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


def train(net, images, labels, epochs, dry_run=False):
    generator = torch.Generator().manual_seed(SEED)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    steps = epochs * (len(images) // BATCH_SIZE)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=steps)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(images), generator=generator)
        start, total, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
        for i in range(0, len(images) - BATCH_SIZE + 1, BATCH_SIZE):
            batch = order[i:i + BATCH_SIZE]
            x, y = shift_randomly(images[batch], generator), labels[batch]
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += len(y)
            correct += (logits.argmax(1) == y).sum().item()
            loss_sum += loss.item() * len(y)
            if dry_run:
                print(f"dry run: one batch, loss {loss.item():.3f}")
                return
        print(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / total:.4f}, "
              f"train acc {correct / total:.4f}, "
              f"{total / (time.perf_counter() - start):.0f} examples/sec", flush=True)


def weights(net):
    """The parameters as float32 numpy arrays under PyTorch's names and layouts."""
    return {name: p.detach().numpy().astype(np.float32) for name, p in net.state_dict().items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description="train the judge and export its weights")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--dry-run", action="store_true", help="one batch, write nothing")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs should be at least 1, got {args.epochs}")

    torch.manual_seed(SEED)
    scale = "default" if args.dry_run else "full"
    train_x, train_y = data.load_mnist("train", scale)
    test_x, test_y = data.load_mnist("test", scale)
    images = torch.from_numpy(data.to_float(train_x))
    labels = torch.from_numpy(train_y)
    print(f"training the judge on {len(images)} images, {args.epochs} epochs")

    net = JudgeNet()
    train(net, images, labels, args.epochs, dry_run=args.dry_run)
    if args.dry_run:
        return 0
    net.eval()
    judge = metrics.Judge(weights(net))
    accuracy = float(np.mean(judge.classify(data.to_float(test_x)) == test_y))
    print(f"test accuracy with numpy inference: {accuracy:.4f}")
    meta = {"architecture": metrics.JUDGE_ARCHITECTURE, "input": "NCHW float32 in [-1, 1]",
            "trained_on": "MNIST training set, 60,000 images", "epochs": args.epochs,
            "seed": SEED, "torch": torch.__version__, "test_accuracy": round(accuracy, 4)}
    content = data.npz_bytes({**weights(net), "meta": np.array(json.dumps(meta))})
    data.write_atomic(metrics.JUDGE_FILE, content)
    print(f"wrote {metrics.JUDGE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Framework-neutral evaluation of what a GAN produced (numpy and scipy only).

Every chapter ends with a number. For digits the numbers come from *the judge*, a
small CNN trained once on the 60,000 MNIST training images
(`scripts/train_judge.py`) and run here in plain numpy, so that no framework grades
its own output:

- `label_accuracy`: is a digit generated for label y recognised as y? (CGAN, CycleGAN)
- `digit_score`: an Inception-Score-style measure of confidence and variety (10 is best)
- `frechet_distance`: distance between the judge's feature statistics of two sets
- `code_accuracy`: how well a categorical latent code matches digit classes (InfoGAN)

For the toy data of chapters 1 and 2 there are `moment_errors` and `mode_coverage`.

Images given to the judge may be laid out as (N, 1, 28, 28) (NCHW: PyTorch, MXNet),
(N, 28, 28, 1) (NHWC: TensorFlow) or (N, 28, 28), as float arrays with values in
[-1, 1] (tanh output) or [0, 1] (sigmoid output). Unless `value_range` says which,
the range is inferred: any negative value means [-1, 1], otherwise [0, 1]. (So an
image batch in [-1, 1] that happens to contain no negative value, which real digits
never do since their background is -1, would be read as [0, 1].) Framework tensors
are converted with their own `.numpy()` / `.asnumpy()`.
"""

import functools
import operator
from collections import namedtuple

import numpy as np

from gan_edu.data import PACKAGE_DATA, DataError, load_package_npz

JUDGE_FILE = PACKAGE_DATA / "judge.npz"
JUDGE_ARCHITECTURE = (
    "input (N, 1, 28, 28) in [-1, 1]; conv1 3x3 1->32 valid, ReLU, maxpool 2 -> (32, 13, 13); "
    "conv2 3x3 32->64 valid, ReLU, maxpool 2 (floor) -> (64, 5, 5); flatten in (C, H, W) "
    "order; fc1 1600->128, ReLU (the features); fc2 128->10 (the logits)")
JUDGE_SHAPES = {
    "conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,),
    "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
    "fc1.weight": (128, 1600), "fc1.bias": (128,),
    "fc2.weight": (10, 128), "fc2.bias": (10,),
}
BATCH_SIZE = 250  # bounds the memory of im2col (about 35 MB per batch)
NUM_CLASSES = 10  # the judge's digits
MAX_CODES = 1000  # categorical codes take a few values; a larger one is a mistake
RANGE_TOLERANCE = 1e-4  # float rounding at the ends of tanh / sigmoid

MomentErrors = namedtuple("MomentErrors", "mean cov")
Coverage = namedtuple("Coverage", "modes fraction")
CodeMatch = namedtuple("CodeMatch", "accuracy mapping")


# -------------------------------------------------------------------------- judge

class Judge:
    """The judge CNN (see `JUDGE_ARCHITECTURE`) as numpy code, from PyTorch-named weights."""

    def __init__(self, weights):
        for name, shape in JUDGE_SHAPES.items():
            if name not in weights or tuple(np.shape(weights[name])) != shape:
                got = np.shape(weights[name]) if name in weights else "missing"
                raise DataError(f"judge weight {name!r} should have shape {shape}, got {got}; "
                                "retrain with `python scripts/train_judge.py`")
        w = {name: np.asarray(weights[name], dtype=np.float32) for name in JUDGE_SHAPES}
        # Convolutions run on NHWC windows as one matrix product (im2col): a kernel
        # (out, in, kh, kw) becomes a matrix whose rows follow the windows' (kh, kw, in).
        self.conv1 = (_im2col_kernel(w["conv1.weight"]), w["conv1.bias"])
        self.conv2 = (_im2col_kernel(w["conv2.weight"]), w["conv2.bias"])
        # PyTorch flattens (C, H, W); the numpy code holds (H, W, C): reorder fc1's inputs.
        fc1 = w["fc1.weight"].reshape(128, 64, 5, 5).transpose(0, 2, 3, 1).reshape(128, -1)
        self.fc1 = (fc1.T, w["fc1.bias"])
        self.fc2 = (w["fc2.weight"].T, w["fc2.bias"])

    def forward(self, x):
        """(features, logits) of images x: float32 (N, 1, 28, 28) in [-1, 1]."""
        features, logits = [], []
        for start in range(0, len(x), BATCH_SIZE):
            h = x[start:start + BATCH_SIZE].transpose(0, 2, 3, 1)  # NHWC
            # ReLU after pooling: the same result (both are monotone), on 4x less data.
            h = _relu(_max_pool(_conv(h, *self.conv1)))
            h = _relu(_max_pool(_conv(h, *self.conv2)))
            h = _relu(h.reshape(len(h), -1) @ self.fc1[0] + self.fc1[1])
            features.append(h)
            logits.append(h @ self.fc2[0] + self.fc2[1])
        return np.concatenate(features), np.concatenate(logits)

    def features(self, x):
        return self.forward(x)[0]

    def logits(self, x):
        return self.forward(x)[1]

    def classify(self, x):
        return self.logits(x).argmax(axis=1)


def _im2col_kernel(weight):
    """A PyTorch kernel (out, in, kh, kw) as a matrix (kh * kw * in, out)."""
    return weight.transpose(2, 3, 1, 0).reshape(-1, weight.shape[0])


def _conv(x, kernel, bias):
    """Valid 3x3 convolution (cross-correlation, as in every framework) of NHWC x."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    n, h, w = windows.shape[:3]  # windows: (N, H-2, W-2, C, 3, 3)
    # Copy the windows with channels innermost (contiguous in x): much faster than (C, 3, 3).
    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, -1)
    return (columns @ kernel + bias).reshape(n, h, w, -1)


def _relu(x):
    return np.maximum(x, 0)


def _max_pool(x):
    """2x2 max pooling of NHWC x; an odd last row/column is dropped (as PyTorch does)."""
    h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    rows = np.maximum(x[:, 0:h:2, :w], x[:, 1:h:2, :w])
    return np.maximum(rows[:, :, 0::2], rows[:, :, 1::2])


@functools.lru_cache(maxsize=1)
def judge():
    """The shipped judge, loaded once per process."""
    weights = load_package_npz(JUDGE_FILE, "the judge's weights", "scripts/train_judge.py")
    return Judge(weights)


# ------------------------------------------------------------------ input checks

def as_judge_input(images, value_range=None):
    """Images as the judge takes them: float32 (N, 1, 28, 28) in [-1, 1].

    Accepts (N, 1, 28, 28), (N, 28, 28, 1) or (N, 28, 28) float images in [-1, 1]
    or [0, 1]; `value_range` (-1, 1) or (0, 1) says which, None infers it (any
    negative value means [-1, 1]). Anything else raises a ValueError saying why.
    """
    x = _to_numpy(images)
    if x.dtype.kind != "f":
        raise ValueError(f"expected float images in [-1, 1] or [0, 1], got dtype {x.dtype}; "
                         "convert uint8 pixels with gan_edu.data.to_float(images)")
    if x.ndim == 4 and x.shape[1:] == (1, 28, 28):
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[1:] == (28, 28, 1):
        x = x[..., 0]
    elif not (x.ndim == 3 and x.shape[1:] == (28, 28)):
        raise ValueError(f"expected images of shape (N, 1, 28, 28), (N, 28, 28, 1) or "
                         f"(N, 28, 28), got {x.shape}")
    if len(x) == 0:
        raise ValueError("expected at least one image, got an empty batch")
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite values (did training diverge?)")
    low, high = float(x.min()), float(x.max())
    if value_range is None:
        value_range = (-1, 1) if low < 0 else (0, 1)
    if tuple(value_range) not in ((-1, 1), (0, 1)):
        raise ValueError(f"value_range should be (-1, 1), (0, 1) or None, got {value_range}")
    lo, hi = value_range
    if low < lo - RANGE_TOLERANCE or high > hi + RANGE_TOLERANCE:
        raise ValueError(f"image values should lie in [{lo}, {hi}], got {low:.4g}..{high:.4g}; "
                         "pass tanh outputs in [-1, 1] or sigmoid outputs in [0, 1] "
                         "(pixels 0..255: divide by 255)")
    x = np.clip(x.astype(np.float32), lo, hi)
    if lo == 0:
        x = 2 * x - 1
    return x[:, None]


def _to_numpy(array):
    """A numpy array from numpy, PyTorch (even on a GPU or with grad), TF or MXNet data."""
    if hasattr(array, "detach"):  # torch.Tensor
        array = array.detach().cpu().numpy()
    elif hasattr(array, "asnumpy"):  # mxnet NDArray
        array = array.asnumpy()
    return np.asarray(array)


def _as_labels(labels, n, what="labels", classes=NUM_CLASSES):
    """`n` integer labels in 0 .. classes - 1, from integers (N,) or one-hot rows (N, classes).

    `classes` None accepts one-hot rows of any width above 1 (a code's number of values).
    """
    labels = _to_numpy(labels)
    if labels.ndim == 2:
        labels = _one_hot_indices(labels, what, classes)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"expected {n} integer {what} (or one-hot rows), "
                         f"got {labels.dtype} {labels.shape}")
    if n and labels.min() < 0:
        raise ValueError(f"{what} should be non-negative integers, got {labels.min()}")
    limit = classes or MAX_CODES
    if n and labels.max() >= limit:
        raise ValueError(f"{what} should lie in 0..{limit - 1}, got {labels.max()}")
    return labels.astype(np.int64)


def _one_hot_indices(rows, what, classes):
    """The index of the 1 in each one-hot row, after checking that the rows are one-hot."""
    width = rows.shape[1]
    if width == 1:
        raise ValueError(f"{what} of shape {rows.shape} are a column, not one-hot rows; "
                         f"pass them as a vector: {what}.ravel()")
    if classes and width != classes:
        raise ValueError(f"one-hot {what} should have {classes} columns, got {width}")
    if not (np.all((rows == 0) | (rows == 1)) and np.all(rows.sum(axis=1) == 1)):
        raise ValueError(f"{what} of shape {rows.shape} should be one-hot rows "
                         "(a single 1 in each row, zeros elsewhere)")
    return rows.argmax(axis=1)


# ---------------------------------------------------------------- digit metrics

def classify(images, value_range=None):
    """The judge's digit (0..9) for each image."""
    x = as_judge_input(images, value_range)  # check the input before loading the judge
    return judge().classify(x)


def probabilities(images, value_range=None):
    """The judge's class probabilities p(y | x), shape (N, 10)."""
    x = as_judge_input(images, value_range)
    return _softmax(judge().logits(x))


def features(images, value_range=None):
    """The judge's penultimate-layer features (N, 128), those of `frechet_distance`."""
    x = as_judge_input(images, value_range)
    return judge().features(x)


def _softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def label_accuracy(images, labels, value_range=None):
    """The fraction of images the judge reads as their intended label (integers or one-hot)."""
    predicted = classify(images, value_range)
    return float(np.mean(predicted == _as_labels(labels, len(predicted))))


def accuracy_by_label(images, labels, value_range=None):
    """`label_accuracy` of each label 0..9 separately (NaN for a label not present)."""
    predicted = classify(images, value_range)
    labels = _as_labels(labels, len(predicted))
    counts = np.bincount(labels, minlength=10).astype(float)
    hits = np.bincount(labels, weights=predicted == labels, minlength=10)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / counts


def digit_score(images, value_range=None):
    """exp(E_x KL(p(y|x) || p(y))) with the judge: the Inception Score for digits.

    High when each image is classified confidently (p(y|x) peaked) and the set
    covers all classes evenly (p(y) flat); 10 is perfect, 1 the worst. The 10,000
    real MNIST test digits score 9.82; a GAN that draws one digit only, or noise, 1.0.
    """
    p = probabilities(images, value_range).astype(np.float64)
    log_p = np.log(np.clip(p, 1e-12, None))
    log_marginal = np.log(np.clip(p.mean(axis=0), 1e-12, None))
    kl = np.sum(p * (log_p - log_marginal), axis=1)
    return float(np.exp(kl.mean()))


def feature_statistics(images, value_range=None):
    """Mean (128,) and covariance (128, 128) of the judge's features of a set of images."""
    f = features(images, value_range).astype(np.float64)
    if len(f) < 2:
        raise ValueError("feature statistics need at least 2 images (use 1,000 or more)")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(images, reference, value_range=None):
    """Fréchet distance between the judge's features of `images` and of `reference`.

    ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)) between the Gaussians fitted
    to the two feature sets (the FID, with the judge in place of Inception).
    `reference` is an image batch or `feature_statistics(...)` computed once. The
    estimate is biased upward for small sets, so compare sets of equal size (1,000
    or more). Two random halves of the real test set give the floor: about 3
    (5,000 vs 5,000) or 12 (1,000 vs 1,000); uniform noise scores about 2,400.
    """
    mu1, s1 = feature_statistics(images, value_range)
    if isinstance(reference, tuple) and len(reference) == 2:
        mu2, s2 = (np.asarray(a, dtype=np.float64) for a in reference)
    else:
        mu2, s2 = feature_statistics(reference)
    return gaussian_frechet(mu1, s1, mu2, s2)


def gaussian_frechet(mu1, s1, mu2, s2):
    """The Fréchet (2-Wasserstein) distance squared between two Gaussians."""
    # Tr (S1 S2)^(1/2) equals the sum of the square roots of the eigenvalues of the
    # symmetric matrix S1^(1/2) S2 S1^(1/2): stable and real, unlike sqrtm(S1 @ S2).
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * cross, 0.0))


def code_accuracy(codes, images, value_range=None):
    """Accuracy of a categorical latent code as a digit classifier, after the best matching.

    An InfoGAN's code c = k has no reason to mean digit k; it may mean any digit. The
    best one-to-one assignment of codes to the judge's classes (Hungarian algorithm)
    is chosen, and the fraction of images whose code maps to the class the judge sees
    is returned. `codes`: integers (N,) or one-hot rows (N, K).
    """
    predicted = classify(images, value_range)
    return match_codes(_as_labels(codes, len(predicted), "codes", classes=None),
                       predicted).accuracy


def match_codes(codes, classes):
    """Best one-to-one map from codes to classes: `CodeMatch(accuracy, mapping)`.

    `mapping[k]` is the class assigned to code k (-1 where there are more codes than
    classes); `accuracy` is the fraction of pairs the mapping gets right.
    """
    from scipy.optimize import linear_sum_assignment

    codes = _as_labels(codes, np.shape(codes)[0] if np.ndim(codes) else -1, "codes", None)
    classes = _as_labels(classes, len(codes), "classes", None)
    if len(codes) == 0:
        raise ValueError("expected at least one code, got none")
    counts = np.zeros((codes.max() + 1, classes.max() + 1))
    np.add.at(counts, (codes, classes), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = np.full(len(counts), -1)
    mapping[rows] = cols
    return CodeMatch(float(counts[rows, cols].sum() / len(codes)), mapping)


# ------------------------------------------------------------------ toy metrics

def moment_errors(samples, mean, cov):
    """How far the first two moments of `samples` are from `mean` and `cov`.

    `samples` is an (N, d) array of points (the empirical mean and the unbiased
    covariance are compared), or a `(mean, cov)` pair of exact moments, e.g. those of
    a linear generator x = z A + b with z ~ N(0, I): mean b, covariance A^T A.
    Returns `MomentErrors(mean, cov)`: the largest absolute difference of an entry of
    the mean vector and of the covariance matrix.
    """
    if isinstance(samples, tuple):
        got_mean, got_cov = (_to_numpy(a).astype(np.float64) for a in samples)
    else:
        x = _to_numpy(samples).astype(np.float64)
        x = x[:, None] if x.ndim == 1 else x
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"expected samples of shape (N, d) with N >= 2, got {x.shape}")
        got_mean, got_cov = x.mean(axis=0), np.cov(x, rowvar=False)
    mean, cov = _to_numpy(mean).astype(np.float64), _to_numpy(cov).astype(np.float64)
    got_mean, got_cov = np.ravel(got_mean), np.atleast_2d(got_cov)
    mean, cov = np.ravel(mean), np.atleast_2d(cov)
    if got_mean.shape != mean.shape or got_cov.shape != cov.shape:
        raise ValueError(f"moments of dimension {got_mean.shape} / {got_cov.shape} cannot be "
                         f"compared with mean {mean.shape} and cov {cov.shape}")
    return MomentErrors(float(np.abs(got_mean - mean).max()), float(np.abs(got_cov - cov).max()))


def mode_coverage(samples, centers, radius, min_count=1):
    """Which modes of a mixture the samples reach: `Coverage(modes, fraction)`.

    A mode (a row of `centers`, shape (K, d)) counts as hit when at least
    `min_count` samples lie within `radius` (Euclidean) of it; raise `min_count` to
    ignore a few stray points. `fraction` is the share of samples within `radius` of
    some center, i.e. of good quality; a collapsed generator hits few modes, a blurry
    one has a low fraction.
    """
    x = _to_numpy(samples).astype(np.float64)
    centers = _to_numpy(centers).astype(np.float64)
    x = x[:, None] if x.ndim == 1 else x
    centers = centers[:, None] if centers.ndim == 1 else centers
    if x.ndim != 2 or centers.ndim != 2 or x.shape[1] != centers.shape[1] or len(x) == 0:
        raise ValueError(f"expected samples (N, d) and centers (K, d), "
                         f"got {x.shape} and {centers.shape}")
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius should be a positive number, got {radius}")
    try:
        min_count = operator.index(min_count)
    except TypeError:
        raise TypeError(f"min_count should be a whole number, got {min_count!r}") from None
    if min_count < 1:
        raise ValueError(f"min_count should be at least 1 (a mode needs a sample to count "
                         f"as hit), got {min_count}")
    near = np.linalg.norm(x[:, None, :] - centers[None, :, :], axis=2) <= radius  # (N, K)
    return Coverage(int(np.sum(near.sum(axis=0) >= min_count)), float(near.any(axis=1).mean()))

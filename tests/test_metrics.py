"""gan_edu.metrics: the numpy judge and the metrics the chapters assert bars with."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from gan_edu import data, metrics

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def test_set():
    """The canonical 10k MNIST test set as [-1, 1] floats (N, 1, 28, 28), and labels."""
    images, labels = data.load_mnist("test", "default")
    return data.to_float(images), labels


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).uniform(-1, 1, (2000, 1, 28, 28)).astype(np.float32)


# ------------------------------------------------------------------- the judge

def test_judge_accuracy_on_canonical_test_set(test_set):
    images, labels = test_set
    assert metrics.label_accuracy(images, labels) >= 0.990


def test_judge_file_describes_its_architecture():
    with np.load(metrics.JUDGE_FILE, allow_pickle=False) as weights:
        meta = json.loads(str(weights["meta"]))
    assert meta["architecture"] == metrics.JUDGE_ARCHITECTURE
    assert meta["test_accuracy"] >= 0.990


def test_numpy_judge_agrees_with_torch(test_set):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    spec = importlib.util.spec_from_file_location("train_judge", ROOT / "scripts/train_judge.py")
    train_judge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_judge)
    net = train_judge.JudgeNet()
    with np.load(metrics.JUDGE_FILE) as weights:
        net.load_state_dict({k: torch.from_numpy(weights[k]) for k in metrics.JUDGE_SHAPES})
    net.eval()
    x = test_set[0][:500]
    with torch.no_grad():
        expected_logits = net(torch.from_numpy(x)).numpy()
        expected_features = net.features(torch.from_numpy(x)).numpy()
    features, logits = metrics.judge().forward(x)
    np.testing.assert_allclose(logits, expected_logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(features, expected_features, atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ the metrics

def test_real_digits_score_high(test_set):
    assert metrics.digit_score(test_set[0]) >= 9.5


def test_shuffled_labels_are_chance(test_set):
    images, labels = test_set
    shuffled = np.random.default_rng(0).permutation(labels)
    assert 0.07 <= metrics.label_accuracy(images[:3000], shuffled[:3000]) <= 0.13


def test_accuracy_by_label(test_set):
    images, labels = test_set[0][:2000], test_set[1][:2000]
    by_label = metrics.accuracy_by_label(images, labels)
    assert by_label.shape == (10,) and by_label.min() > 0.97
    assert metrics.accuracy_by_label(images, (labels + 1) % 10).max() < 0.05
    no_sevens = metrics.accuracy_by_label(images[labels != 7], labels[labels != 7])
    assert np.isnan(no_sevens[7]) and np.all(np.delete(no_sevens, 7) > 0.97)


def test_real_halves_give_a_low_floor(test_set):
    # Random halves: the canonical first and last 5,000 come from different writers.
    order = np.random.default_rng(0).permutation(len(test_set[0]))
    real = test_set[0][order]
    assert metrics.frechet_distance(real[:5000], real[5000:]) < 10


def test_noise_scores_low_and_far(test_set, noise):
    assert metrics.digit_score(noise) < 2
    real = test_set[0][:2000]
    floor = metrics.frechet_distance(real[:1000], real[1000:])
    assert metrics.frechet_distance(noise, real) > 50 * floor


def test_frechet_of_a_set_with_itself_is_zero(test_set):
    images = test_set[0][:1000]
    assert metrics.frechet_distance(images, images) == pytest.approx(0, abs=1e-6)
    stats = metrics.feature_statistics(images)
    assert metrics.frechet_distance(images, stats) == pytest.approx(0, abs=1e-6)


def test_gaussian_frechet_closed_form():
    # In one dimension: (mu1 - mu2)^2 + (sigma1 - sigma2)^2.
    value = metrics.gaussian_frechet(np.array([1.0]), np.array([[4.0]]),
                                     np.array([-2.0]), np.array([[9.0]]))
    assert value == pytest.approx(9 + 1)


def test_permuted_code_is_recovered(test_set):
    images, labels = test_set[0][:3000], test_set[1][:3000]
    permutation = np.random.default_rng(1).permutation(10)
    codes = permutation[labels]  # code k stands for digit permutation^-1[k]
    assert metrics.code_accuracy(codes, images) >= 0.99
    one_hot = np.eye(10, dtype=np.float32)[codes]
    assert metrics.code_accuracy(one_hot, images) >= 0.99
    random_codes = np.random.default_rng(2).integers(0, 10, len(images))
    assert metrics.code_accuracy(random_codes, images) < 0.2


def test_match_codes_finds_the_permutation():
    classes = np.repeat(np.arange(10), 20)
    permutation = np.random.default_rng(3).permutation(10)
    accuracy, mapping = metrics.match_codes(permutation[classes], classes)
    assert accuracy == 1.0
    np.testing.assert_array_equal(mapping[permutation], np.arange(10))


# ------------------------------------------------------------------ input forms

def test_layouts_and_ranges_agree(test_set):
    x = test_set[0][:300]
    expected = metrics.judge().logits(x)
    for images in (x, x.transpose(0, 2, 3, 1), x[:, 0], (x + 1) / 2,
                   x.astype(np.float64)):
        np.testing.assert_allclose(metrics.judge().logits(metrics.as_judge_input(images)),
                                   expected, atol=1e-5)


def test_explicit_value_range():
    # Zeros with no negative value are read as [0, 1] (black) unless told they are
    # [-1, 1], where 0 is mid-grey.
    blank = np.zeros((2, 28, 28), np.float32)
    np.testing.assert_array_equal(metrics.as_judge_input(blank), -np.ones((2, 1, 28, 28)))
    np.testing.assert_array_equal(metrics.as_judge_input(blank, value_range=(-1, 1)),
                                  np.zeros((2, 1, 28, 28)))


def test_framework_tensors_are_accepted(test_set):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    x, labels = test_set[0][:200], test_set[1][:200]
    tensor = torch.from_numpy(x).requires_grad_()
    assert metrics.label_accuracy(tensor, torch.from_numpy(labels)) >= 0.98


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 28, 28), np.uint8), "float images.*to_float"),
    (np.zeros((2, 3, 28, 28), np.float32), r"shape \(N, 1, 28, 28\)"),
    (np.zeros((2, 32, 32), np.float32), r"got \(2, 32, 32\)"),
    (np.zeros((0, 28, 28), np.float32), "empty"),
    (np.full((2, 28, 28), np.nan, np.float32), "NaN"),
    (np.full((2, 28, 28), 255.0, np.float32), r"\[0, 1\].*divide by 255"),
    (np.full((2, 28, 28), -1.5, np.float32), r"\[-1, 1\]"),
])
def test_bad_images_are_rejected(images, message):
    with pytest.raises(ValueError, match=message):
        metrics.digit_score(images)


def test_bad_value_range_and_labels(test_set):
    x = test_set[0][:10]
    with pytest.raises(ValueError, match="value_range"):
        metrics.classify(x, value_range=(0, 255))
    with pytest.raises(ValueError, match="expected 10 integer labels"):
        metrics.label_accuracy(x, np.zeros(9, np.int64))
    with pytest.raises(ValueError, match="integer labels"):
        metrics.label_accuracy(x, np.zeros(10, np.float32))


# ------------------------------------------------------------------ toy metrics

def test_moment_errors_of_samples_and_of_exact_moments():
    rng = np.random.default_rng(0)
    A, b = np.array([[1.0, 2.0], [-0.1, 0.5]]), np.array([1.0, 2.0])
    samples = rng.normal(size=(100_000, 2)) @ A + b
    errors = metrics.moment_errors(samples, b, A.T @ A)
    assert errors.mean < 0.03 and errors.cov < 0.05
    exact = metrics.moment_errors((b + 0.1, A.T @ A), b, A.T @ A)
    assert exact == pytest.approx((0.1, 0.0))
    one_d = metrics.moment_errors(rng.normal(3, 2, 100_000), 3.0, 4.0)
    assert one_d.mean < 0.05 and one_d.cov < 0.1


def test_moment_errors_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="cannot be compared"):
        metrics.moment_errors(np.zeros((10, 3)), np.zeros(2), np.eye(2))


def test_mode_coverage_counts_modes_and_quality():
    angles = np.arange(8) * 2 * np.pi / 8
    centers = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    rng = np.random.default_rng(0)
    collapsed = centers[rng.integers(0, 3, 1000)] + rng.normal(0, 0.02, (1000, 2))
    coverage = metrics.mode_coverage(collapsed, centers, radius=0.2)
    assert coverage == (3, 1.0)
    strays = np.concatenate([collapsed, centers[5:6] + 0.01, np.zeros((1000, 2))])
    assert metrics.mode_coverage(strays, centers, radius=0.2).modes == 4
    assert metrics.mode_coverage(strays, centers, 0.2, min_count=5) == pytest.approx((3, 0.5),
                                                                                   abs=1e-3)


def test_mode_coverage_rejects_bad_input():
    with pytest.raises(ValueError, match="centers"):
        metrics.mode_coverage(np.zeros((5, 2)), np.zeros((3, 3)), 0.1)
    with pytest.raises(ValueError, match="radius"):
        metrics.mode_coverage(np.zeros((5, 2)), np.zeros((3, 2)), 0)


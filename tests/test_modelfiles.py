"""Detector model files: where they are looked for, and fetching YuNet."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading

import pytest

from fer_edge.contract.errors import ModelFileError
from fer_edge.faces import modelfiles
from helpers import REPO
from helpers.osfaults import fer_edge, unprivileged


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_downloads_atomically_and_checks_integrity(http_dir, yunet_model, tmp_path):
    root, base = http_dir
    data = yunet_model.read_bytes()
    (root / "yunet.onnx").write_bytes(data)
    dest = tmp_path / "models"
    path = modelfiles.fetch_yunet(dest, url=f"{base}/yunet.onnx", expected_bytes=len(data))
    assert path == dest / modelfiles.YUNET_FILENAME and path.read_bytes() == data
    assert sorted(p.name for p in dest.iterdir()) == [modelfiles.YUNET_FILENAME]


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        (b"x" * 100, {"expected_bytes": 232_589}, "expected 232589"),
        (b"x" * 100, {"expected_bytes": None, "sha256": "0" * 64}, "sha256 mismatch"),
        (b"x" * 100, {"expected_bytes": None}, "not a usable YuNet"),
    ],
)
def test_fetch_rejects_bad_downloads_and_leaves_nothing(
    http_dir, tmp_path, content, kwargs, message
):
    root, base = http_dir
    (root / "f.onnx").write_bytes(content)
    dest = tmp_path / "models"
    with pytest.raises(ModelFileError, match=message):
        modelfiles.fetch_yunet(dest, url=f"{base}/f.onnx", **kwargs)
    assert list(dest.iterdir()) == []


def test_fetch_failure_tells_how_to_copy_by_hand(http_dir, tmp_path):
    _, base = http_dir
    with pytest.raises(ModelFileError, match="copy it to"):
        modelfiles.fetch_yunet(tmp_path, url=f"{base}/missing.onnx")


def test_cli_models_fetch_and_path(http_dir, yunet_model, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fer_edge.cli import main

    root, base = http_dir
    (root / "y.onnx").write_bytes(yunet_model.read_bytes())
    monkeypatch.setenv("FER_EDGE_MODELS_DIR", str(tmp_path / "m"))
    result = CliRunner().invoke(main, ["models", "fetch", "--url", f"{base}/y.onnx"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["models", "path"])
    assert f"using: {tmp_path / 'm' / modelfiles.YUNET_FILENAME}" in result.output
    result = CliRunner().invoke(main, ["models", "fetch", "--url", f"{base}/none.onnx"])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "fer-edge: error:" in result.output


# -- the face model search -----------------------------------------------------------------------
def test_an_unreadable_home_is_skipped_in_the_model_search(tmp_path):
    home = tmp_path / "home"
    (home / ".local" / "share" / "fer-edge" / "models").mkdir(parents=True)
    home.chmod(0o700)
    if os.geteuid() == 0:
        os.chown(home, 65534, 65534)  # another user's HOME
    else:
        home.chmod(0o000)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "FER_EDGE_"))}
    env["HOME"] = str(home)
    code = "from fer_edge.faces.modelfiles import find_yunet; print('found', find_yunet())"
    cmd = unprivileged([sys.executable, "-c", code])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd=REPO)
    home.chmod(0o700)
    assert done.returncode == 0 and "found None" in done.stdout, done.stderr
    done = subprocess.run(
        unprivileged(fer_edge("doctor", "--camera", "0", "--log-dir", str(tmp_path / "logs"))),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert "Traceback" not in done.stderr and "WARN  face model: YuNet not found" in done.stdout

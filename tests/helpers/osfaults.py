"""Real operating-system faults for tests: a process without root's permission bypass, tmpfs
mounts (read-only, full), and the ``fer-edge`` command as a process of its own."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` as a process that file permissions apply to (root: DAC capabilities dropped)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): cannot drop DAC capabilities")
    if subprocess.run([*NO_DAC, "true"], capture_output=True).returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here (no CAP_SETPCAP)")
    return [*NO_DAC, *cmd]


def fer_edge(*args: str) -> list[str]:
    return [sys.executable, "-m", "fer_edge.cli", *args]


@contextlib.contextmanager
def tmpfs(path: Path, *options: str):
    """A tmpfs mounted at ``path`` (skips where mounting is not permitted)."""
    path.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip()}): the read-only and full-disk "
            "tests need root with CAP_SYS_ADMIN (e.g. a privileged container)"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def daemon_env(tmp_path: Path, yunet_model: Path, **extra) -> dict:
    """The environment of a ``fer-edge`` child process: its own TMPDIR, the test YuNet, no
    systemd variables of this one (``extra`` adds some)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    return {**env, "TMPDIR": str(tmp), "FER_EDGE_FACE_MODEL": str(yunet_model), **extra}

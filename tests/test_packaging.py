"""The wheel installs exactly the three fer_* packages and the three console scripts."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_holds_only_fer_packages(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"fer_edge", "fer_train", "fer_convert"}
    assert "fer_edge/cli/__init__.py" in names and "fer_edge/py.typed" in names
    # The default expression model and its card ship inside fer_edge; PyPI takes <= 100 MB.
    for suffix in (".tflite", ".json"):
        assert f"fer_edge/data/models/fer-resnet50-96-int8{suffix}" in names
    # The default model's float weights (fer-train --weights default), and a wheel PyPI takes.
    assert {
        "fer_train/data/fer-resnet50-96-float.npz",
        "fer_train/data/fer-resnet50-96-float.json",
    } <= set(names)
    assert wheel.stat().st_size < 100e6
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry).decode()
    for line in (
        "fer-edge = fer_edge.cli:main",
        "fer-train = fer_train.cli:main",
        "fer-convert = fer_convert.cli:main",
    ):
        assert line in scripts

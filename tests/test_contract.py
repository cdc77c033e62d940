"""The model contract as a package: importable without OpenCV or a runtime."""

from __future__ import annotations

import subprocess
import sys


def test_the_contract_imports_no_opencv():
    """Training tools and card readers use the contract without OpenCV or a runtime."""
    code = (
        "import importlib, pkgutil, sys, fer_edge.contract as c\n"
        "mods = [m.name for m in pkgutil.iter_modules(c.__path__, 'fer_edge.contract.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cv2', 'tensorflow', 'keras')]\n"
        "print(len(mods), bad); sys.exit(1 if bad or len(mods) < 6 else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

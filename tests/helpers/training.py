"""Driving fer-train in tests: its CLI in process and its one-line errors, the default model's
float .keras, and model inputs made from a real face crop."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from fer_train.cli import main

from . import REPO

#: The default model's float .keras (95 MB, not in the repository; the packed weights in
#: train/data are made from it), where the tests look for it.
SHARED_KERAS = REPO.parent / "shared" / "models" / "default" / "fer-resnet50-96.keras"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    (line,) = result.output.strip().splitlines()
    assert line.startswith("fer-train: error:") and text in line, line


def face_inputs(crop: np.ndarray, n: int = 200, seed: int = 0) -> np.ndarray:
    """Real-looking 96 px inputs: ``crop`` as is, then at varied scale, rotation, shift and
    brightness, mirrored half the time; plus a few random images."""
    import cv2

    rng = np.random.default_rng(seed)
    out = [crop]
    for i in range(n - 1):
        turn = cv2.getRotationMatrix2D((48, 48), rng.uniform(-20, 20), rng.uniform(0.8, 1.2))
        turn[:, 2] += rng.uniform(-8, 8, 2)
        face = cv2.warpAffine(
            crop.astype(np.float32), turn, (96, 96), borderMode=cv2.BORDER_REFLECT
        )
        face = face * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
        out.append(np.clip(face[:, ::-1] if i % 2 else face, 0, 255).astype(np.uint8))
    noise = rng.integers(0, 256, (n // 4, 96, 96, 3), dtype=np.uint8)
    return np.concatenate([np.stack(out), noise])

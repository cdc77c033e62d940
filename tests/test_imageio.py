"""Reading images: one-line errors that name the file; palette TIFFs and grey images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_edge.capture.imageio import read_image
from fer_edge.contract.errors import ImageReadError
from helpers.skips import needs


def test_read_image_errors_name_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageReadError, match="corrupt.png: not a readable image"):
        read_image(corrupt)
    with pytest.raises(ImageReadError, match="missing.jpg: cannot read"):
        read_image(tmp_path / "missing.jpg")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty file"):
        read_image(empty)


def test_read_image_palette_tiff_and_grey(tmp_path):
    pil = needs("PIL.Image")
    grey = (np.arange(32 * 32) % 256).astype(np.uint8).reshape(32, 32)
    pil.fromarray(grey).convert("P").save(tmp_path / "KA.AN1.39.tiff")
    image = read_image(tmp_path / "KA.AN1.39.tiff")
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    assert read_image(tmp_path / "g.png").shape == (32, 32, 3)

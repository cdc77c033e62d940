"""Face detectors (YuNet, Haar), model-file lookup and fetch, image reading."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

from conftest import needs, tile_faces
from fer_edge.capture.imageio import read_image
from fer_edge.contract.errors import ConfigError, ImageReadError, ModelFileError
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces import modelfiles
from fer_edge.faces.crop import crop_faces
from fer_edge.faces.detect import HaarDetector, YuNetDetector, create_detector

# The astronaut's face in skimage.data.astronaut() lies about here (x0, y0, x1, y1).
FACE_REGION = (165, 50, 285, 190)


def _inside(box, region, slack=15):
    x, y, w, h = box
    x0, y0, x1, y1 = region
    return x >= x0 - slack and y >= y0 - slack and x + w <= x1 + slack and y + h <= y1 + slack


def _iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def test_yunet_finds_the_astronaut_face_with_landmarks(yunet_model, astronaut_bgr):
    faces = YuNetDetector(yunet_model).detect(astronaut_bgr)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.8 and _inside(face.box, FACE_REGION)
    (rx, ry), (lx, ly) = face.eyes
    assert rx < lx and abs(ry - ly) < 10  # subject's right eye on the image's left, level


def test_haar_finds_the_astronaut_face(astronaut_bgr):
    try:
        detector = HaarDetector()
    except ModelFileError as exc:
        pytest.skip(f"no Haar cascade here: {exc}")
    faces = detector.detect(astronaut_bgr)
    assert len(faces) == 1 and _inside(faces[0].box, FACE_REGION)


@pytest.mark.parametrize("side", [80, 48, 40])
def test_yunet_finds_every_face_of_a_tiled_frame(yunet_model, head_bgr, side):
    frame, tiles = tile_faces(head_bgr, side)
    faces = YuNetDetector(yunet_model).detect(frame)
    assert len(faces) == len(tiles) >= 15
    for x, y, w, h in tiles:  # each tile holds exactly one detection
        inside = [
            f
            for f in faces
            if x <= f.box[0] + f.box[2] / 2 <= x + w and y <= f.box[1] + f.box[3] / 2 <= y + h
        ]
        assert len(inside) == 1
    # at side 48 the faces are ~20 px
    assert min(min(f.box[2:]) for f in faces) < side * 0.6


def test_haar_finds_large_tiled_faces(head_bgr):
    try:
        detector = HaarDetector()
    except ModelFileError as exc:
        pytest.skip(f"no Haar cascade here: {exc}")
    frame, tiles = tile_faces(head_bgr, 120, shape=(400, 640))
    faces = detector.detect(frame)
    assert len(faces) == len(tiles)
    assert all(max(_iou(f.box, t) for t in tiles) > 0.1 for f in faces)


def test_no_face_frame(yunet_model):
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (9, 9), 3)
    assert YuNetDetector(yunet_model).detect(frame) == []
    assert YuNetDetector(yunet_model).detect(np.zeros((240, 320), np.uint8)) == []


def test_min_size_filters_small_faces(yunet_model, head_bgr):
    frame, _ = tile_faces(head_bgr, 40)
    assert YuNetDetector(yunet_model, min_size=30).detect(frame) == []


def test_crops_of_detections_follow_the_recipe(yunet_model, astronaut_bgr):
    detector = YuNetDetector(yunet_model)
    faces = detector.detect(astronaut_bgr)
    crops = crop_faces(astronaut_bgr, faces, CropRecipe(64))
    assert crops.shape == (1, 64, 64, 3) and crops.dtype == np.uint8
    # the crop of a crop is still a face
    again = detector.detect(cv2.resize(crops[0][:, :, ::-1], (160, 160)))
    assert len(again) == 1
    assert crop_faces(astronaut_bgr, [], CropRecipe(64)).shape == (0, 64, 64, 3)


def test_create_detector_prefers_yunet_and_falls_back_to_haar(
    yunet_model, monkeypatch, tmp_path, caplog
):
    monkeypatch.setenv("FER_EDGE_FACE_MODEL", str(yunet_model))
    assert create_detector("auto").name == "yunet"
    monkeypatch.delenv("FER_EDGE_FACE_MODEL")
    monkeypatch.setenv("FER_EDGE_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(modelfiles, "models_dirs", lambda: [tmp_path])
    with pytest.raises(ModelFileError, match="YuNet face model not found"):
        create_detector("yunet")
    try:
        fallback = create_detector("auto")
    except ModelFileError as exc:
        pytest.skip(f"no Haar cascade here: {exc}")
    assert fallback.name == "haar" and "misses most faces" in caplog.text
    assert caplog.records[-1].levelname == "WARNING"  # a fallback nobody chose is a warning
    caplog.clear()
    caplog.set_level("INFO", logger="fer_edge.faces.detect")
    assert create_detector("haar").name == "haar"
    assert caplog.records[-1].levelname == "INFO"  # a chosen Haar detector is only noted
    (tmp_path / modelfiles.YUNET_FILENAME).write_bytes(yunet_model.read_bytes())
    assert create_detector("auto").name == "yunet"
    with pytest.raises(ConfigError, match="unknown detector"):
        create_detector("dlib")


def test_missing_and_corrupt_model_files_give_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        create_detector("yunet", face_model=tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelFileError, match="not a usable YuNet"):
        YuNetDetector(bad)
    with pytest.raises(ModelFileError, match="Haar cascade not found"):
        HaarDetector(tmp_path / "nope.xml")


# --- fetch -------------------------------------------------------------------------------------
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


# --- images ------------------------------------------------------------------------------------
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


# --- the device package stays free of TensorFlow -----------------------------------------------
def test_importing_every_fer_edge_module_does_not_import_tensorflow():
    code = (
        "import pkgutil, importlib, sys, fer_edge\n"
        "mods = [m.name for m in pkgutil.walk_packages(fer_edge.__path__, 'fer_edge.')\n"
        "        if not m.name.endswith('__main__')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "print(len(mods)); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 30  # every module of every subpackage

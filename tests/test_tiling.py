"""Small faces: upscaled, tiled detection and non-maximum suppression across tiles."""

from __future__ import annotations

import pytest
from scenes import background, face_box, face_patch, paste, scene

from fer_edge.faces.detect import Face, YuNetDetector
from fer_edge.faces.tiling import TiledDetector, detection_scale, nms, plan_tiles
from fer_edge.faces.tracker import iou


def _found(faces, truth, threshold=0.3):
    """How many true boxes some detection matches, and how many detections match none."""
    hit = {i for f in faces for i, t in enumerate(truth) if iou(f.box, t) >= threshold}
    false = sum(1 for f in faces if max(iou(f.box, t) for t in truth) < threshold)
    return len(hit), false


def test_detection_scale_follows_min_face():
    assert detection_scale(0) == 1.0 and detection_scale(24) == 1.0
    assert detection_scale(12) == pytest.approx(20 / 12)
    assert detection_scale(4) == 2.0  # capped


@pytest.mark.parametrize("width, height", [(640, 360), (1280, 720), (333, 999)])
def test_tiles_cover_the_frame_with_the_overlap(width, height):
    tiles = plan_tiles(width, height, scale=2.0, tile=400, overlap=48)
    assert len(tiles) > 1
    sides = {(x1 - x0, y1 - y0) for x0, y0, x1, y1 in tiles}
    assert len(sides) == 1  # one network input size
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert all(
        any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in tiles)
        for x in range(0, width, 7)
        for y in range(0, height, 7)
    )
    xs = sorted({t[0] for t in tiles})
    ends = sorted({t[2] for t in tiles})
    assert all(end - start >= 48 for start, end in zip(xs[1:], ends[:-1], strict=False))
    assert plan_tiles(640, 360, 2.0, 1280, 48) == [(0, 0, 640, 360)]


def test_nms_keeps_one_box_per_face():
    a = Face((100, 100, 20, 24), 0.9)
    same = Face((101, 99, 21, 24), 0.8)  # the same face from a neighbouring tile
    part = Face((100, 100, 10, 12), 0.7)  # half of it, found as a face
    other = Face((140, 100, 20, 24), 0.6)
    assert nms([part, same, a, other]) == [a, other]


def test_tiled_detector_finds_small_faces_the_plain_one_misses(yunet_model):
    frame, placed = scene(0, sizes=(12, 16), count=(20, 25), hard=False)
    truth = [p.box for p in placed]
    plain_hits, _ = _found(YuNetDetector(yunet_model).detect(frame), truth)
    tiled = TiledDetector(lambda s: YuNetDetector(yunet_model, s), min_face=12)
    tiled_hits, false = _found(tiled.detect(frame), truth)
    assert plain_hits <= 0.3 * len(truth)
    assert tiled_hits >= 0.9 * len(truth) and false <= 1


def test_a_face_on_a_tile_seam_is_counted_once(yunet_model):
    detector = TiledDetector(lambda s: YuNetDetector(yunet_model, s), min_face=12, tile=400)
    tiles = detector.tiles(640, 360)
    assert len(tiles) > 2
    frame = background("coffee").copy()
    truth = []
    # faces centred on every inner vertical seam and inside each overlap
    seams = sorted({x1 for _, _, x1, _ in tiles})[:-1]
    starts = sorted({x0 for x0, _, _, _ in tiles})[1:]
    for k, (seam, start) in enumerate(zip(seams, starts, strict=True)):
        for cx, cy, side in ((seam, 90.0, 30.0), ((seam + start) / 2, 250.0, 22.0)):
            cy += 10 * k
            patch, alpha = face_patch(side)
            paste(frame, patch, alpha, cx, cy)
            truth.append(face_box(cx, cy, side))
    faces = detector.detect(frame)
    hits, false = _found(faces, truth)
    assert hits == len(truth) and false == 0 and len(faces) == len(truth)

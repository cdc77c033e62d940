"""Video files: not-a-video is one configuration error, truncation is warned, FFmpeg kept quiet."""

from __future__ import annotations

import logging
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.capture.devices import open_source
from fer_edge.capture.events import FRAME
from fer_edge.capture.filesource import FileSource
from fer_edge.cli import main
from fer_edge.contract.errors import ConfigError
from fer_edge.record.timeutil import parse_iso
from helpers.clips import START
from helpers.fakes import T0


def _clip(path, frames=40, fourcc="MJPG"):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 5, np.uint8))
    writer.release()
    return path


def _cut(path, share=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


@pytest.mark.parametrize("kind", ["text", "empty", "directory", "no-moov"])
def test_what_is_not_a_video_exits_78_with_one_line(tmp_path, kind):
    target = tmp_path / f"{kind}.mp4"
    if kind == "text":
        target.write_text("hello\n")
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "directory":
        target.mkdir()
    else:
        _cut(_clip(target, fourcc="mp4v"))
    result = CliRunner().invoke(main, ["run", "--camera", str(target), "--log-dir",
                                       str(tmp_path / "logs")])  # fmt: skip
    assert result.exit_code == 78, result.output
    assert str(target) in result.output and "Traceback" not in result.output
    with pytest.raises(ConfigError, match="not a video file"):
        FileSource(target)


def test_a_truncated_video_warns_how_many_frames_are_missing(tmp_path, caplog):
    clip = _cut(_clip(tmp_path / "cut.avi", 40))
    source = FileSource(clip)
    n = sum(1 for _ in source)
    assert 0 < n < 40
    assert f"ends after {n} of the 40 frames its header declares (truncated?" in caplog.text
    caplog.clear()
    caplog.set_level(logging.INFO)
    assert sum(1 for _ in FileSource(_clip(tmp_path / "whole.avi", 40))) == 40
    assert "end of file after 40 frames" in caplog.text and "header declares" not in caplog.text


def test_ffmpegs_own_lines_do_not_reach_the_terminal(tmp_path):
    """In a fresh process (FFmpeg writes to file descriptor 2, past pytest's capture)."""
    bad = _cut(_clip(tmp_path / "bad.mp4", fourcc="mp4v"))
    code = (
        "import sys\nfrom fer_edge.capture.filesource import FileSource\n"
        "try:\n    FileSource(sys.argv[1])\nexcept Exception as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True)
    assert "moov atom not found" not in out.stderr, out.stderr
    assert out.stdout.strip() == f"{bad}: not a video file (cannot be decoded: moov atom not found)"


def write_clip(path, n=10, fps=10.0, shape=(48, 64)):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, shape[::-1])
    for i in range(n):
        writer.write(np.full((*shape, 3), 20 * i % 255, np.uint8))
    writer.release()
    return path


def test_file_source_uses_video_time_and_ends_at_eof(tmp_path):
    clip = write_clip(tmp_path / "c.avi", n=10, fps=10.0)
    source = open_source(str(clip), start=T0)
    assert not source.live
    events = list(source)
    assert {e.kind for e in events} == {FRAME}  # a file has nothing but frames
    assert [e.ts for e in events] == pytest.approx([T0 + i / 10 for i in range(10)])


def test_source_file_start_defaults_to_mtime(tmp_path):
    clip = write_clip(tmp_path / "c.avi")
    assert FileSource(clip).start == float(int(clip.stat().st_mtime))
    assert parse_iso(START) == FileSource(clip, start=parse_iso(START)).start

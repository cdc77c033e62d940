"""Readers for the expression datasets as users download them.

Each reader turns a dataset path into :class:`Record` s (dataset, source, canonical label,
subject, the dataset's own split) plus counts of what it skipped and why. Pixels are not
decoded here (see :mod:`fer_train.prepare`), except FER2013's CSV, whose rows are the pixels.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.contract.errors import ConfigError
from fer_edge.contract.labels import CKPLUS_CODES, FER2013_CODES, canonical

log = logging.getLogger(__name__)

KINDS = ("fer2013", "ckplus", "jaffe", "folder")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".webp"})
FER2013_USAGE = {"training": "train", "publictest": "val", "privatetest": "test"}
#: Peak frames taken from each labelled CK+ sequence (the last ones of the sequence).
CKPLUS_PEAK_FRAMES = 3
EXCLUDED = "excluded label"


@dataclass(frozen=True)
class Record:
    """One image of a dataset. ``split`` is the dataset's own split or "" when it has none.

    ``pixels`` holds the grey pixels of a FER2013 CSV row; otherwise the image is at ``path``.
    ``cropped`` is True for sets whose images are already face crops (FER2013, CK+48).
    """

    dataset: str
    source: str
    label: str
    subject: str = ""
    split: str = ""
    cropped: bool = False
    path: Path | None = None
    pixels: np.ndarray | None = None


@dataclass
class Listing:
    records: list[Record]
    skipped: Counter


def check_source(kind: str, path: str | Path) -> Path:
    """``path`` as a Path (``~`` expanded); ConfigError for an unknown kind or a missing path."""
    if kind not in KINDS:
        raise ConfigError(f"unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}")
    if not Path(path).expanduser().exists():
        raise ConfigError(f"{path}: dataset path not found")
    return Path(path).expanduser()


def parse_spec(text: str) -> tuple[str, Path]:
    """``KIND=PATH`` (as given to ``--data``) → (kind, path); ConfigError if bad or missing."""
    kind, sep, path = text.partition("=")
    kind = kind.strip().lower()
    if not sep or not path:
        raise ConfigError(f"{text!r}: expected KIND=PATH with KIND one of {', '.join(KINDS)}")
    return kind, check_source(kind, path)


def read_dataset(kind: str, root: Path, name: str | None = None) -> Listing:
    """All records of the dataset ``kind`` at ``root`` (reported under ``name``, default kind)."""
    readers: dict[str, Callable[[Path, str], Listing]] = {
        "fer2013": read_fer2013,
        "ckplus": read_ckplus,
        "jaffe": read_jaffe,
        "folder": read_folder,
    }
    root = check_source(kind, root)
    listing = readers[kind](root, name or kind)
    log.info("%s: %d images listed from %s", name or kind, len(listing.records), root)
    return listing


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _label(name: str, where: Path | str, codes=None) -> str | None:
    """Canonical label or None when excluded; an unknown one names ``where``."""
    from fer_edge.contract.errors import UnknownLabelError

    try:
        return canonical(name, codes=codes)
    except UnknownLabelError as exc:
        raise UnknownLabelError(f"{where}: {exc}") from None


# --- FER2013 ---------------------------------------------------------------------------------


def read_fer2013(root: Path, name: str) -> Listing:
    """The Kaggle CSV (a file, or a folder holding ``fer2013.csv``) or the image-folder layout."""
    csv_file = root if root.is_file() else root / "fer2013.csv"
    if csv_file.is_file():
        return _fer2013_csv(csv_file, name)
    if (root / "train").is_dir() or (root / "test").is_dir():
        return _fer2013_folders(root, name)
    raise ConfigError(f"{root}: neither a FER2013 CSV nor a folder with train/ and test/")


def _fer2013_csv(path: Path, name: str) -> Listing:
    records, skipped = [], Counter()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"emotion", "pixels"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(f"{path}: not a FER2013 CSV (missing column {sorted(missing)[0]!r})")
        for row_no, row in enumerate(reader, start=2):
            where = f"{path}:{row_no}"
            label = _label(row["emotion"], where, codes=FER2013_CODES)
            if label is None:
                skipped[EXCLUDED] += 1
                continue
            usage = (row.get("Usage") or "Training").strip().lower()
            split = FER2013_USAGE.get(usage)
            if split is None:
                raise ConfigError(f"{where}: unknown Usage {row.get('Usage')!r}")
            try:
                pixels = np.array(row["pixels"].split(), dtype=np.uint8)
                side = int(round(len(pixels) ** 0.5))
                if side * side != len(pixels) or side == 0:
                    raise ValueError(f"{len(pixels)} pixels is not a square image")
            except (ValueError, OverflowError) as exc:
                log.warning("%s: skipped, bad pixels (%s)", where, exc)
                skipped["unreadable"] += 1
                continue
            records.append(
                Record(name, where, label, "", split, True, pixels=pixels.reshape(side, side))
            )
    return Listing(records, skipped)


def _fer2013_folders(root: Path, name: str) -> Listing:
    records, skipped = [], Counter()
    for part in ("train", "test"):
        folder = root / part
        if not folder.is_dir():
            continue
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            label = _label(class_dir.name, class_dir)
            for path in _images(class_dir):
                if label is None:
                    skipped[EXCLUDED] += 1
                    continue
                split = "train"
                if part == "test":
                    split = "val" if path.name.lower().startswith("publictest") else "test"
                records.append(Record(name, str(path), label, "", split, True, path=path))
    return Listing(records, skipped)


# --- CK+ -------------------------------------------------------------------------------------

_CK_SUBJECT = re.compile(r"^(S\d+)_", re.IGNORECASE)


def read_ckplus(root: Path, name: str) -> Listing:
    """The original release (``cohn-kanade-images/`` + ``Emotion/``) or the CK+48 layout."""
    images = root / "cohn-kanade-images"
    if images.is_dir():
        return _ckplus_original(root, images, name)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    if not class_dirs:
        raise ConfigError(f"{root}: no CK+ class folders and no cohn-kanade-images/ found")
    records, skipped = [], Counter()
    for class_dir in class_dirs:
        label = _label(class_dir.name, class_dir)
        for path in _images(class_dir):
            if label is None:
                skipped[EXCLUDED] += 1
                continue
            match = _CK_SUBJECT.match(path.name)
            subject = match.group(1).upper() if match else path.stem
            records.append(Record(name, str(path), label, subject, "", True, path=path))
    return Listing(records, skipped)


def _ckplus_original(root: Path, images: Path, name: str) -> Listing:
    emotion = root / "Emotion"
    if not emotion.is_dir():
        raise ConfigError(f"{root}: cohn-kanade-images/ found but no Emotion/ folder of labels")
    records, skipped = [], Counter()
    for label_file in sorted(emotion.glob("*/*/*_emotion.txt")):
        subject, sequence = label_file.parent.parent.name, label_file.parent.name
        text = label_file.read_text(encoding="utf-8", errors="replace").strip()
        try:
            code = int(float(text))
        except ValueError:
            raise ConfigError(f"{label_file}: expected an emotion code 0-7, got {text!r}") from None
        label = _label(str(code), label_file, codes=CKPLUS_CODES)
        frames_dir = images / subject / sequence
        frames = _images(frames_dir) if frames_dir.is_dir() else []
        if not frames:
            log.warning("%s: no frames in %s", label_file, frames_dir)
            skipped["missing frames"] += 1
            continue
        records.append(
            Record(name, str(frames[0]), "neutral", subject.upper(), "", False, path=frames[0])
        )
        for path in frames[1:][-CKPLUS_PEAK_FRAMES:]:
            if label is None:
                skipped[EXCLUDED] += 1
                continue
            records.append(Record(name, str(path), label, subject.upper(), "", False, path=path))
    if not records and not skipped:
        raise ConfigError(f"{emotion}: no *_emotion.txt label files found")
    return Listing(records, skipped)


# --- JAFFE -----------------------------------------------------------------------------------

_JAFFE = re.compile(r"^([A-Za-z]+)\.([A-Za-z]{2})\d*\.\d+\.tiff?$")


def read_jaffe(root: Path, name: str) -> Listing:
    """The flat folder of ``KA.AN1.39.tiff`` files: subject ``KA``, expression code ``AN``."""
    records, skipped = [], Counter()
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        match = _JAFFE.match(path.name)
        if not match:
            if path.suffix.lower() in (".tif", ".tiff"):
                log.warning("%s: skipped, name is not SUBJECT.CODEn.N.tiff", path)
                skipped["unrecognised name"] += 1
            continue
        label = _label(match.group(2), path)
        if label is None:
            skipped[EXCLUDED] += 1
            continue
        records.append(Record(name, str(path), label, match.group(1).upper(), "", False, path=path))
    if not records:
        raise ConfigError(f"{root}: no JAFFE images (KA.AN1.39.tiff) found")
    return Listing(records, skipped)


# --- a school's own folder -------------------------------------------------------------------


def read_folder(root: Path, name: str) -> Listing:
    """``<root>/<label>/*`` (or ``<root>/{train,val,test}/<label>/*``); labels via aliases.

    A sub-folder below a label folder names a subject (``<root>/<label>/<subject>/*``).
    """
    records, skipped = [], Counter()
    parts = [p for p in ("train", "val", "test") if (root / p).is_dir()]
    tops = [(root / p, p) for p in parts] if parts else [(root, "")]
    for top, split in tops:
        for class_dir in sorted(p for p in top.iterdir() if p.is_dir()):
            label = _label(class_dir.name, class_dir)
            groups = [(class_dir, "")] + [
                (d, d.name) for d in sorted(class_dir.iterdir()) if d.is_dir()
            ]
            for folder, subject in groups:
                for path in _images(folder):
                    if label is None:
                        skipped[EXCLUDED] += 1
                        continue
                    records.append(Record(name, str(path), label, subject, split, False, path=path))
    if not records:
        raise ConfigError(f"{root}: no images in <label>/ folders")
    return Listing(records, skipped)

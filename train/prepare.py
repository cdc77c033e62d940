"""Decode, crop and cache one dataset's images as model-sized RGB uint8 arrays.

Full-frame images (JAFFE, original CK+, school folders) go through the shared face pipeline
(largest face, the device's crop recipe); pre-cropped sets (FER2013, CK+48) are resized with
the whole image as the box. Results are cached in an ``.npz`` keyed by the source files and
the parameters, so a second run starts fast.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge import atomic
from fer_edge.crop import CropRecipe, crop_square
from fer_edge.errors import ImageReadError
from fer_edge.imageio import read_image
from fer_edge.labels import index

from .readers import Record, read_dataset

log = logging.getLogger(__name__)

CACHE_VERSION = 1


@dataclass
class Prepared:
    """Model-ready images: (N, S, S, 3) RGB uint8 with per-image metadata.

    ``hashes`` are sha1 digests of the decoded source pixels (for duplicate removal);
    ``skipped`` maps dataset → reason → count.
    """

    images: np.ndarray
    labels: np.ndarray
    datasets: np.ndarray
    splits: np.ndarray
    subjects: np.ndarray
    skipped: dict[str, dict[str, int]]
    hashes: np.ndarray | None = None

    @classmethod
    def empty(cls, size: int) -> Prepared:
        return cls(
            np.zeros((0, size, size, 3), np.uint8),
            np.zeros(0, np.int64),
            np.zeros(0, "<U1"),
            np.zeros(0, "<U1"),
            np.zeros(0, "<U1"),
            {},
            np.zeros(0, "<U1"),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, mask: np.ndarray) -> Prepared:
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        return Prepared(
            self.images[idx],
            self.labels[idx],
            self.datasets[idx],
            self.splits[idx],
            self.subjects[idx],
            self.skipped,
            None if self.hashes is None else self.hashes[idx],
        )

    @staticmethod
    def concat(parts: list[Prepared], size: int) -> Prepared:
        if not parts:
            return Prepared.empty(size)
        skipped: dict[str, dict[str, int]] = {}
        for part in parts:
            for name, reasons in part.skipped.items():
                merged = skipped.setdefault(name, {})
                for reason, n in reasons.items():
                    merged[reason] = merged.get(reason, 0) + n
        return Prepared(
            np.concatenate([p.images for p in parts]),
            np.concatenate([p.labels for p in parts]).astype(np.int64),
            np.concatenate([p.datasets.astype(str) for p in parts]),
            np.concatenate([p.splits.astype(str) for p in parts]),
            np.concatenate([p.subjects.astype(str) for p in parts]),
            skipped,
            np.concatenate([p.hashes.astype(str) for p in parts]),
        )


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fer-edge" / "prepared"


def fingerprint(kind: str, root: Path, params: dict) -> str:
    """sha256 over the source files' names, sizes and mtimes plus the parameters."""
    digest = hashlib.sha256()
    root = Path(root).resolve()
    digest.update(json.dumps([CACHE_VERSION, kind, str(root), params], sort_keys=True).encode())
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def prepare_dataset(
    kind: str,
    root: Path,
    name: str,
    recipe: CropRecipe,
    *,
    strict: bool = False,
    cache_dir: Path | None = None,
    detector_factory=None,
    detector_key: str = "auto",
) -> Prepared:
    """One dataset as a :class:`Prepared` (dataset's own splits; "" where it has none)."""
    params = {"name": name, "crop": recipe.to_dict(), "detector": detector_key}
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache_file = cache / f"{fingerprint(kind, root, params)}.npz"
    if cache_file.is_file():
        cached = _load_cache(cache_file)
        if cached is not None and not (strict and cached.skipped.get(name, {}).get("unreadable")):
            log.info("%s: %d prepared images from cache %s", name, len(cached), cache_file)
            return cached
    prepared = _prepare(kind, root, name, recipe, strict, detector_factory)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _save_cache(cache_file, prepared)
    except OSError as exc:
        log.warning("cannot write the prepared-data cache %s (%s)", cache_file, exc)
    return prepared


def _prepare(kind, root, name, recipe, strict, detector_factory) -> Prepared:
    listing = read_dataset(kind, root, name)
    skipped = Counter(listing.skipped)
    full = CropRecipe(size=recipe.size, margin=0.0, align=False)
    detector = None
    images, kept, hashes = [], [], []
    total = len(listing.records)
    for i, record in enumerate(listing.records, start=1):
        if i % 500 == 0:
            log.info("%s: prepared %d/%d images", name, i, total)
        try:
            bgr = _decode(record)
        except ImageReadError as exc:
            if strict:
                raise
            log.warning("skipped: %s", exc)
            skipped["unreadable"] += 1
            continue
        hashes.append(hashlib.sha1(bgr.tobytes() + str(bgr.shape).encode()).hexdigest())
        if record.cropped:
            height, width = bgr.shape[:2]
            crop = crop_square(bgr, (0, 0, width, height), full)
        else:
            if detector is None:
                detector = detector_factory()
            faces = detector.detect(bgr)
            if not faces:
                log.debug("%s: no face found", record.source)
                skipped["no face"] += 1
                hashes.pop()
                continue
            face = max(faces, key=lambda f: f.box[2] * f.box[3])
            crop = crop_square(bgr, face.box, recipe, face.eyes)
        images.append(crop)
        kept.append(record)
    for reason, n in sorted(skipped.items()):
        log.info("%s: skipped %d images (%s)", name, n, reason)
    size = recipe.size
    return Prepared(
        np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8),
        np.array([index(r.label) for r in kept], dtype=np.int64),
        np.array([r.dataset for r in kept], dtype=str),
        np.array([r.split for r in kept], dtype=str),
        np.array([r.subject for r in kept], dtype=str),
        {name: dict(skipped)},
        np.array(hashes, dtype=str),
    )


def _decode(record: Record) -> np.ndarray:
    if record.pixels is not None:
        grey = record.pixels
        return np.repeat(grey[:, :, None], 3, axis=2)
    return read_image(record.path)


def _save_cache(path: Path, prepared: Prepared) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        images=prepared.images,
        labels=prepared.labels,
        datasets=prepared.datasets,
        splits=prepared.splits,
        subjects=prepared.subjects,
        hashes=prepared.hashes,
        skipped=np.array(json.dumps(prepared.skipped)),
    )
    atomic.write_bytes(path, buffer.getvalue())


def _load_cache(path: Path) -> Prepared | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return Prepared(
                data["images"],
                data["labels"].astype(np.int64),
                data["datasets"],
                data["splits"],
                data["subjects"],
                json.loads(str(data["skipped"])),
                data["hashes"],
            )
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring a broken cache file %s (%s)", path, exc)
        return None

"""Decode, crop and cache one dataset's images as model-sized RGB uint8 arrays.

Full-frame images (JAFFE, original CK+, school folders) go through the shared face pipeline
(largest face, the device's crop recipe); pre-cropped sets (FER2013, CK+48) are resized with
the whole image as the box. Results are cached (metadata ``KEY.npz``, pixels
``KEY.images.npy``, read straight into one array) keyed by the source files and the parameters,
so a second run starts fast.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.capture.imageio import read_image
from fer_edge.contract import atomic
from fer_edge.contract.errors import ImageReadError
from fer_edge.contract.labels import LABELS, index
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.crop import crop_square

from .readers import Record, read_dataset

log = logging.getLogger(__name__)

CACHE_VERSION = 2


@dataclass
class Prepared:
    """Model-ready images: (N, S, S, 3) RGB uint8 with per-image metadata.

    ``hashes`` are sha1 digests of the decoded source pixels (for duplicate removal);
    ``skipped`` maps dataset → reason → count; ``soft``: (N, 7) float32 target distributions
    where a dataset gives them (FER+'s probability mode; one-hot rows for the others), else None.
    """

    images: np.ndarray
    labels: np.ndarray
    datasets: np.ndarray
    splits: np.ndarray
    subjects: np.ndarray
    skipped: dict[str, dict[str, int]]
    hashes: np.ndarray | None = None
    soft: np.ndarray | None = None

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
            None if self.soft is None else self.soft[idx],
        )

    def targets(self) -> np.ndarray:
        """(N, 7) float32 training targets: ``soft`` where given, else one-hot labels."""
        if self.soft is not None:
            return self.soft.astype(np.float32)
        return np.eye(len(LABELS), dtype=np.float32)[self.labels]

    @staticmethod
    def concat(parts: list[Prepared], size: int, keep: np.ndarray | None = None) -> Prepared:
        """The parts in order, only the rows where ``keep`` (over all rows) is True.

        Images are copied once, straight into the result: the fused set of a large dataset at
        224 px is gigabytes, so no intermediate concatenation or selection copy is made.
        """
        if not parts:
            return Prepared.empty(size)
        n = sum(len(p) for p in parts)
        keep = np.ones(n, bool) if keep is None else np.asarray(keep, bool)
        skipped: dict[str, dict[str, int]] = {}
        for part in parts:
            for name, reasons in part.skipped.items():
                merged = skipped.setdefault(name, {})
                for reason, count in reasons.items():
                    merged[reason] = merged.get(reason, 0) + count
        if len(parts) == 1 and keep.all():
            return dataclasses.replace(parts[0], skipped=skipped)  # nothing to copy
        images = np.empty((int(keep.sum()), size, size, 3), np.uint8)
        start = filled = 0
        for part in parts:
            mask = keep[start : start + len(part)]
            count = int(mask.sum())
            np.compress(mask, part.images, axis=0, out=images[filled : filled + count])
            start, filled = start + len(part), filled + count

        def joined(field: str, dtype=str) -> np.ndarray:
            return np.concatenate([getattr(p, field).astype(dtype) for p in parts])[keep]

        soft = None
        if any(p.soft is not None for p in parts):
            soft = np.concatenate([p.targets() for p in parts])[keep]

        return Prepared(
            images,
            joined("labels", np.int64),
            joined("datasets"),
            joined("splits"),
            joined("subjects"),
            skipped,
            joined("hashes"),
            soft,
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
    label_mode: str = "majority",
) -> Prepared:
    """One dataset as a :class:`Prepared` (dataset's own splits; "" where it has none).

    ``label_mode``: how a dataset labelled by votes (FER+) gives its targets.
    """
    params = {"name": name, "crop": recipe.to_dict(), "detector": detector_key}
    if kind == "ferplus":
        params["label_mode"] = label_mode
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache_file = cache / f"{fingerprint(kind, root, params)}.npz"
    if cache_file.is_file():
        cached = _load_cache(cache_file)
        if cached is not None and not (strict and cached.skipped.get(name, {}).get("unreadable")):
            log.info("%s: %d prepared images from cache %s", name, len(cached), cache_file)
            return cached
    prepared = _prepare(kind, root, name, recipe, strict, detector_factory, label_mode)
    if len(prepared) == 0:  # nothing worth caching; a later run (another face model) retries
        return prepared
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _save_cache(cache_file, prepared)
    except OSError as exc:
        log.warning("cannot write the prepared-data cache %s (%s)", cache_file, exc)
    return prepared


def _prepare(kind, root, name, recipe, strict, detector_factory, label_mode) -> Prepared:
    listing = read_dataset(kind, root, name, label_mode)
    skipped = Counter(listing.skipped)
    full = CropRecipe(size=recipe.size, margin=0.0, align=False)
    detector = None
    total = len(listing.records)
    images = np.empty((total, recipe.size, recipe.size, 3), np.uint8)  # filled in place
    kept, hashes = [], []
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
        images[len(kept)] = crop
        kept.append(record)
    for reason, n in sorted(skipped.items()):
        log.info("%s: skipped %d images (%s)", name, n, reason)
    return Prepared(
        images[: len(kept)],
        np.array([index(r.label) for r in kept], dtype=np.int64),
        np.array([r.dataset for r in kept], dtype=str),
        np.array([r.split for r in kept], dtype=str),
        np.array([r.subject for r in kept], dtype=str),
        {name: dict(skipped)},
        np.array(hashes, dtype=str),
        np.array([r.soft for r in kept], np.float32).reshape(-1, len(LABELS))
        if kept and kept[0].soft is not None
        else None,
    )


def _decode(record: Record) -> np.ndarray:
    if record.pixels is not None:
        grey = record.pixels
        return np.repeat(grey[:, :, None], 3, axis=2)
    return read_image(record.path)


def _images_file(path: Path) -> Path:
    return path.with_suffix(".images.npy")


def _save_cache(path: Path, prepared: Prepared) -> None:
    """Pixels first, then the metadata file, whose presence marks the entry complete."""
    with atomic.atomic_path(_images_file(path)) as tmp:
        np.save(tmp, prepared.images)
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            labels=prepared.labels,
            datasets=prepared.datasets,
            splits=prepared.splits,
            subjects=prepared.subjects,
            hashes=prepared.hashes,
            **({} if prepared.soft is None else {"soft": prepared.soft}),
            skipped=np.array(json.dumps(prepared.skipped)),
        )


def _load_cache(path: Path) -> Prepared | None:
    try:
        images = np.load(_images_file(path), allow_pickle=False)
        with np.load(path, allow_pickle=False) as data:
            if len(images) != len(data["labels"]):
                raise ValueError(f"{len(images)} images for {len(data['labels'])} labels")
            return Prepared(
                images,
                data["labels"].astype(np.int64),
                data["datasets"],
                data["splits"],
                data["subjects"],
                json.loads(str(data["skipped"])),
                data["hashes"],
                data["soft"] if "soft" in data.files else None,
            )
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring a broken cache file %s (%s)", path, exc)
        return None

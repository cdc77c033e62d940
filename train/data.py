"""The fused data set: load sources, remove duplicates, assign splits, weigh classes.

Public API (used by ``fer_convert``): :func:`load_sources`, :func:`load_split`,
:class:`Prepared`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import zlib
from pathlib import Path

import numpy as np

from fer_edge.contract.errors import ConfigError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.detect import FaceDetector, create_detector

from .prepare import Prepared, prepare_dataset
from .readers import check_source

log = logging.getLogger(__name__)

__all__ = [
    "Prepared",
    "load_sources",
    "load_split",
    "class_weights",
    "class_prior",
    "composition",
    "SPLITS",
]

SPLITS = ("train", "val", "test")
#: Subject-independent split fractions (val, test) for datasets without their own splits.
HOLDOUT = (0.15, 0.15)


def dataset_names(specs: list[tuple[str, Path]]) -> list[str]:
    """Report names: the kind, numbered when a kind repeats (folder, folder2, ...)."""
    seen: dict[str, int] = {}
    names = []
    for kind, _ in specs:
        seen[kind] = seen.get(kind, 0) + 1
        names.append(kind if seen[kind] == 1 else f"{kind}{seen[kind]}")
    return names


def load_sources(
    specs: list[tuple[str, Path]],
    recipe: CropRecipe,
    *,
    strict: bool = False,
    cache_dir: Path | None = None,
    detector: FaceDetector | None = None,
    detector_kind: str = "auto",
    face_model: str | None = None,
    seed: int = 0,
    assign_splits: bool = True,
    label_mode: str = "majority",
) -> Prepared:
    """Read, crop (by ``recipe``) and fuse datasets given as (kind, path); every image gets a
    split.

    With ``assign_splits=False`` only the datasets' own splits are set ("" elsewhere).
    ``label_mode``: FER+'s vote rule (:func:`fer_train.readers.ferplus_target`).

    Byte-identical images (same decoded pixels) are kept once across the whole fusion; a copy
    in a test split wins over val and train, so nothing the model trains on is tested.
    """
    if not specs:
        raise ConfigError("no datasets given; pass --data KIND=PATH")
    for kind, path in specs:
        check_source(kind, path)  # all of them before the first slow preparation
    shared: list[FaceDetector] = [detector] if detector is not None else []

    def factory() -> FaceDetector:
        if not shared:
            shared.append(create_detector(detector_kind, face_model))
        return shared[0]

    key = type(detector).__name__ if detector is not None else f"{detector_kind}:{face_model}"
    parts = []
    for (kind, path), name in zip(specs, dataset_names(specs), strict=True):
        part = prepare_dataset(
            kind,
            Path(path),
            name,
            recipe,
            strict=strict,
            cache_dir=cache_dir,
            detector_factory=factory,
            detector_key=key,
            label_mode=label_mode,
        )
        parts.append(_assign_splits(part, name, seed) if assign_splits else part)
    return _dedupe(parts, recipe.size)


def _assign_splits(part: Prepared, name: str, seed: int) -> Prepared:
    """Keep a dataset's own splits; fill missing ones by subject (seeded, no subject leaks)."""
    splits = part.splits.astype("<U5").copy()
    own = set(splits.tolist()) - {""}
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if own and "val" not in own and "train" in own:
        # Image-folder FER2013 has train/test only: carve a validation part out of train.
        train = np.flatnonzero(splits == "train")
        val = rng.choice(train, size=max(1, int(len(train) * HOLDOUT[0])), replace=False)
        splits[val] = "val"
    missing = splits == ""
    if missing.any():
        groups = np.where(
            part.subjects == "", np.char.add("#", np.arange(len(splits)).astype(str)), part.subjects
        )
        subjects = np.array(sorted(set(groups[missing].tolist())))
        order = rng.permutation(len(subjects))
        n = len(subjects)
        n_test = max(1, int(round(n * HOLDOUT[1]))) if n >= 3 else 0
        n_val = max(1, int(round(n * HOLDOUT[0]))) if n >= 3 else 0
        chosen = {s: "train" for s in subjects}
        for i in order[:n_test]:
            chosen[subjects[i]] = "test"
        for i in order[n_test : n_test + n_val]:
            chosen[subjects[i]] = "val"
        for i in np.flatnonzero(missing):
            splits[i] = chosen[groups[i]]
    return dataclasses.replace(part, splits=splits)


def _dedupe(parts: list[Prepared], size: int) -> Prepared:
    """Fuse the parts without repeated pixels; a copy in test wins over val over train."""

    def joined(field: str) -> list[str]:
        return np.concatenate([getattr(p, field).astype(str) for p in parts]).tolist()

    hashes, splits, datasets = joined("hashes"), joined("splits"), joined("datasets")
    rank = {"test": 0, "val": 1, "train": 2}
    order = sorted(range(len(hashes)), key=lambda i: rank.get(splits[i], 3))
    seen: set[str] = set()
    keep = np.zeros(len(hashes), bool)
    duplicates: dict[str, int] = {}
    for i in order:
        if hashes[i] in seen:
            duplicates[datasets[i]] = duplicates.get(datasets[i], 0) + 1
            continue
        seen.add(hashes[i])
        keep[i] = True
    out = Prepared.concat(parts, size, keep)
    for name, count in duplicates.items():
        reasons = out.skipped.setdefault(name, {})
        reasons["duplicate"] = reasons.get("duplicate", 0) + count
    if duplicates:
        log.info("removed %d duplicate images across the fusion", sum(duplicates.values()))
    return out


def cap_per_class(prepared: Prepared, max_per_class: int | None, seed: int = 0) -> Prepared:
    """At most ``max_per_class`` images per (split, dataset, label), seeded."""
    if not max_per_class:
        return prepared
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    keys = zip(
        prepared.splits.tolist(), prepared.datasets.tolist(), prepared.labels.tolist(), strict=False
    )
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for idx in groups.values():
        keep.extend(rng.permutation(idx)[:max_per_class].tolist())
    return prepared.select(np.array(sorted(keep), dtype=np.int64))


def parse_repeat(texts) -> dict[str, int]:
    """``NAME=N`` options (``--repeat ckplus=8``) → {name: N}; ConfigError when malformed."""
    out: dict[str, int] = {}
    for text in texts or ():
        name, sep, count = str(text).partition("=")
        try:
            n = int(count)
        except ValueError:
            n = 0
        if not sep or not name.strip() or n < 1:
            raise ConfigError(f"{text!r}: expected DATASET=N with N a whole number >= 1")
        out[name.strip().lower()] = n
    return out


def repeat_datasets(prepared: Prepared, repeat: dict[str, int]) -> Prepared:
    """Each image of a dataset named in ``repeat`` ``N`` times (oversampling a small dataset in
    a fusion; augmentation makes the copies differ). An unknown name is a ConfigError."""
    if not repeat:
        return prepared
    unknown = sorted(set(repeat) - set(prepared.datasets.tolist()))
    if unknown:
        raise ConfigError(
            f"--repeat {unknown[0]}: no such dataset in the training set "
            f"(have {', '.join(sorted(set(prepared.datasets.tolist())))})"
        )
    counts = np.ones(len(prepared), np.int64)
    for name, n in repeat.items():
        counts[prepared.datasets == name] = n
    return prepared.select(np.repeat(np.arange(len(prepared)), counts))


def stratified_sample(prepared: Prepared, limit: int, seed: int = 0) -> Prepared:
    """Up to ``limit`` images spread evenly over (label, dataset) groups."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(
        zip(prepared.labels.tolist(), prepared.datasets.tolist(), strict=False)
    ):
        groups.setdefault(key, []).append(i)
    queues = [list(rng.permutation(idx)) for _, idx in sorted(groups.items())]
    picked: list[int] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(int(queue.pop()))
    return prepared.select(np.array(sorted(picked), dtype=np.int64))


#: ``--class-weights``: inverse frequency, its square root, or none.
CLASS_WEIGHTINGS = ("balanced", "sqrt", "none")


def class_weights(labels: np.ndarray, mode: str = "balanced") -> dict[int, float]:
    """Per-class loss weights; absent classes get 1.

    ``balanced``: inverse frequency (the model then answers as under a uniform prior);
    ``sqrt``: inverse square root of the frequency (an implied prior proportional to the
    square root of the training prior); ``none``: 1 each. Normalised so that the weighted
    number of training images equals their number.
    """
    if mode not in CLASS_WEIGHTINGS:
        raise ConfigError(f"unknown class weighting {mode!r}; use {', '.join(CLASS_WEIGHTINGS)}")
    counts = np.bincount(labels, minlength=len(LABELS)).astype(float)
    present = counts > 0
    weights = np.ones(len(LABELS))
    if mode != "none" and present.any():
        power = 1.0 if mode == "balanced" else 0.5
        raw = counts[present] ** -power
        weights[present] = raw * counts[present].sum() / (raw * counts[present]).sum()
    return {i: float(w) for i, w in enumerate(weights)}


def class_prior(labels: np.ndarray) -> dict[str, float]:
    """Each label's share of ``labels`` in LABELS order, rounded to 4 decimals (the card's)."""
    counts = np.bincount(labels, minlength=len(LABELS)).astype(float)
    shares = counts / max(counts.sum(), 1.0)
    return {label: round(float(share), 4) for label, share in zip(LABELS, shares, strict=True)}


def composition(prepared: Prepared) -> dict:
    """Per dataset and label, counts per split; plus skipped counts by reason."""
    out: dict = {"labels": list(LABELS), "datasets": {}}
    names = sorted(set(prepared.datasets.tolist()) | set(prepared.skipped))
    for name in names:
        mine = prepared.datasets == name
        table = {}
        for i, label in enumerate(LABELS):
            sel = mine & (prepared.labels == i)
            table[label] = {s: int((sel & (prepared.splits == s)).sum()) for s in SPLITS}
        out["datasets"][name] = {
            "counts": table,
            "totals": {s: int((mine & (prepared.splits == s)).sum()) for s in SPLITS},
            "skipped": prepared.skipped.get(name, {}),
        }
    return out


def held_out_subjects(prepared: Prepared) -> dict[str, dict[str, list[str]]]:
    """Per dataset with subjects: the sorted subjects of its val and test splits."""
    out: dict[str, dict[str, list[str]]] = {}
    for name in sorted(set(prepared.datasets.tolist())):
        mine = (prepared.datasets == name) & (prepared.subjects != "")
        if not mine.any():
            continue
        out[name] = {
            s: sorted(set(prepared.subjects[mine & (prepared.splits == s)].tolist()))
            for s in ("val", "test")
        }
    return out


def run_recipe(run: dict) -> CropRecipe:
    """The crop recipe a run trained with (``crop`` in run.json; older runs: the image size)."""
    if "crop" in run:
        return CropRecipe.from_dict(run["crop"])
    return CropRecipe(size=int(run["parameters"]["image_size"]))


def read_run(run_dir: Path) -> dict:
    path = Path(run_dir) / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (not a fer-train run folder)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg})") from None


def load_split(run_dir: Path, split: str, limit: int | None = None, seed: int = 0) -> Prepared:
    """One split of a training run, re-read from its recorded sources (through the cache)."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    run = read_run(run_dir)
    params = run.get("parameters", {})
    specs = [(s["kind"], Path(s["path"])) for s in run.get("sources", [])]
    prepared = load_sources(
        specs,
        run_recipe(run),
        cache_dir=params.get("cache_dir"),
        detector_kind=params.get("detector", "auto"),
        face_model=params.get("face_model"),
        seed=int(params.get("seed", 0)),
        label_mode=params.get("label_mode", "majority"),
    )
    prepared = cap_per_class(prepared, params.get("max_per_class"), int(params.get("seed", 0)))
    part = prepared.select(prepared.splits == split)
    if limit is not None and len(part) > limit:
        part = stratified_sample(part, limit, seed)
    return part

"""The commands' work: a training run folder, evaluation of a model, the per-dataset comparison."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from fer_edge.contract import atomic
from fer_edge.contract.card import ModelCard, sha256_file, write_card
from fer_edge.contract.errors import ConfigError
from fer_edge.contract.recipe import CropRecipe

from . import data, start_weights
from .evaluate import at_face_sizes, metrics, shares, write_reports
from .fit import FitParams, train, write_history
from .model import save_model
from .predict import KerasPredictor, open_predictor
from .prepare import Prepared

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetOptions:
    """How datasets are read and prepared: ``--strict``, ``--cache-dir``, the face detector."""

    strict: bool = False
    cache_dir: Path | None = None
    detector: str = "auto"
    face_model: str | None = None

    def load(self, specs: list[tuple[str, Path]], recipe: CropRecipe, **options) -> Prepared:
        return data.load_sources(
            specs,
            recipe,
            strict=self.strict,
            cache_dir=self.cache_dir,
            detector_kind=self.detector,
            face_model=self.face_model,
            **options,
        )


def _write_json(path: Path, obj) -> None:
    atomic.write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def fit_run(
    specs: list[tuple[str, Path]],
    out: Path,
    params: FitParams,
    prep: DatasetOptions = DatasetOptions(),
    *,
    max_per_class: int | None = None,
) -> dict:
    """Prepare, fuse, train and evaluate; writes the run folder; returns the test results."""
    _refuse_overwrite(out, params.resume)
    start = start_weights.resolve(params.weights)
    params = replace(params, image_size=start_weights.image_size(params.image_size, start))
    # The one crop recipe of this run: read back from run.json and the card by every later step.
    recipe = start.crop if start else CropRecipe(size=params.image_size)
    prepared = prep.load(specs, recipe, seed=params.seed)
    prepared = data.cap_per_class(prepared, max_per_class, params.seed)
    train_part = prepared.select(prepared.splits == "train")
    val_part = prepared.select(prepared.splits == "val")
    test_part = prepared.select(prepared.splits == "test")
    if len(train_part) == 0:
        raise ConfigError("no training images left after reading the datasets")
    out.mkdir(parents=True, exist_ok=True)  # only now: a failure before leaves no folder
    comp = data.composition(prepared)
    _write_json(out / "composition.json", comp)
    run = {
        "sources": [
            {"name": n, "kind": k, "path": str(Path(p).resolve())}
            for (k, p), n in zip(specs, data.dataset_names(specs), strict=True)
        ],
        "parameters": {
            **asdict(params),
            "max_per_class": max_per_class,
            "detector": prep.detector,
            "face_model": prep.face_model,
            "cache_dir": str(prep.cache_dir) if prep.cache_dir else None,
        },
        "crop": recipe.to_dict(),
        "splits": {s: int((prepared.splits == s).sum()) for s in data.SPLITS},
        "held_out_subjects": data.held_out_subjects(prepared),
    }
    if params.resume:
        _check_same_run(out, run)
    _write_json(out / "run.json", run)
    del prepared  # the parts are copies; at 224 px the fused set is gigabytes
    log.info(
        "training on %d images (val %d, test %d)", len(train_part), len(val_part), len(test_part)
    )
    model, history = train(train_part, val_part, params, out, start=start)
    write_history(out / "history.json", history)
    model_path = out / "model.keras"
    save_model(model, model_path)
    results = _evaluate_parts(KerasPredictor(model).predict, test_part, "test")
    write_reports(out, results, f"Test split of the run {out.name}")
    card = ModelCard(
        model_file=model_path.name,
        model_format="keras",
        sha256=sha256_file(model_path),
        crop=recipe,
        mode="keras",
        training={
            "datasets": run["sources"],
            "splits": run["splits"],
            "weights": params.weights,
            **({"start": start.describe()} if start else {}),
            "class_prior": data.class_prior(train_part.labels),
            "class_weights": params.class_weights,
            "backend": history.get("devices"),
            "epochs": params.epochs,
            "fine_tune_epochs": params.fine_tune_epochs,
            "composition": {n: d["totals"] for n, d in comp["datasets"].items()},
            "held_out_subjects": run["held_out_subjects"],
        },
        metrics={n: {"accuracy": r["accuracy"], "n": r["n"]} for n, r in results.items()},
        source={"tool": "fer-train", "run": str(out.resolve())},
    )
    write_card(card, out / "model_card.json")
    return results


# Parameters that may change between an interrupted run and its resumption.
_RESUMABLE = {"resume", "verbose", "cache_dir", "workers"}


def _refuse_overwrite(out: Path, resume: bool) -> None:
    """A folder where training has started is only continued with ``--resume``."""
    checkpoints = out / "checkpoints"
    trained = (out / "model.keras").exists()
    started = trained or (checkpoints.is_dir() and any(checkpoints.iterdir()))
    if started and not resume:
        done = "a trained model" if trained else "an interrupted run"
        raise ConfigError(
            f"{out}: already holds {done}; pass --resume to continue it or choose another --out"
        )


def _check_same_run(out: Path, run: dict) -> None:
    """Resuming needs the data and parameters of the interrupted run."""
    previous_file = out / "run.json"
    if not previous_file.is_file():
        log.info("%s: nothing to resume; starting a new run", out)
        return
    previous = data.read_run(out)
    changed = [
        "--" + key.replace("_", "-")
        for key in sorted(set(run["parameters"]) | set(previous.get("parameters", {})))
        if key not in _RESUMABLE
        and run["parameters"].get(key) != previous.get("parameters", {}).get(key)
    ]
    if run["sources"] != previous.get("sources"):
        changed.insert(0, "--data")
    if run["splits"] != previous.get("splits") and "--data" not in changed:
        changed.insert(0, "dataset contents")
    if changed:
        raise ConfigError(
            f"{previous_file}: cannot resume with different {', '.join(changed)} "
            "than the interrupted run; use the same options or another --out"
        )
    log.info("%s: resuming the run", out)


def _evaluate_parts(predict, prepared: Prepared, split: str) -> dict[str, dict]:
    results = {}
    for name in sorted(set(prepared.datasets.tolist())):
        part = prepared.select(prepared.datasets == name)
        if len(part) == 0:
            continue
        pred = predict(part.images).argmax(axis=1)
        results[name] = metrics(part.labels, pred, split)
    return results


def evaluation_part(prepared: Prepared, name: str, run: dict | None) -> tuple[Prepared, str]:
    """The images of ``name`` to evaluate on, and which part they are.

    ``prepared`` holds only the datasets' own splits. Its own test split where it has one; the
    run's held-out subjects where the model was trained on it; else all of it.
    """
    mine = prepared.select(prepared.datasets == name)
    if (mine.splits == "test").any():
        return mine.select(mine.splits == "test"), "test"
    trained_on = {s["name"] for s in run.get("sources", [])} if run else set()
    subjects = (run or {}).get("held_out_subjects", {}).get(name, {}).get("test")
    if name in trained_on and subjects:
        keep = np.isin(mine.subjects, subjects)
        return mine.select(keep), f"held-out test subjects of the run ({len(subjects)})"
    return mine, "all (the model was not trained on this dataset)"


def training_record(model_path: Path, card: ModelCard | None) -> dict | None:
    """The datasets a model was trained on and their held-out subjects, or None if unknown.

    From the model's card, which travels with a converted model, else from run.json beside it.
    """
    training = card.training if card else {}
    if "held_out_subjects" in training:
        return {
            "sources": training.get("datasets", []),
            "held_out_subjects": training["held_out_subjects"],
        }
    if (model_path.parent / "run.json").is_file():
        return data.read_run(model_path.parent)
    return None


def evaluate_model(
    model_path: Path,
    specs: list[tuple[str, Path]],
    out: Path,
    prep: DatasetOptions = DatasetOptions(),
    face_px: tuple[int, ...] = (),
) -> dict:
    """Score a .keras or .tflite model on each dataset (see :func:`evaluation_part`); reports.

    ``face_px``: also score at these simulated face sizes (see
    :func:`fer_train.evaluate.at_face_sizes`).
    """
    predictor = open_predictor(model_path)
    run = training_record(model_path, predictor.card)
    if run is None:
        log.warning(
            "%s: no record of its training run (card or run.json); datasets without their own "
            "test split are evaluated in full",
            model_path,
        )
    recipe = predictor.card.crop if predictor.card else CropRecipe(size=predictor.image_size)
    prepared = prep.load(specs, recipe, assign_splits=False)
    results = {}
    for name in data.dataset_names(specs):
        part, split = evaluation_part(prepared, name, run)
        if len(part) == 0:
            log.warning("%s: nothing to evaluate", name)
            continue
        pred = predictor.predict(part.images).argmax(axis=1)
        results[name] = metrics(part.labels, pred, split)
        log.info(
            "%s: accuracy %.3f on %d images (%s)", name, results[name]["accuracy"], len(part), split
        )
        if face_px:
            results[name]["true_shares"] = shares(part.labels)
            results[name]["predicted_shares"] = shares(pred)
            results[name]["face_px"] = at_face_sizes(
                predictor.predict, part.images, part.labels, face_px
            )
    return write_reports(out, results, f"Evaluation of {model_path.name}")


def compare(
    specs: list[tuple[str, Path]],
    out: Path,
    params: FitParams,
    prep: DatasetOptions = DatasetOptions(),
    *,
    max_per_class: int | None = None,
) -> dict:
    """A model per dataset plus the fused one, each evaluated on every dataset's test part."""
    names = data.dataset_names(specs)
    runs = {name: [spec] for name, spec in zip(names, specs, strict=True)}
    if len(specs) > 1:
        runs["fused"] = list(specs)
    table: dict[str, dict] = {}
    for run_name, run_specs in runs.items():
        run_dir = out / run_name
        log.info("compare: training %s on %s", run_name, ", ".join(k for k, _ in run_specs))
        fit_run(run_specs, run_dir, params, prep, max_per_class=max_per_class)
        evaluated = evaluate_model(run_dir / "model.keras", specs, run_dir / "evaluation", prep)
        table[run_name] = {
            n: {"accuracy": r["accuracy"], "n": r["n"], "split": r["split"]}
            for n, r in evaluated["datasets"].items()
        }
    _write_json(out / "compare.json", {"trained_on": table})
    lines = ["# Per-dataset and fused models", "", "| trained on | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for run_name, row in table.items():
        cells = [f"{row[n]['accuracy']:.1%} (n={row[n]['n']})" if n in row else "-" for n in names]
        lines.append(f"| {run_name} | " + " | ".join(cells) + " |")
    atomic.write_text(out / "compare.md", "\n".join(lines) + "\n")
    return table

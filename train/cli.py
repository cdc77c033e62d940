"""The ``fer-train`` command line. Logging (and TF/absl quieting) is configured here only."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import click

from fer_edge.cli.base import FerGroup, setup_logging
from fer_edge.contract.errors import ConfigError
from fer_edge.contract.labels import LABELS
from fer_edge.faces.detect import detector_names

from . import __version__
from .data import parse_repeat
from .readers import KINDS, parse_spec

log = logging.getLogger(__name__)


class TrainGroup(FerGroup):
    """fer_edge's one-line error handling, with the ``fer-train`` prefix."""

    prog = "fer-train"


def data_option(f):
    return click.option(
        "--data",
        "data_specs",
        multiple=True,
        required=True,
        metavar="KIND=PATH",
        help=f"A dataset ({', '.join(KINDS)}); repeat to fuse several.",
    )(f)


def prep_options(f):
    for option in reversed(
        [
            click.option("--strict", is_flag=True, help="Fail on an unreadable image."),
            click.option(
                "--cache-dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Prepared-array cache (default ~/.cache/fer-edge/prepared).",
            ),
            click.option("--detector", type=click.Choice(detector_names()), default="auto"),
            click.option("--face-model", type=click.Path(dir_okay=False), help="YuNet .onnx."),
        ]
    ):
        f = option(f)
    return f


def _int_list(ctx, param, value):
    """``"16,20,24"`` → (16, 20, 24); None stays None."""
    if value is None:
        return None
    try:
        numbers = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected whole numbers separated by commas") from None
    if any(n < 4 for n in numbers):
        raise click.BadParameter(f"{value!r}: face sizes start at 4 px")
    return numbers


def _low_res_px(ctx, param, value):
    numbers = _int_list(ctx, param, value)
    if numbers is None:
        return None
    if len(numbers) != 2 or numbers[0] > numbers[1]:
        raise click.BadParameter(f"{value!r}: expected MIN,MAX with MIN <= MAX (e.g. 12,48)")
    return numbers


#: ``--recipe default``: what trained the shipped default model (its MODEL_CARD.md), for the
#: options a command line leaves out.
RECIPES = {
    "default": {
        "image_size": 96,
        "weights": "none",
        "epochs": 80,
        "fine_tune_epochs": 0,
        "batch_size": 256,
        "class_weights": "balanced",
    }
}


def fit_options(f):
    """--recipe, one flag per FitParams option (generated from its fields), --low-res-px,
    --repeat and --max-per-class."""
    from fer_edge.options import click_options

    from .fit import FitParams

    for option in reversed(
        [
            click.option(
                "--recipe",
                type=click.Choice(sorted(RECIPES)),
                help="A preset for the options not given: default = the shipped model's recipe "
                "(96 px, --weights none, 80 epochs, batch 256, balanced class weights).",
            ),
            click_options(FitParams),
            click.option(
                "--low-res-px",
                default="12,48",
                show_default=True,
                callback=_low_res_px,
                metavar="MIN,MAX",
                help="Face sizes in px that the low-resolution augmentation shrinks to.",
            ),
            click.option(
                "--repeat",
                multiple=True,
                metavar="DATASET=N",
                help="Show each training image of DATASET N times an epoch (oversample a small "
                "dataset in a fusion, e.g. ckplus=8); recorded in the card.",
            ),
            click.option("--max-per-class", type=click.IntRange(1), default=None),
        ]
    ):
        f = option(f)
    return f


def fit_params(recipe: str | None, fit_args: dict):
    """FitParams from the command's options (checked against their ranges), a ``--recipe``
    filling those not given, FitParams' defaults the rest."""
    from fer_edge.options import check_fields

    from .fit import FitParams

    low, high = fit_args.pop("low_res_px")
    given = {key: value for key, value in fit_args.items() if value is not None}
    preset = RECIPES[recipe] if recipe else {}
    params = FitParams(**{**preset, **given}, low_res_min=low, low_res_max=high)
    check_fields(params)
    return params


@click.group(cls=TrainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-train")
@click.option("-v", "--verbose", count=True, help="Debug log output (-v).")
def main(verbose: int) -> None:
    """Fuse expression datasets, train a ResNet50 classifier, evaluate it."""
    setup_logging(verbose, default=logging.INFO)  # training reports progress by default


def _inputs(data_specs, strict, cache_dir, detector, face_model):
    """A command's datasets (``--data``) and how to prepare them (``prep_options``)."""
    from .workflow import DatasetOptions

    specs = [parse_spec(s) for s in data_specs]
    prep = DatasetOptions(
        strict=strict, cache_dir=cache_dir, detector=detector, face_model=face_model
    )
    return specs, prep


def _fit_inputs(data_specs, recipe, repeat, strict, cache_dir, detector, face_model, **fit_args):
    """What fit and compare train from (their options but --out and --max-per-class): the
    datasets, how to prepare them, the FitParams and the repeats of each dataset (checked in
    this order)."""
    specs, prep = _inputs(data_specs, strict, cache_dir, detector, face_model)
    return specs, prep, fit_params(recipe, fit_args), parse_repeat(repeat)


@main.command()
@data_option
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder for model.keras, model_card.json, run.json and reports (created).",
)
@fit_options
@prep_options
def fit(data_specs, out, max_per_class, **options):
    """Train on the fused datasets; writes model.keras, its card and reports into --out.

    Runs on the Keras backend KERAS_BACKEND names (tensorflow, jax or torch).
    """
    from .workflow import fit_run

    specs, prep, params, repeats = _fit_inputs(data_specs, **options)
    results = fit_run(specs, out, params, prep, max_per_class=max_per_class, repeat=repeats)
    for name, res in results.items():
        click.echo(f"{name}: test accuracy {res['accuracy']:.3f} on {res['n']} images")
    click.echo(f"model: {out / 'model.keras'}")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.json, report.md and confusion-DATASET.png (created if missing).",
)
@click.option(
    "--face-px",
    callback=_int_list,
    metavar="PX,PX,...",
    help="Also evaluate at simulated face sizes (each image shrunk to PX and enlarged back, "
    "as a classroom camera's small faces): accuracy and predicted class shares per size.",
)
@click.option(
    "--sample",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="At most N images of each dataset, drawn at random (seeded; class shares kept in "
    "expectation): a quicker, rougher figure on a slow CPU; the report says so.",
)
@prep_options
def evaluate(model, data_specs, out, face_px, sample, strict, cache_dir, detector, face_model):
    """Evaluate a .keras or .tflite model per dataset: report.json, report.md, PNGs."""
    from .workflow import evaluate_model

    specs, prep = _inputs(data_specs, strict, cache_dir, detector, face_model)
    report = evaluate_model(model, specs, out, prep, face_px=face_px or (), sample=sample)
    for name, res in report["datasets"].items():
        click.echo(f"{name}: accuracy {res['accuracy']:.3f} on {res['n']} images ({res['split']})")
        for px, row in res.get("face_px", {}).items():
            shares = ", ".join(f"{k} {v:.0%}" for k, v in row["predicted_shares"].items())
            click.echo(f"  at {px} px: accuracy {row['accuracy']:.3f}; predicted {shares}")
    click.echo(f"report: {out / 'report.md'}")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
@click.option(
    "--face-px",
    callback=_int_list,
    default="24,32,48",
    show_default=True,
    metavar="PX,PX,...",
    help="Face sizes to calibrate at besides the native one (each image shrunk to PX and "
    "enlarged back).",
)
@click.option(
    "--card",
    "card_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The model's card, if not MODEL.json / model_card.json beside it.",
)
@prep_options
def calibrate(model, data_specs, face_px, card_path, strict, cache_dir, detector, face_model):
    """Measure MODEL on labelled faces it never trained on and write its card's calibration.

    The confusion matrix and mean probabilities per true class, at each face size: what the
    device's acc/pacc share estimators correct a window's counts with. Uses each dataset's
    validation split, the run's held-out validation subjects, or all of a dataset the model
    never saw (a school's own labelled images: --data folder=PATH). The model is unchanged.
    """
    from .calibrate import calibrate_model

    specs, prep = _inputs(data_specs, strict, cache_dir, detector, face_model)
    result = calibrate_model(model, specs, prep, face_px=face_px or (), card_path=card_path)
    for size, row in result["sizes"].items():
        click.echo(f"{size}: accuracy {row['accuracy']:.3f} on {row['n']} faces")
    click.echo(f"calibration written: {result['source']}")


@main.command()
@data_option
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for compare.md, compare.json and one run folder per model (created).",
)
@fit_options
@prep_options
def compare(data_specs, out, max_per_class, **options):
    """A model per dataset plus the fused model, each tested on every dataset (one table)."""
    from .workflow import compare as run_compare

    specs, prep, params, repeats = _fit_inputs(data_specs, **options)
    run_compare(specs, out, params, prep, max_per_class=max_per_class, repeat=repeats)
    click.echo((out / "compare.md").read_text(encoding="utf-8"))


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path))
def predict(model, folder, csv_file):
    """Per-image confidence of every class for the face crops in FOLDER."""
    import numpy as np

    from fer_edge.capture.imageio import read_image
    from fer_edge.contract import atomic
    from fer_edge.contract.errors import ImageReadError
    from fer_edge.contract.recipe import CropRecipe
    from fer_edge.faces.crop import crop_square

    from .predict import open_predictor
    from .readers import IMAGE_SUFFIXES

    predictor = open_predictor(model)
    recipe = CropRecipe(size=predictor.image_size, margin=0.0, align=False)
    paths, crops = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        try:
            image = read_image(path)
        except ImageReadError as exc:
            log.warning("skipped: %s", exc)
            continue
        height, width = image.shape[:2]
        crops.append(crop_square(image, (0, 0, width, height), recipe))
        paths.append(path)
    if not crops:
        raise ConfigError(f"{folder}: no readable images")
    probs = predictor.predict(np.stack(crops))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "prediction", *LABELS])
    for path, row in zip(paths, probs, strict=True):
        writer.writerow([path.name, LABELS[int(row.argmax())], *(f"{p:.4f}" for p in row)])
    if csv_file:
        atomic.write_text(csv_file, buffer.getvalue())
    width = max(len(p.name) for p in paths)
    click.echo(
        f"{'file':<{width}}  {'prediction':<10}  " + "  ".join(f"{lb[:8]:>8}" for lb in LABELS)
    )
    for path, row in zip(paths, probs, strict=True):
        cells = "  ".join(f"{p:8.3f}" for p in row)
        click.echo(f"{path.name:<{width}}  {LABELS[int(row.argmax())]:<10}  {cells}")


if __name__ == "__main__":
    main(prog_name="fer-train")

"""``fer-edge models``: which expression model is used, and the YuNet face-detector file."""

from __future__ import annotations

from pathlib import Path

import click

from ..classify.packaged_model import describe, resolve_model
from ..contract.card import ModelCard, load_for_model
from ..faces import modelfiles

_MODEL_OPTION = click.option(
    "--model", default=None, help="A .tflite model with its card [the packaged default]."
)


@click.group(invoke_without_command=True)
@_MODEL_OPTION
@click.pass_context
def models(ctx: click.Context, model: str | None) -> None:
    """The expression model and the face-detector model (YuNet), one line each.

    `fer-edge models info` shows the expression model's whole card.
    """
    if ctx.invoked_subcommand is not None:
        return
    path = resolve_model(model)
    card = load_for_model(path)  # checks the sha256: what is listed is what runs
    size = path.stat().st_size / 1e6
    click.echo(
        f"expression model: {describe(model)} ({card.mode}, {card.input_size} px, "
        f"{len(card.labels)} classes, {size:.1f} MB)"
    )
    click.echo(f"face detector:    {_yunet_line()}")
    click.echo("details: `fer-edge models info` (the model card), `fer-edge models path` (YuNet)")


def _yunet_line() -> str:
    face = modelfiles.find_yunet()
    return f"YuNet {face}" if face else "YuNet not found (`fer-edge models fetch`; Haar fallback)"


@models.command("info")
@_MODEL_OPTION
def info(model: str | None = None) -> None:
    """Which expression model is used, what it was trained and validated on, its terms."""
    path = resolve_model(model)
    card = load_for_model(path)  # checks the sha256: what is shown is what runs
    click.echo(f"expression model: {describe(model)}")
    rows = card_summary(path, card)
    width = max(len(key) for key, _ in rows) + 2
    for key, value in rows:
        click.echo(f"  {key + ':':<{width}}{value}")
    click.echo(f"face detector: {_yunet_line()}")


def card_summary(path: Path, card: ModelCard) -> list[tuple[str, str]]:
    """(heading, text) lines describing a model from its card, for people."""
    training, about = card.training, card.about
    rows = [
        ("file", f"{path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {card.sha256[:12]}…)"),
        ("labels", ", ".join(card.labels)),
        ("input", f"{card.input_size}x{card.input_size} RGB face crops, {card.input_dtype}"),
        ("mode", card.mode),
    ]
    datasets = [d.get("name", "?") for d in training.get("datasets", [])]
    if datasets:
        splits = training.get("splits", {})
        sizes = " / ".join(f"{k} {v:,}" for k, v in splits.items())
        rows.append(("training data", ", ".join(datasets) + (f" ({sizes})" if sizes else "")))
    rows.append(("class weights", str(training.get("class_weights", "not recorded"))))
    if training.get("label_mode"):
        rows.append(("label mode", str(training["label_mode"])))
    prior = card.class_prior
    if prior:
        shares = ", ".join(f"{lab} {p:.3f}" for lab, p in zip(card.labels, prior, strict=True))
        rows.append(("training prior", shares))
    for name, result in _held_out(card).items():
        rows.append((f"held out {name}", result))
    face_size = card.metrics.get("face_size") or {}
    if face_size.get("accuracy_by_px"):
        text = ", ".join(f"{px} px {a:.1%}" for px, a in face_size["accuracy_by_px"].items())
        rows.append(("by face size", f"{text} ({face_size.get('set', '?')})"))
    parent = (about.get("lineage") or {}).get("parent")
    if parent:
        sha = str(parent.get("sha256", "?"))[:12]
        rows.append(("parent", f"{parent.get('name', '?')} (sha256 {sha}…)"))
    for key, heading in (
        ("validated_on", "validated on"),
        ("not_validated_on", "not validated on"),
    ):
        if about.get(key):
            rows.append((heading, about[key]))
    rows.extend(("weakness", text) for text in about.get("weaknesses", []))
    rows.append(
        ("terms", about.get("licence") or "not stated in the card: check your data's licences")
    )
    if about.get("note"):
        rows.append(("note", about["note"]))
    return rows


def _held_out(card: ModelCard) -> dict[str, str]:
    """Held-out accuracy per dataset: the card's ``about`` figures, else its metrics."""
    results = card.about.get("held_out") or card.metrics
    corrected = card.about.get("held_out_prior_corrected", {})
    out = {}
    for name, r in results.items():
        if not isinstance(r, dict) or "accuracy" not in r:
            continue
        text = f"{r['accuracy']:.1%} (n={r.get('n', '?')}"
        text += f", {r['split']})" if r.get("split") else ")"
        if name in corrected:
            text += f"; {corrected[name]:.1%} with prior correction"
        out[name] = text
    return out


@models.command("fetch")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Models directory (default: the first of `fer-edge models path`).",
)
@click.option("--url", default=modelfiles.YUNET_URL, show_default=True)
@click.option("--sha256", default=None, help="Expected sha256 of the file, if you know it.")
def fetch(dest: Path | None, url: str, sha256: str | None) -> None:
    """Download OpenCV Zoo's YuNet model (MIT) into the models directory, atomically."""
    expected = modelfiles.YUNET_BYTES if url == modelfiles.YUNET_URL else None
    path = modelfiles.fetch_yunet(dest, url=url, sha256=sha256, expected_bytes=expected)
    click.echo(f"saved {path}")


@models.command("path")
def path() -> None:
    """Show where the YuNet model is looked for, and which one is used."""
    for folder in modelfiles.models_dirs():
        click.echo(f"  {folder / modelfiles.YUNET_FILENAME}")
    found = modelfiles.find_yunet()
    click.echo(f"using: {found}" if found else "using: none found; " + modelfiles.manual_hint())

"""``fer-edge models``: find and fetch the YuNet face-detector model."""

from __future__ import annotations

from pathlib import Path

import click

from . import modelfiles


@click.group()
def models() -> None:
    """Face-detector model files (YuNet)."""


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

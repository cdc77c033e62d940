"""``fer-edge install-service`` and ``fer-edge uninstall-service``."""

from __future__ import annotations

from pathlib import Path

import click

from ..service import install as service

_ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Install under this folder instead of / (image builds, tests); skips systemctl.",
)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Print each step; change nothing.")


@click.command("install-service")
@click.option(
    "--model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The .tflite classifier (its model card beside it) to install as "
    f"{service.MODEL} [first install: the packaged default model; later: the one installed].",
)
@click.option(
    "--camera",
    default=None,
    help='Camera for a new config: "0", "/dev/video0", "picamera2", ... (default 0).',
)
@click.option(
    "--face-model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YuNet model to install (default: the one `fer-edge models path` finds).",
)
@_ROOT
@_DRY_RUN
def install_service(
    model: Path | None, camera: str | None, face_model: Path | None, root: Path, dry_run: bool
) -> None:
    """Install, enable and start the hardened systemd service (needs root)."""
    installer = service.Installer(root, echo=click.echo)
    installer.run(installer.plan_install(model, camera, face_model), dry_run=dry_run)
    if not dry_run and installer.real_system:
        click.echo("status: systemctl status fer-edge; logs: journalctl -u fer-edge")


@click.command("uninstall-service")
@_ROOT
@_DRY_RUN
def uninstall_service(root: Path, dry_run: bool) -> None:
    """Stop and remove the service and the files it installed; keep the logs."""
    installer = service.Installer(root, echo=click.echo)
    installer.run(installer.plan_uninstall(), dry_run=dry_run)

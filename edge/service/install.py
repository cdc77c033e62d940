"""Install and remove the hardened systemd service, and report its state.

The unit (``systemd/fer-edge.service``, shipped as ``fer_edge/data/fer-edge.service``) runs
``fer-edge run --config /etc/fer-edge/config.toml`` as a throwaway user (``DynamicUser=yes``)
that can read ``/etc/fer-edge`` and write only ``/var/lib/fer-edge`` (``$STATE_DIRECTORY``).
So the installer puts everything the daemon reads into ``/etc/fer-edge``, world-readable:
the classifier as ``model.tflite`` with its card ``model.json`` (the packaged default model
unless ``--model`` names another), the YuNet face model, and a
commented default ``config.toml`` (never overwritten). It records what it wrote, with sha256s,
in ``installed-files.json``, so that uninstalling removes exactly that: the config only while
it is unchanged, and never the logs in ``/var/lib/fer-edge``.

Every path is taken under ``root`` (``--root``) so tests and image builders can install into
a folder; systemctl is then skipped. Every write is atomic.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path, PurePosixPath

from ..classify.packaged_model import resolve_model
from ..config import load_toml
from ..contract import atomic
from ..contract.card import card_path_for, load_for_model, sha256_file
from ..contract.errors import FerError
from ..faces import modelfiles
from .network import DROPIN, network_dropin

log = logging.getLogger(__name__)

SERVICE = "fer-edge.service"
PLACEHOLDER = "@FER_EDGE@"
#: Where the service finds things, as the running system sees them (not under --root).
CONFIG_DIR = PurePosixPath("/etc/fer-edge")
CONFIG = CONFIG_DIR / "config.toml"
MODEL = CONFIG_DIR / "model.tflite"
CARD = CONFIG_DIR / "model.json"
FACE_MODEL = CONFIG_DIR / modelfiles.YUNET_FILENAME
MANIFEST = CONFIG_DIR / "installed-files.json"
UNIT = PurePosixPath("/etc/systemd/system") / SERVICE
STATE_DIR = PurePosixPath("/var/lib/fer-edge")
#: Present only where systemd is the running init.
SYSTEMD_RUN_DIR = "/run/systemd/system"
#: Folders the service cannot see, and why: ProtectHome=yes hides the homes (and DynamicUser
#: cannot read a 0700 home); PrivateTmp=yes gives it empty /tmp and /var/tmp of its own.
HIDDEN_PREFIXES = {
    "/home": "ProtectHome=yes, DynamicUser",
    "/root": "ProtectHome=yes, DynamicUser",
    "/run/user": "ProtectHome=yes, DynamicUser",
    "/tmp": "PrivateTmp=yes: the service has its own empty /tmp",
    "/var/tmp": "PrivateTmp=yes: the service has its own empty /var/tmp",
}


@dataclass(frozen=True)
class Action:
    """One step of an install or uninstall: what it does, in words, and the doing."""

    text: str
    run: Callable[[], None] | None  # None: a step that is only reported (systemctl under --root)


def unit_template() -> str:
    """The unit file as shipped, with the ``@FER_EDGE@`` placeholder."""
    return resources.files("fer_edge").joinpath("data", SERVICE).read_text(encoding="utf-8")


def exec_command(python: str | None = None) -> str:
    """The command line that starts fer-edge in this environment, quoted for ExecStart=.

    The ``fer-edge`` script beside the interpreter when there is one (a venv or a prefix),
    else ``PYTHON -m fer_edge.cli``.
    """
    python = python or sys.executable
    script = Path(python).parent / "fer-edge"
    if script.is_file() and os.access(script, os.X_OK):
        return _systemd_quote(str(script))
    return f"{_systemd_quote(python)} -m fer_edge.cli"


def _systemd_quote(word: str) -> str:
    """Quote one word for a unit file: ``%`` specifiers escaped, quotes where needed."""
    word = word.replace("%", "%%")
    if any(c.isspace() or c in "\"'\\;" for c in word):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def render_unit(command: str) -> str:
    """The unit with ExecStart= running ``command``."""
    template = unit_template()
    if PLACEHOLDER not in template:
        raise FerError(f"{SERVICE}: the shipped unit has no {PLACEHOLDER} placeholder")
    return template.replace(PLACEHOLDER, command)


def check_reachable(python: str | None = None, prefix: str | None = None) -> None:
    """Refuse an environment that the hardened service cannot see (under /home, /root, /tmp)."""
    for path in (python or sys.executable, prefix or sys.prefix):
        why = hidden_from_service(path)
        if why:
            raise FerError(
                f"{path}: the service cannot run fer-edge from {why}; install it in a venv "
                "under /opt, e.g. /opt/fer-edge (see docs/INSTALL.md)"
            )


def hidden_from_service(path: str | os.PathLike) -> str | None:
    """Why the service cannot see ``path`` ("under /tmp (PrivateTmp=yes: ...)"), or None."""
    p = PurePosixPath(os.path.abspath(path))
    for hidden, why in HIDDEN_PREFIXES.items():
        if p == PurePosixPath(hidden) or PurePosixPath(hidden) in p.parents:
            return f"under {hidden} ({why})"
    return None


#: What the service needs said about an option, beyond its help text.
SERVICE_NOTES = {
    "camera": "The service has no network: an RTSP camera needs PrivateNetwork=no (INSTALL.md).",
    "log_dir": "Leave it unset: $STATE_DIRECTORY (/var/lib/fer-edge) is the service's only "
    "writable place.",
    "face_model": "Without it the daemon falls back to Haar, which misses most faces.",
}


def default_config(camera: str, face_model: bool) -> str:
    """The commented default /etc/fer-edge/config.toml, generated from the option fields: every
    option with its help, range and default (commented out), by section; set are the camera,
    the installed model and card and, when installed, the YuNet model."""
    from ..config import SECTIONS
    from ..options import default_of, range_text, value_type

    chosen = {"camera": camera, "model": str(MODEL), "card": str(CARD)}
    if face_model:
        chosen["face_model"] = str(FACE_MODEL)
    lines = [
        f"# fer-edge service configuration, read by `fer-edge run --config {CONFIG}`.",
        "# Keys are the `fer-edge run` options with dashes as underscores (`fer-edge run --help`).",
        f"# Check it with `fer-edge check-config {CONFIG}`,",
        "# then `sudo systemctl restart fer-edge`.",
        "# The installer never overwrites this file. Commented lines show the defaults.",
    ]
    for section, cls in SECTIONS.items():
        lines += ["", f"# -- {section} " + "-" * (92 - len(section))]
        for f in fields(cls):
            help_text = f.metadata["help"]
            if f.metadata["choices"]:
                help_text += f" One of: {', '.join(f.metadata['choices'])}."
            if value_type(cls, f.name) in (int, float):
                help_text += f" Range {range_text(f)}."
            help_text += f" {SERVICE_NOTES[f.name]}" if f.name in SERVICE_NOTES else ""
            lines += textwrap.wrap(help_text, 97, initial_indent="# ", subsequent_indent="# ")
            if f.name == "face_model" and not face_model:
                lines.append("# None was installed: copy YuNet here (INSTALL.md).")
                lines.append(f"# face_model = {json.dumps(str(FACE_MODEL))}")
            elif f.name in chosen:
                lines.append(f"{f.name} = {json.dumps(chosen[f.name])}")
            else:
                value = default_of(f)
                value = f.metadata["example"] if value is None else value
                if value is not None:
                    lines.append(f"# {f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value) if isinstance(value, str) else str(value)


class Installer:
    """Plans the install and uninstall steps under ``root``; ``run(actions)`` carries them out."""

    def __init__(self, root: str | os.PathLike = "/", echo: Callable[[str], None] = print):
        self.root = Path(root)
        self.echo = echo
        self.real_system = self.root.resolve() == Path("/")

    def at(self, path: PurePosixPath) -> Path:
        """``path`` under the install root."""
        return self.root / path.relative_to("/")

    def shown(self, path: PurePosixPath) -> str:
        """``path`` as the messages name it: where it is written (under ``--root``)."""
        return str(path) if self.real_system else str(self.at(path))

    def _camera(self, camera: str | None) -> str:
        """The camera for a new config: a video file as an absolute path the service can see."""
        from ..capture.options import is_file_camera

        if camera is None or not is_file_camera(camera):
            return camera or "0"
        path = Path(camera).expanduser().absolute()
        if not path.is_file():
            raise FerError(
                f"camera {camera}: no such video file (nor a camera index, /dev path, URL)"
            )
        why = hidden_from_service(path)
        if why:
            message = f"camera {path}: the service cannot read a file {why}"
            if self.real_system:
                raise FerError(message + "; put it under /srv or /opt")
            log.warning("%s", message)
        return str(path)

    # -- planning -------------------------------------------------------------------------

    def plan_install(
        self,
        model: str | os.PathLike | None = None,
        camera: str | None = None,
        face_model: str | os.PathLike | None = None,
        command: str | None = None,
    ) -> list[Action]:
        """The install steps. Validates every input first, so a bad one changes nothing."""
        if self.real_system:
            check_reachable()
        else:
            try:
                check_reachable()
            except FerError as exc:
                log.warning("%s", exc)
        manifest = self._read_manifest()
        camera = self._camera(camera)
        actions = [Action(f"create {self.shown(CONFIG_DIR)}/", lambda: self._mkdir(CONFIG_DIR))]

        if model is None and self.at(MODEL).is_file():
            actions.append(
                Action(f"keep {self.shown(MODEL)} (installed before; --model replaces it)", None)
            )
        else:
            # No --model on a first install: the expression model packaged with fer_edge.
            model = resolve_model(None if model is None else str(model))
            card = load_for_model(model)  # the card exists and describes exactly this file
            if card.model_format != "tflite":
                raise FerError(
                    f"{model}: the device runs .tflite models, this is {card.model_format}"
                )
            actions += [
                self._copy(model, MODEL, manifest),
                self._copy(card_path_for(model), CARD, manifest),
            ]

        face = modelfiles.find_yunet(face_model)
        have_face = face is not None or self.at(FACE_MODEL).is_file()
        if face is not None:
            modelfiles.check_yunet(face)
            actions.append(self._copy(face, FACE_MODEL, manifest))
        elif have_face:
            actions.append(Action(f"keep {self.shown(FACE_MODEL)} (installed before)", None))
        else:
            log.warning(
                "no YuNet face model found: %s",
                modelfiles.manual_hint(Path(self.shown(CONFIG_DIR))),
            )

        if self.at(CONFIG).exists():
            actions.append(Action(f"keep {self.shown(CONFIG)} (exists; never overwritten)", None))
        else:
            text = default_config(camera, face_model=have_face)
            actions.append(self._write(CONFIG, text, manifest, "default config"))

        unit = render_unit(command or exec_command())
        actions.append(self._write(UNIT, unit, manifest, "unit"))
        actions += self._plan_network(manifest)
        actions.append(
            Action(f"record {self.shown(MANIFEST)}", lambda: self._write_manifest(manifest))
        )
        # --no-block: READY=1 waits for a first frame, and a camera may be plugged in later.
        actions += self._systemctl(["daemon-reload"], ["enable", "--now", SERVICE, "--no-block"])
        return actions

    def _plan_network(self, manifest: dict) -> list[Action]:
        """The network drop-in for MQTT or metrics in the (existing) config; else none."""
        config = self.at(CONFIG)
        dropin = network_dropin(load_toml(config)) if config.exists() else None
        if dropin is not None:
            return [self._write(DROPIN, dropin, manifest, "network for MQTT/metrics")]
        if self.at(DROPIN).exists() and str(DROPIN) in manifest:
            del manifest[str(DROPIN)]
            return [
                Action(
                    f"remove {self.shown(DROPIN)} (no MQTT or metrics configured)",
                    self.at(DROPIN).unlink,
                )
            ]
        return []

    def plan_uninstall(self) -> list[Action]:
        """The uninstall steps: stop, then remove what the installer wrote; keep the logs."""
        manifest = self._read_manifest()
        actions = self._systemctl(["disable", "--now", SERVICE])
        installed = dict(manifest)
        installed.setdefault(str(UNIT), None)  # the unit goes even without a manifest
        for name, digest in sorted(installed.items()):
            path = PurePosixPath(name)
            target = self.at(path)
            if not target.exists():
                continue
            if path == CONFIG and digest != sha256_file(target):
                actions.append(
                    Action(f"keep {self.shown(path)} (changed since it was installed)", None)
                )
            else:
                actions.append(Action(f"remove {self.shown(path)}", lambda t=target: t.unlink()))
        if self.at(MANIFEST).exists():
            actions.append(Action(f"remove {self.shown(MANIFEST)}", self.at(MANIFEST).unlink))
        actions.append(Action(f"remove {self.shown(CONFIG_DIR)}/ if empty", self._rmdir_if_empty))
        actions.append(Action(f"keep {self.shown(STATE_DIR)}/ (the logs)", None))
        actions += self._systemctl(["daemon-reload"])
        return actions

    # -- doing ----------------------------------------------------------------------------

    def run(self, actions: list[Action], dry_run: bool = False) -> None:
        """Carry out ``actions`` in order, echoing each; with ``dry_run`` only echo them."""
        if not dry_run and self.real_system:
            if os.geteuid() != 0:
                raise FerError("installing the service needs root: run it with sudo (or --dry-run)")
            if not os.path.isdir(SYSTEMD_RUN_DIR):
                raise FerError(
                    "systemd is not running on this machine (to install into an image: --root DIR)"
                )
        for action in actions:
            if dry_run:
                self.echo(f"would {action.text}")
            else:
                self.echo(action.text)
                if action.run is not None:
                    action.run()

    def _systemctl(self, *commands: list[str]) -> list[Action]:
        actions = []
        for args in commands:
            line = " ".join(["systemctl", *args])
            if self.real_system:
                actions.append(Action(f"run: {line}", lambda a=args: _systemctl(a)))
            else:
                actions.append(Action(f"skip (--root): {line}", None))
        return actions

    def _mkdir(self, path: PurePosixPath) -> None:
        """Create ``path`` world-readable (0755, whatever the umask); leave existing ones alone."""
        target = self.at(path)
        if not target.is_dir():
            target.mkdir(parents=True)
            target.chmod(0o755)

    def _copy(self, source: Path, dest: PurePosixPath, manifest: dict) -> Action:
        def run() -> None:
            self._mkdir(dest.parent)
            with atomic.atomic_path(self.at(dest)) as tmp:
                shutil.copyfile(source, tmp)
                tmp.chmod(0o644)  # the service's dynamic user must read it
            manifest[str(dest)] = sha256_file(self.at(dest))

        return Action(f"copy {source} -> {self.shown(dest)}", run)

    def _write(self, dest: PurePosixPath, text: str, manifest: dict, what: str) -> Action:
        def run() -> None:
            self._mkdir(dest.parent)
            with atomic.atomic_path(self.at(dest)) as tmp:
                tmp.write_text(text, encoding="utf-8")
                tmp.chmod(0o644)
            manifest[str(dest)] = sha256_file(self.at(dest))

        return Action(f"write {self.shown(dest)} ({what})", run)

    def _read_manifest(self) -> dict[str, str]:
        path = self.at(MANIFEST)
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = data["files"]
            if not isinstance(files, dict):
                raise TypeError("files is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise FerError(f"{path}: not a fer-edge install record ({exc}); remove it") from None
        return {str(k): str(v) for k, v in files.items()}

    def _write_manifest(self, manifest: dict) -> None:
        text = json.dumps({"service": SERVICE, "files": manifest}, indent=2, sort_keys=True)
        with atomic.atomic_path(self.at(MANIFEST)) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
            tmp.chmod(0o644)

    def _rmdir_if_empty(self) -> None:
        target = self.at(CONFIG_DIR)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()


def _systemctl(args: list[str]) -> None:
    out = subprocess.run(["systemctl", *args], capture_output=True, text=True)
    if out.returncode != 0:
        msg = (out.stderr or out.stdout).strip().splitlines()
        raise FerError(f"systemctl {' '.join(args)} failed: {msg[-1] if msg else out.returncode}")


def service_state() -> str | None:
    """The service's state for ``fer-edge doctor``: e.g. ``active (running)``, ``failed``,
    ``not installed``; None where there is no systemd to ask."""
    if shutil.which("systemctl") is None or not os.path.isdir(SYSTEMD_RUN_DIR):
        return None
    try:
        out = subprocess.run(
            ["systemctl", "show", "--property=LoadState,ActiveState,SubState", SERVICE],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("systemctl show failed: %s", exc)
        return None
    props = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    if out.returncode != 0 or "ActiveState" not in props:
        return None
    if props.get("LoadState") == "not-found":
        return "not installed"
    active, sub = props["ActiveState"], props.get("SubState", "")
    return f"{active} ({sub})" if sub and sub != active else active

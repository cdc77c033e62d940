"""The ``fer-convert`` command line. Logging (and TensorFlow's verbosity) is configured here."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from fer_edge.cli.base import FerCommand, setup_logging
from fer_edge.contract.errors import ConfigError
from fer_train.readers import KINDS, parse_spec

from . import __version__
from .parity import DEFAULT_THRESHOLD, format_table

log = logging.getLogger(__name__)

EXIT_PARITY = 3


class ConvertCommand(FerCommand):
    prog = "fer-convert"


def use_tensorflow_backend() -> None:
    """Run Keras on TensorFlow: the TFLite converter needs it, whatever KERAS_BACKEND says.

    A model.keras saved on JAX or PyTorch loads there unchanged (the format is the same).
    """
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        return
    if "keras" in sys.modules:
        raise ConfigError(f"KERAS_BACKEND={backend}: fer-convert needs the tensorflow backend")
    log.info("KERAS_BACKEND=%s: fer-convert runs Keras on tensorflow", backend)
    os.environ["KERAS_BACKEND"] = "tensorflow"


MODE_FLAGS = ("int8", "float16", "dynamic_range", "float32")


def _mode(options: dict) -> str:
    """The one conversion mode flag given (popped from ``options``); float32 when none."""
    given = [name for name in MODE_FLAGS if options.pop(name)]
    if len(given) > 1:
        flags = " and ".join("--" + name.replace("_", "-") for name in given)
        raise click.UsageError(f"{flags} conflict: choose one conversion mode")
    return given[0].replace("_", "-") if given else "float32"


@click.command(cls=ConvertCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-convert")
@click.argument("model", metavar="RUN_DIR|MODEL.keras", type=click.Path(path_type=Path))
@click.option("--int8", is_flag=True, help="Full-integer int8 (needs calibration).")
@click.option("--float16", is_flag=True, help="float16 weights, float32 I/O.")
@click.option("--dynamic-range", is_flag=True, help="int8 weights only.")
@click.option("--float32", is_flag=True, help="Plain float (default).")
@click.option(
    "--calibration",
    multiple=True,
    metavar="KIND=PATH",
    help=f"int8 calibration images instead of the run's training split; KIND: {'|'.join(KINDS)}.",
)
@click.option("--samples", default=300, show_default=True, help="Calibration images, stratified.")
@click.option(
    "--validate",
    multiple=True,
    metavar="KIND=PATH",
    help="Held-out images for the parity check instead of the run's test (or val) split.",
)
@click.option("--uint8-io", is_flag=True, help="int8 model with uint8 input/output tensors.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output .tflite (default: RUN_DIR/model_<mode>.tflite); its card is OUT.json.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Minimum top-1 agreement between the float and the converted model.",
)
@click.option("--force", is_flag=True, help="Keep the model even if parity is below threshold.")
@click.option("--seed", default=0, show_default=True, help="Seed for the calibration sample.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, model: Path, **options) -> None:
    """Convert a trained Keras expression model to TFLite and prove it still agrees.

    The parity check always runs: float and converted models classify the held-out images side
    by side. Exit status: 0 written, 1 error, 78 bad configuration (nothing written either
    way), 3 parity below threshold (nothing written unless --force).
    """
    setup_logging(options.pop("verbose"))
    mode = _mode(options)
    use_tensorflow_backend()
    from .conversion import ParityError, Request, run

    if options["uint8_io"] and mode != "int8":
        raise click.UsageError("--uint8-io applies to --int8 only")
    if options["calibration"] and mode != "int8":
        raise click.UsageError("--calibration applies to --int8 only")
    try:
        for key in ("calibration", "validate"):
            options[key] = [parse_spec(text) for text in options[key]]
        out, card = run(Request(model=model, mode=mode, **options))
    except ParityError as exc:
        click.echo(format_table(exc.parity))
        click.echo(f"fer-convert: error: {exc}", err=True)
        ctx.exit(EXIT_PARITY)
    click.echo(format_table(card.parity))
    size = out.stat().st_size
    click.echo(f"wrote {out} ({card.mode}, {size / 1e6:.2f} MB) and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main(prog_name="fer-convert")

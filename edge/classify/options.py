"""The classify section of the run's configuration: the model, its runtime and how often."""

from __future__ import annotations

from dataclasses import dataclass

from ..options import check_fields, option

#: The TFLite runtimes, in the order they are tried (:mod:`.runtime`).
RUNTIMES = ("ai-edge-litert", "tflite-runtime", "tensorflow")
#: How a window's class shares are estimated (:mod:`.shares`), and the default: the method
#: that measured best (bench/bench_shares.py).
ESTIMATORS = ("cc", "pcc", "acc", "pacc", "bayes")
DEFAULT_ESTIMATOR = "bayes"
#: ``--model`` naming the packaged default model (:mod:`.packaged_model`).
DEFAULT_ALIAS = "default"


def is_model_file(model: str) -> bool:
    """Whether ``model`` names a file (not the packaged default's alias)."""
    return model != DEFAULT_ALIAS


@dataclass
class ClassifyOptions:
    """The expression classifier (:mod:`.runtime`) and how its probabilities become a window's
    class shares (:mod:`.shares`, with the prior correction of :mod:`.prior`)."""

    model: str | None = option(
        None,
        "Converted .tflite model (its card beside it) [the packaged default].",
        path=is_model_file,
    )
    card: str | None = option(
        None, "Model card, if not MODEL.json / model_card.json beside it.", path=True
    )
    threads: int | None = option(None, "Interpreter threads [all cores].", ge=1, le=256, example=2)
    runtime: str | None = option(
        None, "TFLite runtime [the first usable].", RUNTIMES, example=RUNTIMES[0]
    )
    reclassify: float = option(
        0.0,
        "Seconds before a tracked face is classified again; 0: every frame.",
        ge=0,
        le=3600,
        note="0: every frame",
    )
    estimator: str = option(
        DEFAULT_ESTIMATOR,
        "How a window's class shares are estimated from its tracks' probabilities: cc (count "
        "top classes), pcc (mean probability), acc/pacc (corrected by the model card's "
        "calibration), bayes (the window's composition given its faces' calibrated "
        "probabilities and the room's recent mix); the calibrated ones fall back to pcc where "
        "the card has no calibration.",
        ESTIMATORS,
    )
    prior_correction: bool = option(
        True,
        "cc/pcc: re-weight a class-weighted model's probabilities by its training class prior.",
    )

    def validate(self) -> None:
        check_fields(self)

"""Canonical expression labels and every alias the datasets and the paper use.

The canonical order is part of the model contract: output unit ``i`` of every model means
``LABELS[i]``.
"""

from __future__ import annotations

from .errors import UnknownLabelError

LABELS: tuple[str, ...] = ("anger", "disgust", "fear", "happy", "neutral", "sadness", "surprise")

#: Labels that are recognised but left out of the 7-class problem.
EXCLUDED: frozenset[str] = frozenset({"contempt"})

_ALIASES: dict[str, str] = {
    # plain names and common spellings
    "angry": "anger",
    "anger": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "neutral": "neutral",
    "natural": "neutral",  # the paper's word
    "sad": "sadness",
    "sadness": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
    # JAFFE expression codes
    "an": "anger",
    "di": "disgust",
    "fe": "fear",
    "ha": "happy",
    "ne": "neutral",
    "sa": "sadness",
    "su": "surprise",
    # excluded but known
    "contempt": "contempt",
    "co": "contempt",
}

#: CK+ `Emotion/*_emotion.txt` codes (0-7).
CKPLUS_CODES: dict[int, str] = {
    0: "neutral",
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happy",
    6: "sadness",
    7: "surprise",
}

#: FER2013 CSV `emotion` codes (0-6).
FER2013_CODES: dict[int, str] = {
    0: "anger",
    1: "disgust",
    2: "fear",
    3: "happy",
    4: "sadness",
    5: "surprise",
    6: "neutral",
}


def canonical(name: str | int, *, codes: dict[int, str] | None = CKPLUS_CODES) -> str | None:
    """Map an alias (name, JAFFE code or numeric code) onto its canonical label.

    Returns ``None`` for a known but excluded label (``contempt``). Numeric values are read
    with ``codes`` (CK+ codes by default; pass ``FER2013_CODES`` for the FER2013 CSV).
    Raises :class:`UnknownLabelError` listing the allowed names for anything else.
    """
    key = str(name).strip().lower()
    if codes is not None and key.isdigit():
        label = codes.get(int(key))
    else:
        label = _ALIASES.get(key)
    if label is None:
        raise UnknownLabelError(
            f"unknown expression label {name!r}; allowed: {', '.join(allowed_names())}"
        )
    return None if label in EXCLUDED else label


def allowed_names() -> list[str]:
    """Every accepted alias, sorted (for error messages and help texts)."""
    return sorted(_ALIASES)


def index(label: str) -> int:
    """Output index of a canonical label."""
    try:
        return LABELS.index(label)
    except ValueError:
        raise UnknownLabelError(
            f"{label!r} is not a canonical label; expected one of: {', '.join(LABELS)}"
        ) from None

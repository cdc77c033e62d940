"""The face-crop recipe: how a detected face becomes a model input (no OpenCV needed)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CropRecipe:
    """How a detected face becomes a model input.

    margin: extra border around the detector's box on each side, as a fraction of the box's
        longer side. square: crops are square. align: rotate so that the eyes are level when
        eye landmarks are known. size: output side in pixels (the model's input size).
    """

    size: int = 224
    margin: float = 0.15
    align: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 8:
            raise ValueError(f"crop size must be an integer >= 8, got {self.size!r}")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"crop margin must lie in [0, 1], got {self.margin!r}")

    def to_dict(self) -> dict:
        return {"square": True, "color": "RGB", **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> CropRecipe:
        return cls(size=int(data["size"]), margin=float(data["margin"]), align=bool(data["align"]))

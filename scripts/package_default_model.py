"""Package the trained default model into fer_edge (edge/data/models/).

Copies the int8 .tflite as it is (never altered) and writes its card with what the device needs
beyond the converter's card: the training class prior (the model was trained with balanced class
weights) and the ``about`` section (terms, what it was validated on, measured weaknesses), all
taken from the model's MODEL_CARD.md. Usage: python scripts/package_default_model.py [SRC_DIR]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO.parent / "shared" / "models" / "default"
NAME = "fer-resnet50-96-int8"

# MODEL_CARD.md: share of each class in the fused training split (27,723 images).
CLASS_PRIOR = {
    "anger": 0.141,
    "disgust": 0.018,
    "fear": 0.140,
    "happy": 0.259,
    "neutral": 0.175,
    "sadness": 0.172,
    "surprise": 0.096,
}

ABOUT = {
    "name": "fer-edge default: fused ResNet50, 96 px, int8",
    "licence": (
        "The weights inherit the terms of their training data: CK+ and JAFFE allow "
        "non-commercial research use only; FER2013's terms are unclear. Use it for "
        "non-commercial research, or train your own model on data you may use."
    ),
    "validated_on": (
        "held-out test splits of posed (CK+, JAFFE) and web-scraped (FER2013) faces, and "
        "13,624 real web photos with crowd labels from another source (cross-dataset)"
    ),
    "not_validated_on": "labelled classroom footage: none was available",
    "held_out": {
        "fer2013": {"accuracy": 0.632, "n": 3572, "split": "PrivateTest"},
        "ckplus": {"accuracy": 0.850, "n": 147, "split": "16 unseen subjects"},
        "jaffe": {"accuracy": 0.405, "n": 42, "split": "2 unseen subjects"},
        "web_photos": {"accuracy": 0.478, "n": 13624, "split": "cross-dataset"},
    },
    "held_out_prior_corrected": {"fer2013": 0.636, "web_photos": 0.514},
    "weaknesses": [
        "neutral real-world faces read as anger or sadness (neutral recall 31 % on web "
        "photos; anger precision 6 %)",
        "students looking down at desks read as sadness (~60 % sadness on a real "
        "classroom CCTV clip)",
        "small faces: accuracy falls from 61.6 % at 48 px to 44.7 % at 20 px (FER2013 "
        "test faces shrunk and enlarged back)",
    ],
    "note": "Expression is not emotion, and emotion is not engagement.",
}


def main(src: Path = SRC) -> None:
    dest = REPO / "edge" / "data" / "models"
    dest.mkdir(parents=True, exist_ok=True)
    card = json.loads((src / f"{NAME}.json").read_text(encoding="utf-8"))
    assert list(CLASS_PRIOR) == card["labels"], "label order"
    card["training"]["class_prior"] = CLASS_PRIOR
    card["training"]["class_weights"] = "balanced"
    card["about"] = ABOUT
    shutil.copyfile(src / f"{NAME}.tflite", dest / f"{NAME}.tflite")
    (dest / f"{NAME}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"packaged {NAME} into {dest}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SRC)

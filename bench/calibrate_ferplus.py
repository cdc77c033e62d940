"""Write a model card's calibration from FER+ Valid (what calibrated the shipped default).

The same measurement as ``fer-train calibrate MODEL --data ferplus=...`` (the confusion matrix
and mean probabilities per true class, by :func:`fer_train.calibrate.calibration`), on FER+ Valid
read from its ``label.csv`` by majority vote (:mod:`shares_data`), with the probabilities that
``bench_shares.py`` caches. Only the card changes; its sha256 of the model stays correct.
Usage:

    python bench/calibrate_ferplus.py [--model edge/data/models/fer-resnet50-96-int8.tflite]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shares_data import SIZES, cached_probs  # noqa: E402

from fer_edge.classify.packaged_model import resolve_model  # noqa: E402
from fer_edge.contract.card import card_path_for, load_for_model, write_card  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Model .tflite [the packaged default].")
    parser.add_argument("--ferplus", type=Path, default=Path("~/datasets/ferplus").expanduser())
    parser.add_argument("--cache", type=Path, default=Path("~/cache/fer-estimate").expanduser())
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from fer_train.calibrate import calibration

    model = resolve_model(args.model)
    card = load_for_model(model)
    valid = cached_probs(model, args.ferplus / "FER2013Valid", args.cache)
    n = len(valid["labels"])
    card.calibration = calibration(
        {s: valid[f"probs:{s}"] for s in SIZES},
        valid["labels"],
        f"FER+ Valid (FER2013 PublicTest with 10 annotators' votes): majority label; ties, "
        f"unknown, not-a-face and contempt dropped; {n} faces, the 48 px images as they are "
        "(native) and shrunk to 48/32/24 px and enlarged back",
        {"ferplus": n},
    )
    path = card_path_for(model)
    write_card(card, path)
    load_for_model(model)  # the card still describes exactly this model
    for size, row in card.calibration["sizes"].items():
        print(f"{size}: accuracy {row['accuracy']:.3f} on {row['n']} faces")
    print(f"calibration written to {path}")


if __name__ == "__main__":
    main()

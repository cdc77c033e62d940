"""Pack the default model's float32 .keras into fer_train's package data (float16 kernels).

    python scripts/pack_default_float.py --keras RUN/model.keras \
        [--card edge/data/models/fer-resnet50-96-int8.json]

Reads the float ``.keras`` and its converted model's card (labels, crop recipe; by default the
packaged default's card, so the manifest names the packaged int8 model) and writes
``train/data/fer-resnet50-96-float.npz`` plus its manifest (``.json``). Kernels are float16,
BatchNorm statistics and biases float32; a value that does not fit is refused. The same source
gives the same bytes. Prints the manifest's summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", type=Path, required=True, help="the float model (.keras)")
    parser.add_argument(
        "--card", type=Path, default=REPO / "edge/data/models/fer-resnet50-96-int8.json"
    )
    args = parser.parse_args()
    from fer_train.default_weights import PACKED, pack

    manifest = pack(args.keras, args.card, PACKED)
    summary = {k: v for k, v in manifest.items() if k != "weights"}
    summary["weights"] = len(manifest["weights"])
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

"""Pack the default model's float32 .keras into fer_train's package data (float16 kernels).

    python scripts/pack_default_float.py [--source ../shared/models/default]

Reads ``fer-resnet50-96.keras`` and its converted model's card ``fer-resnet50-96-int8.json``
(labels, crop recipe) and writes ``train/data/fer-resnet50-96-float.npz`` plus its manifest
(``.json``). The same source gives the same bytes. Prints the manifest's summary as JSON.
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
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared/models/default")
    args = parser.parse_args()
    from fer_train.default_weights import PACKED, pack

    manifest = pack(
        args.source / "fer-resnet50-96.keras", args.source / "fer-resnet50-96-int8.json", PACKED
    )
    summary = {k: v for k, v in manifest.items() if k != "weights"}
    summary["weights"] = len(manifest["weights"])
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

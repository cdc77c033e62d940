#!/usr/bin/env bash
# `make demo`: the main job end to end on an embedded default, with no camera and no downloads.
# data (synthetic, real FER2013 CSV format) → fer-train → fer-convert --int8 → fer-edge run on a
# generated multi-face clip → the aggregate windows.
set -euo pipefail
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== 1/4 generating a synthetic FER2013-format dataset and a 15-face classroom clip"
python scripts/demo_data.py "$OUT/data" --per-class 60 --seconds 20

echo "== 2/4 fer-train fit (ResNet50, 48 px, --weights none: no download)"
fer-train fit --data fer2013="$OUT/data/fer2013.csv" --out "$OUT/run" --image-size 48 \
  --weights none --epochs 4 --fine-tune-epochs 0 --batch-size 32 --seed 0

echo "== 3/4 fer-convert --int8 (calibration on the run's training data, parity check)"
fer-convert "$OUT/run" --int8 --out "$OUT/model/fer-int8.tflite"

echo "== 4/4 fer-edge run on the clip (file source: windows follow the video's timestamps)"
fer-edge run --model "$OUT/model/fer-int8.tflite" --camera "$OUT/data/classroom.avi" \
  --window 5 --min-group 5 --log-dir "$OUT/logs"

echo
echo "== the aggregate windows ($OUT/logs):"
cat "$OUT"/logs/*.jsonl
echo
echo "NOTE: this demo model was trained on synthetic stripe patterns: its labels mean nothing."
echo "      Train on the real datasets (README, 'Usage') before drawing any conclusion."

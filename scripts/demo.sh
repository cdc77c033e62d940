#!/usr/bin/env bash
# `make demo`: the main job end to end on an embedded default, with no camera and no downloads.
# data (synthetic, in the real FER2013 CSV and CK+48 formats) → fer-train → fer-convert --int8 → fer-edge run on a
# generated multi-face clip → the aggregate windows.
set -euo pipefail
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== 1/4 generating synthetic FER2013 (Kaggle CSV) and CK+48 sets and a 15-face clip"
python -m fer_train.synth "$OUT/data" --per-class 80
python scripts/demo_clip.py "$OUT/data/classroom.avi" --seconds 20

echo "== 2/4 fer-train fit (fused FER2013 + CK+48, ResNet50 at 32 px, --weights none: no download)"
fer-train fit --data fer2013="$OUT/data/fer2013" --data ckplus="$OUT/data/CK+48" \
  --out "$OUT/run" --image-size 32 --weights none --epochs 6 --fine-tune-epochs 0 \
  --batch-size 16 --seed 0 --cache-dir "$OUT/cache"

echo "== 3/4 fer-convert --int8 (calibration on the run's training data, parity check)"
# The demo's held-out split is ~80 images of a briefly trained model, where each disagreement
# between float and int8 costs 1.2 points: it allows 95 % agreement instead of the default 98 %.
fer-convert "$OUT/run" --int8 --out "$OUT/model/fer-int8.tflite" --threshold 0.95

echo "== 4/4 fer-edge run on the clip (file source: windows follow the video's timestamps)"
fer-edge run --model "$OUT/model/fer-int8.tflite" --camera "$OUT/data/classroom.avi" \
  --window 5 --min-group 5 --log-dir "$OUT/logs"

echo
echo "== the aggregate windows ($OUT/logs):"
python -m json.tool --json-lines "$OUT"/logs/*.jsonl
fer-edge report --log-dir "$OUT/logs" --out "$OUT/shares.html"
echo
echo "Timeline for people: $OUT/shares.html"
echo "NOTE: this demo model was trained on synthetic stripe patterns: its labels mean nothing."
echo "      Train on the real datasets (README, 'Usage') before drawing any conclusion."

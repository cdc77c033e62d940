"""``fer-train evaluate``'s summary: accuracy per dataset and face size, recall, shares."""

from __future__ import annotations

import numpy as np

from fer_edge.contract.labels import LABELS
from fer_train.evaluate import metrics, shares, summary_table, write_reports
from helpers.skips import needs


def _result(y_true, y_pred, split, sizes=None):
    res = metrics(np.array(y_true), np.array(y_pred), split)
    if sizes:
        res["true_shares"], res["predicted_shares"] = shares(y_true), shares(y_pred)
        res["face_px"] = {
            str(px): {"accuracy": acc, "predicted_shares": shares(y_pred)}
            for px, acc in sizes.items()
        }
    return res


def two_datasets() -> dict:
    neutral, happy, fear = (LABELS.index(x) for x in ("neutral", "happy", "fear"))
    return {
        # 4 neutral faces, one read as fear; 2 happy faces read right
        "ferplus": _result(
            [neutral] * 4 + [happy] * 2,
            [neutral] * 3 + [fear] + [happy] * 2,
            "test",
            {20: 0.5, 24: 0.6667, 48: 0.8333},
        ),  # fmt: skip
        "ckplus": _result([happy, fear], [happy, happy], "held-out test subjects of the run (2)"),
    }


def test_summary_rows_per_dataset_with_sizes_recall_and_shares():
    lines = summary_table(two_datasets())
    text = "\n".join(lines)
    assert "| dataset | part | n | accuracy | 20 px | 24 px | 48 px |" in text
    assert "| ferplus | test | 6 | 83.3% | 50.0% | 66.7% | 83.3% |" in text
    assert "| ckplus | held-out test subjects of the run (2) | 2 | 50.0% | - | - | - |" in text
    row = [line for line in lines if line.startswith("| ferplus | ") and "%" in line][1]
    cells = row.strip("| ").split(" | ")[1:]
    assert dict(zip(LABELS, cells, strict=True)) == {
        "anger": "-", "disgust": "-", "fear": "-", "happy": "100%", "neutral": "75%",
        "sadness": "-", "surprise": "-",
    }  # fmt: skip
    shares_row = [line for line in lines if line.startswith("| ") and "→" in line]
    assert len(shares_row) == 1 and shares_row[0].startswith("| ferplus |")
    assert "67% → 50%" in shares_row[0] and "0% → 17%" in shares_row[0]  # neutral; fear
    assert summary_table({}) == []


def test_the_report_puts_the_summary_first_and_a_confusion_plot_per_dataset(tmp_path):
    needs("matplotlib")
    write_reports(tmp_path, two_datasets(), "Evaluation of m.tflite")
    report = (tmp_path / "report.md").read_text()
    assert report.index("## Summary") < report.index("## ferplus: accuracy 83.3%")
    assert (tmp_path / "confusion-ferplus.png").stat().st_size > 0
    assert (tmp_path / "confusion-ckplus.png").stat().st_size > 0

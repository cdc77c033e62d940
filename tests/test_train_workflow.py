"""``fer-train`` workflows: an interrupted run resumed and the paper's comparison table (long, with
TensorFlow), and which images ``fer-train evaluate`` may call unseen."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from fer_train.cli import main
from fer_train.prepare import Prepared
from fer_train.synth import write_ckplus48, write_fer2013_csv
from fer_train.workflow import evaluation_part
from helpers.skips import requires


def long_tf(test):
    """``test`` marked ``tf`` and ``slow``, skipped without TensorFlow."""
    return pytest.mark.tf(pytest.mark.slow(requires("tensorflow")(test)))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def start_fit(args, log_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "fer_train.cli", "fit", *map(str, args)]
    log = log_path.open("w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log


def wait_for(pattern, path, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, path.read_text()):
            return
        assert proc.poll() is None, path.read_text()[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not seen in {timeout} s: {path.read_text()[-3000:]}")


@long_tf
def test_resume_continues_a_killed_run(tmp_path):
    fer = write_fer2013_csv(tmp_path / "fer2013" / "fer2013.csv", per_class=8)
    run = tmp_path / "run"
    args = ["--data", f"fer2013={fer.parent}", "--out", run, "--image-size", 32,
            "--weights", "none", "--epochs", 4, "--fine-tune-epochs", 0, "--batch-size", 16,
            "--cache-dir", tmp_path / "cache"]  # fmt: skip
    proc, log = start_fit(args, tmp_path / "first.log")
    try:
        wait_for(r"epoch 2/4 took", tmp_path / "first.log", proc)  # epochs 1, 2 backed up
        proc.send_signal(signal.SIGKILL)  # no clean-up: a power cut
        proc.wait(30)
    finally:
        proc.kill()
        log.close()
    assert not (run / "model.keras").exists()
    assert (run / "checkpoints" / "backup-scratch").is_dir()

    refused = invoke("fit", *args)
    assert refused.exit_code == 78, refused.output
    assert "interrupted run; pass --resume" in refused.output
    changed = invoke("fit", *args, "--resume", "--seed", 1)
    assert changed.exit_code == 78 and "--seed" in changed.output, changed.output
    assert (run / "checkpoints" / "backup-scratch").is_dir()  # the refusals kept it

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = invoke("fit", *args, "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert (run / "model.keras").is_file()
        assert not (run / "checkpoints" / "backup-scratch").exists()
        stage = json.loads((run / "history.json").read_text())["stages"][0]
        epochs_run = len(stage["history"]["loss"])
        assert 1 <= epochs_run <= 2, stage  # only the epochs the killed run had not finished

        again = invoke("fit", *args, "--resume")  # everything done: restored, not retrained
        assert again.exit_code == 0, again.output
        stage = json.loads((run / "history.json").read_text())["stages"][0]
        assert stage["resumed"] is True and len(stage["history"]["loss"]) == epochs_run
    # Keras warns when it drops a checkpoint's optimizer state (step count, momentum): the
    # learning-rate schedule would restart from its warm-up.
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]


@long_tf
def test_compare_trains_a_model_per_dataset_and_a_fused_one(tmp_path):
    fer = write_fer2013_csv(tmp_path / "d" / "fer2013" / "fer2013.csv", per_class=8)
    ck = write_ckplus48(tmp_path / "d" / "CK+48", subjects=6, per_subject=1)
    out = tmp_path / "cmp"
    result = invoke(
        "compare", "--data", f"fer2013={fer.parent}", "--data", f"ckplus={ck}", "--out", out,
        "--image-size", 32, "--weights", "none", "--epochs", 1, "--fine-tune-epochs", 0,
        "--batch-size", 16, "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = json.loads((out / "compare.json").read_text())["trained_on"]
    assert list(table) == ["fer2013", "ckplus", "fused"]
    n_ck = len(list(ck.rglob("*.png"))) - len(list((ck / "contempt").glob("*.png")))
    for run_name, row in table.items():
        assert (out / run_name / "model.keras").is_file()
        assert set(row) == {"fer2013", "ckplus"}
        for cell in row.values():
            assert 0.0 <= cell["accuracy"] <= 1.0 and cell["n"] > 0
        assert row["fer2013"]["split"] == "test" and row["fer2013"]["n"] == 7 * 1
        trained_on_ck = run_name != "fer2013"
        assert row["ckplus"]["split"].startswith("held-out") == trained_on_ck, row
        assert (row["ckplus"]["n"] < n_ck) == trained_on_ck and row["ckplus"]["n"] <= n_ck
    md = (out / "compare.md").read_text().splitlines()
    assert md[2] == "| trained on | fer2013 | ckplus |"
    for line, (run_name, row) in zip(md[4:], table.items(), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == run_name
        for cell, name in zip(cells[1:], ("fer2013", "ckplus"), strict=True):
            assert cell == f"{row[name]['accuracy']:.1%} (n={row[name]['n']})"
    assert md[2] in result.output


def _ck(subjects: list[str]) -> Prepared:
    n = len(subjects)
    return Prepared(
        np.zeros((n, 8, 8, 3), np.uint8),
        np.zeros(n, np.int64),
        np.full(n, "ckplus"),
        np.full(n, ""),
        np.array(subjects),
        {},
    )


def test_evaluation_never_calls_a_trained_subject_unseen():
    prepared = _ck(["S010", "S011", "S012", "S020"])
    trained = {"sources": [{"name": "ckplus"}], "held_out_subjects": {"ckplus": {"test": ["S011"]}}}
    part, split = evaluation_part(prepared, "ckplus", trained)
    assert part.subjects.tolist() == ["S011"] and split.startswith("held-out test subjects")
    # trained on it, and no subject held out by both the model and its parent: nothing unseen
    none_left = {"sources": [{"name": "ckplus"}], "held_out_subjects": {"ckplus": {"test": []}}}
    part, split = evaluation_part(prepared, "ckplus", none_left)
    assert len(part) == 0 and split.startswith("none")
    part, split = evaluation_part(prepared, "ckplus", {"sources": [{"name": "jaffe"}]})
    assert len(part) == 4 and split.startswith("all")

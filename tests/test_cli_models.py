"""``fer-edge models``: one line per model, and ``models info``: the model, its data and terms."""

from __future__ import annotations

from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.contract.labels import LABELS


def test_models_info_shows_the_model_its_data_and_terms():
    result = CliRunner().invoke(main, ["models", "info"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "packaged default model" in out and ", ".join(LABELS) in out
    assert "96x96" in out and "int8" in out and "ferplus, ckplus, jaffe, fer2013" in out
    assert "held out fer2013" in out and "59.1%" in out and "non-commercial" in out
    assert "label mode" in out and "majority" in out and "MIT" in out
    assert "by face size" in out and "20 px 63.6%, 24 px 67.9%" in out
    assert "parent" in out and "496c18c92419" in out  # the previous default's sha256
    assert "classroom footage" in out
    assert "  held out ferplus float: 76.0%" in out  # the longest heading, then a space
    headed = [line for line in out.splitlines() if line.startswith("  ")]
    # every value starts in one column
    assert len({len(line) - len(line[line.index(":") + 1 :].lstrip()) for line in headed}) == 1


def test_models_alone_lists_the_models_one_line_each():
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3 and "models info" in lines[2]
    assert lines[0].startswith("expression model: the packaged default model")
    assert "(int8, 96 px, 7 classes, 24." in lines[0]
    assert lines[1].startswith("face detector:") and "YuNet" in lines[1]
    assert "non-commercial" not in result.output  # the card's details are for `models info`

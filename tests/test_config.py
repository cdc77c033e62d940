"""RunConfig: TOML and flags, checked values, check-config, exit 78."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.config import build_config
from fer_edge.contract.errors import ConfigError


def test_toml_then_flags_override(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "m.tflite"\ncamera = 2\nwindow = 30\nmin-group = 7\n')
    config = build_config(cfg, {"window": 10.0, "camera": None})
    assert (config.model, config.camera, config.window, config.min_group) == (
        str(tmp_path / "m.tflite"),  # relative to the config file's folder
        "2",
        10,
        7,
    )


@pytest.mark.parametrize(
    "text, needle",
    [
        ('model = "m"\nwindoww = 3\n', "windoww"),
        ('model = "m"\nwindow = "long"\n', "window must be float"),
        ('model = "m"\nmin_group = 0\n', "min-group 0"),
        ('model = "m"\ndetector = "dlib"\n', "detector"),
        ("model = \n", "invalid TOML"),
        ("prior_correction = 1\n", "prior_correction must be true or false"),
    ],
)
def test_bad_config_names_the_problem_and_exits_78(tmp_path, text, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        build_config(cfg)
    result = CliRunner().invoke(main, ["check-config", str(cfg)])
    assert result.exit_code == 78
    assert needle in result.output and result.output.count("\n") == 1


def test_check_config_ok_and_default_model(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["check-config", "--model", "m.tflite", "--window", "5"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.split("configuration OK")[0])["window"] == 5.0
    default = runner.invoke(main, ["check-config", "--no-prior-correction"])
    assert default.exit_code == 0, default.output
    settings = json.loads(default.stdout.split("configuration OK")[0])
    assert settings["model"] is None and settings["prior_correction"] is False
    bad = runner.invoke(main, ["check-config", "--model", "m", "--camera", "/nope.avi"])
    assert bad.exit_code == 78 and "/nope.avi" in bad.output


def test_run_with_bad_config_exits_78_without_touching_anything(tmp_path):
    result = CliRunner().invoke(
        main, ["run", "--model", "m.tflite", "--camera", str(tmp_path / "missing.avi")]
    )
    assert result.exit_code == 78
    assert "missing.avi" in result.output

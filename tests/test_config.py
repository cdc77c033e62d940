"""RunConfig: TOML and flags, checked values, check-config, exit 78."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.config import build_config
from fer_edge.contract.errors import ConfigError
from fer_edge.faces.quality import QualityGate


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
    logs = ["--log-dir", str(tmp_path / "logs")]
    ok = runner.invoke(main, ["check-config", "--window", "5", *logs])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.split("configuration OK")[0])["window"] == 5.0
    assert not (tmp_path / "logs").exists()  # checked, not created
    default = runner.invoke(main, ["check-config", "--no-prior-correction", *logs])
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


def test_reading_a_config_does_not_load_opencv():
    code = (
        "import sys, fer_edge.config; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cv2', 'numpy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "flag, value, needle",
    [
        ("--window", "inf", "window inf: must be a finite number in [1, 86400]"),
        ("--window", "nan", "window nan: must be a finite number"),
        ("--window", "1e12", "window 1000000000000.0: must be <= 86400"),
        ("--max-fps", "1e9", "max-fps 1000000000.0: must be <= 1000"),
        ("--frame-timeout", "inf", "frame-timeout inf: must be a finite number"),
        ("--score", "0", "score 0.0: must be > 0"),
        ("--metrics-port", "70000", "metrics-port 70000: must be <= 65535"),
    ],
)
def test_numbers_outside_their_range_exit_78_in_one_line(tmp_path, flag, value, needle):
    args = [flag, value, "--log-dir", str(tmp_path)]
    for command in ("check-config", "run"):
        result = CliRunner().invoke(main, [command, *args])
        assert result.exit_code == 78, result.output
        assert result.output.startswith(f"fer-edge: error: {needle}")
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_every_number_option_has_a_finite_range():
    from fer_edge.config import SECTIONS
    from fer_edge.options import check_ranges_declared

    assert {name: check_ranges_declared(cls) for name, cls in SECTIONS.items()} == {
        name: [] for name in SECTIONS
    }


def test_one_option_twice_unknown_keys_and_toml_errors_are_named(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("min_group = 3\nwindow = 30\nmin-group = 7\n")
    with pytest.raises(ConfigError, match="'min_group' and 'min-group' are the same option"):
        build_config(cfg)
    cfg.write_text("min-grup = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'min-grup'; did you mean 'min-group'"):
        build_config(cfg)
    cfg.write_text('camera = "0"\nwindow = 30\nscore = = 0.5\n')
    with pytest.raises(ConfigError, match=r"c.toml:3:9: invalid TOML: Invalid value"):
        build_config(cfg)
    cfg.write_text('camera = "0"\nwindow = [1,\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: invalid TOML: .* end of the file"):
        build_config(cfg)


def test_a_section_may_be_a_table_holding_only_its_own_options(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[record]\nwindow = 30\n[faces]\ndetector = "haar"\n')
    config = build_config(cfg)
    assert (config.record.window, config.faces.detector, config.window) == (30.0, "haar", 30.0)
    cfg.write_text("[faces]\nwindow = 30\n")
    with pytest.raises(ConfigError, match=r"\[faces\] has no option 'window'"):
        build_config(cfg)


def test_relative_paths_in_a_config_file_are_taken_from_its_folder(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "clip.avi").write_bytes(b"x")
    (site / "c.toml").write_text(
        'camera = "clip.avi"\nlog_dir = "logs"\nface_model = "~/yunet.onnx"\nmodel = "default"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = build_config(site / "c.toml")
    assert config.camera == str(site / "clip.avi")
    assert config.log_dir == str(site / "logs")
    assert config.face_model == os.path.expanduser("~/yunet.onnx")
    assert config.model == "default"  # the packaged model's name, not a file
    (site / "c.toml").write_text('camera = "2"\n')
    assert build_config(site / "c.toml").camera == "2"  # an index, not a file


def test_check_config_refuses_what_run_refuses(tmp_path):
    logs = ["--log-dir", str(tmp_path / "logs")]
    result = CliRunner().invoke(main, ["check-config", "--model", "/nonexistent/m.tflite", *logs])
    assert result.exit_code == 78
    assert "/nonexistent/m.tflite: model file not found" in result.output
    missing_face = str(tmp_path / "yunet.onnx")
    result = CliRunner().invoke(main, ["check-config", "--face-model", missing_face, *logs])
    assert result.exit_code == 78 and f"{missing_face}: YuNet face model not found" in result.output
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = CliRunner().invoke(main, ["check-config", "--log-dir", str(a_file / "logs")])
    assert result.exit_code == 78 and f"{a_file} is not a folder" in result.output


def test_the_detector_names_here_are_the_registered_ones():
    from fer_edge.faces.detect import detector_names
    from fer_edge.faces.options import DETECTORS

    assert DETECTORS == detector_names()


#: The options of fer-edge 0.x before the sections (TOML keys and flags users have written):
#: new options may be added, these must keep working.
RELEASED_OPTIONS = """
model card camera detector face_model min_face score threads runtime max_fps max_frames window
min_group log_dir keep_days min_free_mb frame_timeout reconnect_max track_iou track_max_age
smoothing reclassify start_time prior_correction site room mqtt_host mqtt_port mqtt_prefix
mqtt_username mqtt_password_file mqtt_ca_file mqtt_cert_file mqtt_key_file mqtt_backlog
metrics_port camera_wait detect_every readable_face max_yaw max_pitch min_sharpness
""".split()


def test_the_released_keys_and_flags_still_work():
    from fer_edge.config import OPTIONS

    assert set(RELEASED_OPTIONS) <= set(OPTIONS)
    help_text = CliRunner().invoke(main, ["run", "--help"], terminal_width=200).output
    for name in RELEASED_OPTIONS:
        assert f"--{name.replace('_', '-')}" in help_text, name


def test_config_checks_the_new_options():
    from fer_edge.config import build_config
    from fer_edge.contract.errors import ConfigError

    config = build_config(None, {"camera": "0", "detect_every": 3, "max_yaw": 30.0})
    assert config.quality_gate == QualityGate(24.0, 30.0, 25.0, 0.5)
    with pytest.raises(ConfigError, match="detect-every 0"):
        build_config(None, {"camera": "0", "detect_every": 0})
    with pytest.raises(ConfigError, match="longer than track-max-age"):
        build_config(None, {"camera": "0", "detect_every": 5, "max_fps": 2.0})
    with pytest.raises(ConfigError, match="max-yaw 120.0"):
        build_config(None, {"camera": "0", "max_yaw": 120.0})


def test_camera_wait_is_an_option_with_checked_values(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "m"\ncamera-wait = 45\n')
    assert build_config(cfg).resolved_camera_wait == 45.0
    result = CliRunner().invoke(main, ["check-config", "--model", "m", "--camera-wait", "-1"])
    assert result.exit_code == 78 and "camera-wait -1.0: must be >= 0" in result.output

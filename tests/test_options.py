"""Typed options: the range a number option's help states is the rule its check applies."""

from __future__ import annotations

from click.testing import CliRunner

from fer_edge.cli import main


def test_a_range_with_an_off_value_is_stated_in_the_help_and_checked():
    """detect-width: 0 (detect on the full frame) or 160-7680; 1-159 is refused in one line."""
    result = CliRunner().invoke(main, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "--detect-width" in line)
    assert "0: it detects on the full frame. Range 0 or [160, 7680]." in line
    for value in ("0", "160", "7680"):
        args = ["check-config", "--model", "m", "--camera", "0", "--detect-width", value]
        assert "detect-width" not in CliRunner().invoke(main, args).output
    for value in ("100", "1", "159", "7681", "-1"):
        args = ["check-config", "--model", "m", "--camera", "0", "--detect-width", value]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 78
        errors = [line for line in result.output.splitlines() if line.startswith("fer-edge:")]
        assert errors == [
            f"fer-edge: error: detect-width {value}: must be 0 or in [160, 7680] "
            "(0: detect on the full frame)"
        ], result.output

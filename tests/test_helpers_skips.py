"""Skipped tests say how to enable them: the YuNet model tests, optional extras."""

from __future__ import annotations

import pytest

from helpers import skips


def test_the_yunet_tests_use_the_model_fer_edge_would_use_when_there_is_no_test_copy(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(skips, "YUNET_TEST_MODEL", tmp_path / "absent.onnx")
    monkeypatch.setattr("fer_edge.faces.modelfiles.models_dirs", lambda: [tmp_path / "models"])
    monkeypatch.delenv("FER_EDGE_FACE_MODEL", raising=False)
    path, why = skips.find_yunet_for_tests()
    assert path is None
    assert "`fer-edge models fetch`" in why and "FER_EDGE_FACE_MODEL=" in why
    fetched = tmp_path / "models" / "face_detection_yunet_2023mar.onnx"
    fetched.parent.mkdir()
    fetched.write_bytes(b"onnx")
    assert skips.find_yunet_for_tests() == (fetched, "")
    own = tmp_path / "own.onnx"
    own.write_bytes(b"onnx")
    monkeypatch.setenv("FER_EDGE_FACE_MODEL", str(own))
    assert skips.find_yunet_for_tests()[0] == own


def test_a_missing_extra_is_skipped_with_how_to_install_it():
    with pytest.raises(pytest.skip.Exception, match=r"make backends"):
        skips.needs("jax.no_such_module_here")
    with pytest.raises(pytest.skip.Exception, match=r"pip install -e '\.\[fleet\]'"):
        skips.needs("paho.mqtt.no_such_module_here")


def test_requires_marks_a_test_skipped_with_the_same_line_where_a_module_is_missing():
    missing = skips.requires("no_such_package_here.sub")
    assert missing.name == "skipif" and missing.args == (True,)
    assert missing.kwargs["reason"] == "no_such_package_here.sub is not installed: pip install it"
    assert skips.requires("numpy").args == (False,)

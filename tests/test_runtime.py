"""The LiteRT adapter: the runtime's native stderr lines logged at their own severity."""

from __future__ import annotations

from fer_edge.classify import packaged_model
from fer_edge.classify.runtime import Classifier

PACKAGED = packaged_model.default_model_path()


def test_the_runtimes_native_start_line_stays_out_of_the_users_stderr(capfd, caplog):
    caplog.set_level("DEBUG", logger="fer_edge.classify.runtime")
    Classifier(PACKAGED)
    assert "XNNPACK" not in capfd.readouterr().err
    routine = [r for r in caplog.records if "XNNPACK delegate" in r.getMessage()]
    assert all(r.levelname == "DEBUG" for r in routine)


def test_other_native_stderr_output_is_logged_as_a_warning(caplog):
    import os

    from fer_edge.classify.runtime import native_stderr_to_log

    with native_stderr_to_log():
        os.write(2, b"ERROR: something the runtime wants said\n")
    (record,) = [r for r in caplog.records if "wants said" in r.getMessage()]
    assert record.levelname == "WARNING"


def test_native_lines_keep_their_own_severity_and_info_chatter_is_debug(caplog):
    import os

    from fer_edge.classify.runtime import native_stderr_to_log

    caplog.set_level("DEBUG", logger="fer_edge.classify.runtime")
    printed = [  # what TensorFlow's GPU build prints at import on a machine without CUDA
        "I0000 00:00:1796063319.236023 6016 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used.",
        "I0000 00:00:1796063319.236023 6016 cpu_feature_guard.cc:227] This TensorFlow binary "
        "is optimized to use available CPU instructions in performance-critical operations.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
        "2023-05-01 12:17:26.572682: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] "
        "TF-TRT Warning: Could not find TensorRT",
        "E0000 00:00:1796063319.5 6016 cuda_executor.cc:1] failed call to cuInit",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "something untagged after a routine line",
    ]
    with native_stderr_to_log():
        os.write(2, ("\n".join(printed) + "\n").encode())
    levels = [r.levelname for r in caplog.records if r.getMessage().startswith("runtime: ")]
    assert levels == ["DEBUG", "DEBUG", "DEBUG", "WARNING", "ERROR", "DEBUG", "WARNING"]

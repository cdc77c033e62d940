"""The unit sets MemoryDenyWriteExecute=yes: the device stack must never need W+X memory.

The kernel's PR_SET_MDWE (Linux 6.3+) enforces the same rule as systemd's filter (no mapping
both writable and executable, no mprotect adding exec to written memory) on a subprocess,
which then runs OpenCV's YuNet and LiteRT with its XNNPACK delegate.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from helpers.skips import needs

MDWE_PRELUDE = textwrap.dedent(
    """
    import ctypes, mmap, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
        sys.exit(77)
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except OSError:
        pass
    else:
        sys.exit("W+X mapping allowed: MDWE is not enforced")
    """
)


def run_under_mdwe(code: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", MDWE_PRELUDE + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_yunet_and_litert_load_without_wx_memory(yunet_model):
    needs("skimage")
    stdout = run_under_mdwe(
        """
        import cv2, numpy as np
        from ai_edge_litert.interpreter import Interpreter
        from skimage import data
        image = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
        detector = cv2.FaceDetectorYN.create(sys.argv[1], "", (image.shape[1], image.shape[0]))
        _, faces = detector.detect(image)
        print(len(faces))
        """,
        str(yunet_model),
    )
    assert stdout.split() == ["1"]


@pytest.mark.tf
def test_litert_xnnpack_runs_float_and_int8_models_without_wx_memory(tmp_path):
    tf = needs("tensorflow")
    keras = tf.keras
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    (tmp_path / "f32.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: (
        [rng.uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)] for _ in range(8)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (tmp_path / "i8.tflite").write_bytes(converter.convert())

    stdout = run_under_mdwe(
        """
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter
        for path in sys.argv[1:]:
            it = Interpreter(model_path=path, num_threads=2)
            inp = it.get_input_details()[0]
            it.resize_tensor_input(inp["index"], [4, 32, 32, 3])
            it.allocate_tensors()
            it.set_tensor(inp["index"], np.zeros((4, 32, 32, 3), inp["dtype"]))
            it.invoke()
            print(it.get_tensor(it.get_output_details()[0]["index"]).shape)
        """,
        str(tmp_path / "f32.tflite"),
        str(tmp_path / "i8.tflite"),
    )
    assert stdout.split("\n")[:2] == ["(4, 7)", "(4, 7)"]

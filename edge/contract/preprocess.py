"""Pixel preprocessing outside the model: the only step between a crop and the interpreter.

Every fer-edge model takes plain RGB pixel values in [0, 255]; mean subtraction and channel
order for ResNet50 ("caffe" mode) live inside the model graph. A float model gets the values
as float32; an integer model gets them quantised with its input tensor's own scale and zero
point (as recorded in the model card).
"""

from __future__ import annotations

import numpy as np

#: ImageNet means for keras.applications.resnet50 ("caffe" mode), in BGR order.
IMAGENET_CAFFE_MEAN_BGR: tuple[float, float, float] = (103.939, 116.779, 123.68)

#: Description stored in model cards (the model graph does the rest).
PIXEL_CONTRACT = "rgb-uint8-0-255"

_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255)}


def quantize(pixels: np.ndarray, dtype: str, scale: float, zero_point: int) -> np.ndarray:
    """Float pixel values → integer tensor values: round(x / scale) + zero_point, clipped."""
    lo, hi = _INT_RANGES[dtype]
    q = np.round(pixels.astype(np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, lo, hi).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Integer tensor values → float: (q - zero_point) * scale."""
    return (values.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def to_model_input(
    crops: np.ndarray, dtype: str, scale: float | None = None, zero_point: int | None = None
) -> np.ndarray:
    """A batch of RGB uint8 crops (N, S, S, 3) → the model's input tensor."""
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"expected RGB uint8 crops (N, S, S, 3), got {crops.dtype} {crops.shape}")
    if dtype == "float32":
        return crops.astype(np.float32)
    if dtype == "uint8" and scale == 1.0 and zero_point == 0:
        return crops
    if dtype in _INT_RANGES:
        if scale is None or zero_point is None:
            raise ValueError(f"{dtype} input needs a quantisation scale and zero point")
        return quantize(crops, dtype, scale, zero_point)
    raise ValueError(f"unsupported model input dtype {dtype!r}")

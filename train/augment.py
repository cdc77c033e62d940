"""Training augmentation on the host (OpenCV, uint8), outside any backend's compiled graph.

Keras' in-graph augmentation layers stalled the JAX and PyTorch backends (docs/RESULTS.md), so
augmentation runs on CPU workers (:mod:`fer_train.input_pipeline`) and the model holds none.
Per image:

1. geometry, one ``warpAffine``: horizontal flip, rotation, shift, zoom; borders repeat the edge
   pixels (Keras' ``fill_mode="nearest"``);
2. light, one ``cv2.transform``: brightness (a shift of up to ``brightness`` × 255) and contrast
   (scaled about each channel's mean by 1 ± ``contrast``);
3. low resolution (probability ``low_res_p``): the face shrunk to ``low_res_px`` px, as a
   classroom camera sees it (15-30 px), with — each at half that probability — mild blur,
   sensor noise and JPEG artefacts at that size, then enlarged back as the device's crop does
   (:func:`shrink`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Blur sigma (px at the shrunk size), noise sigma (grey levels), JPEG quality: ranges drawn from.
BLUR_SIGMA = (0.3, 1.0)
NOISE_SIGMA = (2.0, 8.0)
JPEG_QUALITY = (30, 90)


def shrink(image: np.ndarray, px: int) -> np.ndarray:
    """``image`` (square, uint8) shrunk to ``px`` px and enlarged back to its size.

    The same resizing the device's crop step does for a face of ``px`` px
    (:func:`fer_edge.faces.crop.crop_square`: area averaging down, bilinear up).
    """
    size = image.shape[0]
    if px >= size:
        return image
    small = cv2.resize(image, (px, px), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Augment:
    """Random augmentation of uint8 RGB crops; equal in effect to the former Keras layers."""

    flip: bool = True
    rotation: float = 18.0  # degrees either way (RandomRotation(0.05))
    shift: float = 0.08  # of the image size (RandomTranslation(0.08, 0.08))
    zoom: float = 0.10  # RandomZoom(0.1)
    brightness: float = 0.15  # RandomBrightness(0.15) on 0-255
    contrast: float = 0.15  # RandomContrast(0.15)
    low_res_p: float = 0.5
    low_res_px: tuple[int, int] = (12, 48)

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A new uint8 batch: each of ``images`` (N, S, S, 3) augmented independently."""
        out = np.empty_like(images)
        for i, image in enumerate(images):
            out[i] = self.one(image, rng)
        return out

    def one(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        size = image.shape[0]
        image = cv2.warpAffine(
            image,
            self._geometry(size, rng),
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        image = self._light(image, rng)
        if self.low_res_p > 0 and rng.random() < self.low_res_p:
            image = self._low_res(image, rng)
        return image

    def _geometry(self, size: int, rng: np.random.Generator) -> np.ndarray:
        c = (size - 1) / 2.0
        angle = math.radians(rng.uniform(-self.rotation, self.rotation))
        scale = rng.uniform(1.0 - self.zoom, 1.0 + self.zoom)
        dx, dy = rng.uniform(-self.shift, self.shift, 2) * size
        flip = -1.0 if self.flip and rng.random() < 0.5 else 1.0
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        # x' = R·S·F·(x - c) + c + d
        linear = np.array([[cos * flip, -sin], [sin * flip, cos]])
        offset = np.array([c + dx, c + dy]) - linear @ np.array([c, c])
        return np.hstack([linear, offset[:, None]]).astype(np.float32)

    def _light(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        gain = rng.uniform(1.0 - self.contrast, 1.0 + self.contrast)
        delta = rng.uniform(-self.brightness, self.brightness) * 255.0
        mean = np.asarray(cv2.mean(image)[:3])
        matrix = np.zeros((3, 4), np.float32)
        matrix[:, :3] = np.eye(3) * gain
        matrix[:, 3] = (1.0 - gain) * mean + delta
        return cv2.transform(image, matrix)  # saturates to 0..255

    def _low_res(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        size = image.shape[0]
        low, high = self.low_res_px
        px = int(rng.integers(low, min(high, size - 1) + 1)) if low < size else size
        if px >= size:
            return image
        small = cv2.resize(image, (px, px), interpolation=cv2.INTER_AREA)
        half = 0.5
        if rng.random() < half:
            small = cv2.GaussianBlur(small, (0, 0), rng.uniform(*BLUR_SIGMA))
        if rng.random() < half:
            noise = rng.normal(0.0, rng.uniform(*NOISE_SIGMA), small.shape).astype(np.float32)
            small = np.clip(small + noise, 0, 255).astype(np.uint8)
        if rng.random() < half:
            quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
            # OpenCV's JPEG codec takes BGR: reverse the channels there and back.
            _, data = cv2.imencode(".jpg", small[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
            small = np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
        return cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)

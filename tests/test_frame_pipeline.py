"""One frame through the pipeline: detect, track, classify at the reclassify interval."""

from __future__ import annotations

import numpy as np

from fer_edge.faces.tracker import IouTracker
from helpers.fakes import SHA, onehot


def test_reclassify_interval_reuses_a_tracks_class_between_calls():
    from fer_edge.contract.card import ModelCard
    from fer_edge.contract.recipe import CropRecipe
    from fer_edge.faces.detect import Face
    from fer_edge.frame_pipeline import FramePipeline

    class TwoFaces:
        name = "fixed"

        def detect(self, image):
            return [Face((0, 0, 20, 20), 0.9), Face((40, 0, 20, 20), 0.9)]

    class Counting:
        card = ModelCard("fake.tflite", "tflite", SHA, CropRecipe(size=16))
        batches: list = []

        def predict(self, crops):
            self.batches.append(len(crops))
            return onehot(*([5] * len(crops)))

    classifier = Counting()
    pipeline = FramePipeline(TwoFaces(), classifier, IouTracker(), reclassify=1.0)
    frame = np.zeros((40, 80, 3), np.uint8)
    out = [pipeline.process(i / 10, frame) for i in range(25)]  # 2.5 s at 10 fps
    assert classifier.batches == [2, 2, 2]  # at 0, 1 and 2 s; no call without crops
    assert all([label for _, label, *_ in obs] == [5, 5] for obs in out)
    assert (pipeline.faces, pipeline.classified) == (50, 6)

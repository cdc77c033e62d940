"""Class-prior correction: p times the prior renormalised, for balanced and sqrt weighted models
only, and in one place (the share estimator, not the frame pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from fer_edge.classify.prior import correct, training_prior
from fer_edge.classify.shares import ShareEstimator
from fer_edge.contract.card import ModelCard
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.tracker import IouTracker
from fer_edge.frame_pipeline import FramePipeline

PRIOR = {"anger": 0.141, "disgust": 0.018, "fear": 0.14, "happy": 0.259, "neutral": 0.175,
         "sadness": 0.172, "surprise": 0.096}  # fmt: skip


def _weighted_card(class_weights: str = "balanced") -> ModelCard:
    """A tiny card of a model trained with class weights (the packaged one has none)."""
    training = {"class_prior": dict(PRIOR), "class_weights": class_weights}
    return ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(32), training=training)


def test_prior_correction_is_p_times_prior_renormalised():
    probs = np.array([[0.5, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05], [1 / 7] * 7], np.float32)
    prior = np.array([0.1, 0.05, 0.1, 0.4, 0.15, 0.15, 0.05], np.float32)
    out = correct(probs, prior)
    expected = probs * prior / (probs * prior).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(out[1], prior, rtol=1e-6)  # a uniform answer becomes the prior
    assert int(np.argmax(out[0])) == 0 and out[0, 0] < probs[0, 0]


def test_prior_applies_only_to_balanced_weight_models():
    card = _weighted_card()
    prior = training_prior(card)
    assert prior is not None and prior.sum() == pytest.approx(1.0)
    assert prior[LABELS.index("happy")] == pytest.approx(0.259 / 1.001, abs=1e-4)
    card.training["class_weights"] = "none"
    assert training_prior(card) is None
    assert training_prior(ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(32))) is None


def test_sqrt_weight_models_are_corrected_by_the_square_root_of_the_prior():
    """Square-root class weights leave an implied prior ∝ √π: multiplying by √π restores π."""
    card = _weighted_card()
    pi = np.asarray(card.class_prior, np.float64)
    pi /= pi.sum()
    card.training["class_weights"] = "sqrt"
    factor = training_prior(card)
    np.testing.assert_allclose(factor, np.sqrt(pi) / np.sqrt(pi).sum(), rtol=1e-5)
    likelihood = np.random.default_rng(0).random((5, len(LABELS)))
    answered = likelihood * np.sqrt(pi)  # what a sqrt-weighted model answers
    answered /= answered.sum(axis=1, keepdims=True)
    natural = likelihood * pi
    natural /= natural.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(correct(answered, factor), natural, rtol=1e-5)


class _Uniformish:
    """A classifier answering the same probabilities for every crop."""

    def __init__(self, probs):
        self.card = ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(32))
        self.probs = np.asarray(probs, np.float32)

    def predict(self, crops):
        return np.repeat(self.probs[None], len(crops), axis=0)


class _OneFace:
    name = "one"

    def detect(self, frame):
        from fer_edge.faces.detect import Face

        return [Face((10, 10, 40, 40), 0.9)]


def test_the_pipeline_passes_raw_probabilities_and_the_estimator_corrects():
    """Prior correction happens in one place: the share estimator (cc/pcc), not per face."""
    probs = [0.3, 0.0, 0.0, 0.25, 0.15, 0.3, 0.0]
    prior = dict(zip(LABELS, [0.1, 0.05, 0.1, 0.4, 0.15, 0.15, 0.05], strict=True))
    frame = np.zeros((100, 100, 3), np.uint8)
    pipeline = FramePipeline(_OneFace(), _Uniformish(probs), IouTracker())
    ((_, label, conf, _, smoothed, side),) = pipeline.process(0.0, frame)
    assert label in (0, 5) and conf == pytest.approx(0.3)
    np.testing.assert_allclose(smoothed, probs, atol=1e-6)
    assert side == pytest.approx(40 * (1 + 2 * pipeline.recipe.margin))
    card = ModelCard(
        "m.tflite", "tflite", "ab" * 32, CropRecipe(32),
        training={"class_prior": prior, "class_weights": "balanced"},
    )  # fmt: skip
    rows = np.array([smoothed] * 5)
    corrected = ShareEstimator(card, "cc", prior_correction=True).estimate(rows)
    plain = ShareEstimator(card, "cc", prior_correction=False).estimate(rows)
    assert corrected.shares[LABELS.index("happy")] == 1.0
    assert corrected.shares.argmax() == int(np.argmax(correct(rows, training_prior(card))[0]))
    assert plain.shares[LABELS.index("happy")] == 0.0

"""Class-prior correction: from a balanced-prior model to the classes' natural frequencies.

A model trained with class weights w answers as if the classes had the prior π·w (π: the
training split's class shares), not π. Multiplying its probabilities by π / (π·w) = 1/w and
renormalising gives probabilities under the natural prior (Saerens et al. 2002):
balanced weights (w ∝ 1/π, implied prior uniform) → multiply by π; square-root weights
(w ∝ 1/√π, implied prior ∝ √π) → multiply by √π; no weights → nothing to correct.
Its effect on the default model: docs/RESULTS.md.
"""

from __future__ import annotations

import logging

import numpy as np

from ..contract.card import ModelCard

log = logging.getLogger(__name__)


#: The correction factor's power of the training prior, by ``training.class_weights``.
CORRECTION_POWER = {"balanced": 1.0, "sqrt": 0.5}


def training_prior(card: ModelCard) -> np.ndarray | None:
    """The factor to correct ``card``'s model with (normalised), or None when it needs none.

    π for a model trained with balanced class weights (``training.class_weights``), √π for
    square-root weights; None for unweighted training (its outputs already carry π) or a card
    without a training class prior.
    """
    prior = card.class_prior
    power = CORRECTION_POWER.get(card.training.get("class_weights"))
    if prior is None or power is None:
        return None
    factor = np.asarray(prior, np.float32) ** power
    return factor / factor.sum()


def correct(probs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``probs`` (N, C) re-weighted by ``prior`` (C,) and renormalised per row."""
    weighted = np.asarray(probs, np.float32) * prior
    total = weighted.sum(axis=-1, keepdims=True)
    # A row with no mass on any class of non-zero prior is left as it was.
    return np.where(total > 0, weighted / np.where(total > 0, total, 1.0), probs)


def prior_for_run(card: ModelCard, enabled: bool) -> np.ndarray | None:
    """The prior a run corrects with: None when switched off or the card gives none."""
    if not enabled:
        return None
    prior = training_prior(card)
    if prior is None:
        log.info(
            "no prior correction: the model card records no training class prior of a "
            "class-weighted model (probabilities are used as the model gives them)"
        )
    return prior

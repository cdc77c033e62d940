"""Share estimators: hand-computed cases, the constrained ACC solution, intervals, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from fer_edge.classify import shares
from fer_edge.classify.shares import ShareEstimator
from fer_edge.contract.labels import LABELS
from helpers.cards import int8_card

C = len(LABELS)


_card = int8_card


def _rows(*pairs) -> np.ndarray:
    """(count, row) pairs → a stack of probability rows."""
    return np.array([row for count, row in pairs for _ in range(count)], float)


# --- hand-computed cases (two classes) ----------------------------------------------------

M2 = np.array([[0.8, 0.2], [0.3, 0.7]])  # rows true, columns predicted


def test_cc_and_pcc_by_hand():
    probs = np.array([[0.6, 0.4], [0.3, 0.7], [0.8, 0.2]])
    np.testing.assert_allclose(shares.cc(probs), [2 / 3, 1 / 3])
    np.testing.assert_allclose(shares.pcc(probs), [1.7 / 3, 1.3 / 3])
    # weights: the second row counts three times
    np.testing.assert_allclose(shares.cc(probs, [1, 3, 1]), [2 / 5, 3 / 5])


def test_acc_inverts_the_confusion_by_hand():
    # 11 of 20 read as class 0: 0.8 π + 0.3 (1 - π) = 0.55  →  π = 0.5
    probs = _rows((11, [0.9, 0.1]), (9, [0.2, 0.8]))
    np.testing.assert_allclose(shares.acc(probs, M2), [0.5, 0.5], atol=1e-9)
    # counts instead of row shares give the same matrix
    np.testing.assert_allclose(shares.acc(probs, M2 * [[40], [60]]), [0.5, 0.5], atol=1e-9)


def test_acc_clips_to_the_simplex_where_the_inverse_goes_negative():
    # 2 of 10 read as class 0: the raw inverse says π = (0.2 - 0.3) / 0.5 = -0.2
    probs = _rows((2, [0.9, 0.1]), (8, [0.2, 0.8]))
    raw = np.linalg.solve(M2.T, shares.cc(probs))
    assert raw[0] < 0
    np.testing.assert_allclose(shares.acc(probs, M2), [0.0, 1.0], atol=1e-9)


def test_pacc_by_hand():
    mean_probs = np.array([[0.7, 0.3], [0.2, 0.8]])
    probs = _rows((1, [0.6, 0.4]), (1, [0.3, 0.7]))  # mean 0.45 = 0.7 π + 0.2 (1 - π) → π = 0.5
    np.testing.assert_allclose(shares.pacc(probs, mean_probs), [0.5, 0.5], atol=1e-9)


def test_em_is_the_fixed_point_of_saerens():
    probs = _rows((3, [0.8, 0.2]), (1, [0.2, 0.8]))
    prior = shares.em(probs, np.array([0.5, 0.5]))
    post = probs * prior
    post /= post.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(post.mean(axis=0), prior, atol=1e-6)
    assert prior[0] > shares.pcc(probs)[0]  # EM sharpens towards the majority
    # symmetric data under a uniform model prior stays uniform
    sym = _rows((2, [0.9, 0.1]), (2, [0.1, 0.9]))
    np.testing.assert_allclose(shares.em(sym, np.array([0.5, 0.5])), [0.5, 0.5], atol=1e-6)


def test_simplex_projection():
    np.testing.assert_allclose(shares.project_simplex([0.2, 0.3, 0.5])[0], [0.2, 0.3, 0.5])
    np.testing.assert_allclose(shares.project_simplex([2.0, 0.0, 0.0])[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(shares.project_simplex([0.5, 0.5, -1.0])[0], [0.5, 0.5, 0.0])


def test_constrained_acc_on_an_ill_conditioned_matrix():
    # classes 0 and 1 are read almost identically: the matrix is nearly singular
    m = np.array(
        [
            [0.50, 0.45, 0.05],
            [0.50 - 1e-6, 0.45 + 1e-6, 0.05],
            [0.05, 0.05, 0.90],
        ]
    )
    truth = np.array([0.3, 0.3, 0.4])
    observed = m.T @ truth + np.array([0.01, -0.01, 0.0])  # a little sampling noise
    raw = np.linalg.solve(m.T, observed)
    assert np.abs(raw).max() > 100  # the raw inverse explodes
    est = shares.simplex_lstsq(m, observed)
    assert est.min() >= 0 and est.sum() == pytest.approx(1.0)
    residual = np.linalg.norm(m.T @ est - observed)
    assert residual <= np.linalg.norm(m.T @ truth - observed) + 1e-9  # a true minimum
    assert est[2] == pytest.approx(0.4, abs=0.02)  # the well-read class is still right


def test_a_class_missing_from_calibration_is_assumed_read_correctly():
    m = np.array([[8, 2, 0], [0, 0, 0], [1, 1, 8]], float)
    np.testing.assert_allclose(shares.row_shares(m)[1], [0, 1, 0])


# --- the estimator with a card --------------------------------------------------------------


def _calibration(confusion: np.ndarray, sizes=("native",), scaling=None) -> dict:
    """A card calibration; ``scaling``: (temperature, bias) at every size, or none."""
    m = shares.row_shares(confusion)
    mean = 0.9 * m + 0.1 / (C - 1) * (1 - m)  # what :func:`_window`'s faces give on average
    extra = {} if scaling is None else {"temperature": scaling[0], "bias": list(scaling[1])}
    return {
        "source": "synthetic",
        "sizes": {
            s: {
                "n": int(confusion.sum()),
                "confusion": confusion.astype(int).tolist(),
                "mean_probs": mean.tolist(),
                **extra,
            }
            for s in sizes
        },
    }


def _window(n: int, rng: np.random.Generator, confusion: np.ndarray, mix: np.ndarray):
    """n faces drawn from ``mix``, each read as its class's confusion row says."""
    m = shares.row_shares(confusion)
    labels = rng.choice(C, size=n, p=mix)
    predicted = np.array([rng.choice(C, p=m[y]) for y in labels])
    probs = np.full((n, C), 0.1 / (C - 1))
    probs[np.arange(n), predicted] = 0.9
    return probs, np.bincount(labels, minlength=C) / n


CONFUSION = (np.eye(C) * 60 + 40 / C) * 10  # 60 % accurate, errors spread evenly


@pytest.mark.parametrize("method", ["acc", "pacc"])
def test_calibrated_estimate_beats_counting_on_a_lopsided_room(method):
    card = _card(calibration=_calibration(CONFUSION))
    mix = np.array([0.02, 0.02, 0.02, 0.2, 0.7, 0.02, 0.02])
    rng = np.random.default_rng(1)
    est = ShareEstimator(card, method, bootstrap=10)
    counted = ShareEstimator(card, "cc", bootstrap=10)
    errors = {"est": [], "cc": []}
    for _ in range(20):
        probs, truth = _window(200, rng, CONFUSION, mix)
        errors["est"].append(np.abs(est.estimate(probs).shares - truth).sum())
        errors["cc"].append(np.abs(counted.estimate(probs).shares - truth).sum())
    assert np.mean(errors["est"]) < 0.5 * np.mean(errors["cc"])


def test_intervals_hold_the_estimate_and_widen_with_fewer_faces():
    card = _card(calibration=_calibration(CONFUSION))
    estimator = ShareEstimator(card, "acc", bootstrap=200)
    rng = np.random.default_rng(2)
    mix = np.array([0.1, 0.05, 0.05, 0.3, 0.3, 0.1, 0.1])
    widths = {}
    for n in (10, 200):
        probs, _ = _window(n, rng, CONFUSION, mix)
        e = estimator.estimate(probs)
        assert e.method == "acc" and e.note is None
        assert (e.low <= e.shares + 1e-12).all() and (e.shares <= e.high + 1e-12).all()
        widths[n] = float((e.high - e.low).mean())
    assert widths[10] > 1.5 * widths[200]


def test_intervals_are_reproducible():
    card = _card(calibration=_calibration(CONFUSION))
    probs, _ = _window(30, np.random.default_rng(3), CONFUSION, np.full(C, 1 / C))
    a = ShareEstimator(card, "pacc").estimate(probs)
    b = ShareEstimator(card, "pacc").estimate(probs)
    np.testing.assert_array_equal(a.low, b.low)
    np.testing.assert_array_equal(a.high, b.high)


def test_a_card_without_calibration_falls_back_with_a_note(caplog):
    estimator = ShareEstimator(_card(), "acc")
    assert "calibration" in caplog.text
    probs, _ = _window(20, np.random.default_rng(4), CONFUSION, np.full(C, 1 / C))
    e = estimator.estimate(probs)
    assert e.method == shares.FALLBACK
    assert "calibration" in e.note and "fer-train calibrate" in e.note
    np.testing.assert_allclose(e.shares, shares.pcc(probs))


def test_too_few_tracks_fall_back_with_a_note():
    card = _card(calibration=_calibration(CONFUSION))
    probs, _ = _window(3, np.random.default_rng(5), CONFUSION, np.full(C, 1 / C))
    e = ShareEstimator(card, "acc", min_tracks=5).estimate(probs)
    assert e.method == shares.FALLBACK and "3 readable tracks" in e.note


def test_prior_correction_applies_to_counting_only():
    prior = dict(zip(LABELS, [0.1, 0.02, 0.1, 0.3, 0.3, 0.1, 0.08], strict=True))
    card = _card(
        training={"class_prior": prior, "class_weights": "balanced"},
        calibration=_calibration(CONFUSION),
    )
    probs = np.full((10, C), 1 / C)
    probs[:, 3] += 0.01  # nearly flat: the prior decides
    probs /= probs.sum(axis=1, keepdims=True)
    with_prior = ShareEstimator(card, "pcc", prior_correction=True).estimate(probs)
    without = ShareEstimator(card, "pcc", prior_correction=False).estimate(probs)
    assert with_prior.shares[1] < without.shares[1]  # disgust is rare in training
    np.testing.assert_allclose(without.shares, shares.pcc(probs))
    acc_on = ShareEstimator(card, "acc", prior_correction=True).estimate(probs)
    acc_off = ShareEstimator(card, "acc", prior_correction=False).estimate(probs)
    np.testing.assert_allclose(acc_on.shares, acc_off.shares)


def test_faces_are_read_at_the_nearest_calibrated_size():
    perfect, blurred = np.eye(C) * 100, np.full((C, C), 100 / C) + np.eye(C) * 10
    cal = _calibration(perfect, sizes=("native", "48"))
    cal["sizes"]["24"] = _calibration(blurred)["sizes"]["native"]
    card = _card(calibration=cal)
    calibration = shares.Calibration.from_card(card)
    assert calibration.sizes == (24, 48, None)
    index = calibration.size_index(np.array([20.0, 30.0, 40.0, 100.0]), 4)
    assert index.tolist() == [0, 0, 1, 2]
    m_small = calibration.matrices("acc", np.array([0, 0]))
    m_large = calibration.matrices("acc", np.array([2, 2]))
    np.testing.assert_allclose(m_large, np.eye(C))
    assert m_small[0, 0] < 0.5
    mixed = calibration.matrices("acc", np.array([0, 2]))
    np.testing.assert_allclose(mixed, (m_small + m_large) / 2)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown estimator"):
        ShareEstimator(_card(), "median")


# --- bayes: the window's composition under the room's recent mix ---------------------------

IDENTITY = (1.0, [0.0] * C)  # a model whose probabilities need no rescaling


def _calibrated_window(n: int, rng: np.random.Generator, mix: np.ndarray):
    """n faces drawn from ``mix``, read as :data:`CONFUSION` says, each with the posterior of
    its reading under an even class mix (calibrated probabilities, as the card's are)."""
    m = shares.row_shares(CONFUSION)
    labels = rng.choice(C, size=n, p=mix)
    predicted = np.array([rng.choice(C, p=m[y]) for y in labels])
    probs = m[:, predicted].T
    return probs / probs.sum(axis=1, keepdims=True), np.bincount(labels, minlength=C) / n


def test_rescale_by_hand():
    p = np.array([[0.64, 0.36], [0.5, 0.5]])
    np.testing.assert_allclose(shares.rescale(p, 2.0, [0.0, 0.0])[0], [0.8 / 1.4, 0.6 / 1.4])
    np.testing.assert_allclose(
        shares.rescale(p, np.array([1.0, 1.0]), [np.log(3), 0.0])[1], [0.75, 0.25]
    )


def test_the_map_mix_of_certain_faces_is_their_count_plus_one_pseudo_face():
    like = np.eye(3)[[0, 0, 0, 1]] + 1e-12
    base = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(shares.map_mix(like, base), (np.array([3, 1, 0]) + base) / 5)


def test_composition_draws_of_certain_faces_are_their_composition():
    like = np.eye(C)[[4, 4, 4, 3, 0]] + 1e-12
    draws = shares.composition_draws(like, np.ones(C), np.random.default_rng(0))
    np.testing.assert_allclose(
        draws, np.tile(np.bincount([4, 4, 4, 3, 0], minlength=C) / 5, (300, 1))
    )


def test_composition_draws_of_uninformative_faces_follow_the_prior():
    prior = np.array([0.05, 0.05, 0.05, 0.25, 0.5, 0.05, 0.05])
    draws = shares.composition_draws(np.ones((60, C)), 1000 * prior, np.random.default_rng(0))
    np.testing.assert_allclose(draws.mean(axis=0), prior, atol=0.02)


def _room(estimator, mix, windows, rng, n=25):
    """Errors (L1) of ``estimator`` and of counting over a room's windows in sequence."""
    errors = {"est": [], "cc": [], "inside": []}
    for _ in range(windows):
        probs, truth = _calibrated_window(n, rng, mix)
        e = estimator.estimate(probs)
        errors["est"].append(np.abs(e.shares - truth).sum())
        errors["cc"].append(np.abs(shares.cc(probs) - truth).sum())
        errors["inside"].append(((e.low <= truth + 1e-9) & (truth <= e.high + 1e-9)).mean())
    return {k: float(np.mean(v)) for k, v in errors.items()}


@pytest.mark.parametrize(
    "mix",
    [
        np.array([0.02, 0.02, 0.02, 0.2, 0.7, 0.02, 0.02]),  # a lesson
        np.array([0.05, 0.0, 0.05, 0.0, 0.3, 0.6, 0.0]),  # a sad room, three classes absent
    ],
)
def test_bayes_beats_counting_and_its_intervals_hold_the_truth(mix):
    card = _card(calibration=_calibration(CONFUSION, scaling=IDENTITY))
    estimator = ShareEstimator(card, "bayes")
    result = _room(estimator, mix, 30, np.random.default_rng(6))
    assert result["est"] < 0.6 * result["cc"]
    assert result["inside"] >= 0.85


def test_bayes_learns_the_room_and_reset_forgets_it():
    card = _card(calibration=_calibration(CONFUSION, scaling=IDENTITY))
    estimator = ShareEstimator(card, "bayes")
    start = estimator.room_mix()
    np.testing.assert_allclose(start, np.full(C, 1 / C))  # the calibration faces' mix
    happy = LABELS.index("happy")
    mix = np.full(C, 0.05)
    mix[happy] = 0.7
    _room(estimator, mix, 5, np.random.default_rng(7))
    assert estimator.room_mix().argmax() == happy and estimator.room_mix()[happy] > 0.5
    # The same faces read after the room is known come out happier than in a new room.
    probs, _ = _calibrated_window(8, np.random.default_rng(8), np.full(C, 1 / C))
    known = estimator.estimate(probs).shares[happy]
    estimator.reset()
    np.testing.assert_allclose(estimator.room_mix(), start)
    assert known > estimator.estimate(probs).shares[happy]


def test_bayes_intervals_widen_with_fewer_faces_and_are_reproducible():
    card = _card(calibration=_calibration(CONFUSION, scaling=IDENTITY))
    mix = np.array([0.1, 0.05, 0.05, 0.3, 0.3, 0.1, 0.1])
    widths = {}
    for n in (5, 150):
        probs, _ = _calibrated_window(n, np.random.default_rng(9), mix)
        a = ShareEstimator(card, "bayes").estimate(probs)
        b = ShareEstimator(card, "bayes").estimate(probs)
        np.testing.assert_array_equal(a.shares, b.shares)
        np.testing.assert_array_equal(a.high, b.high)
        assert a.method == "bayes" and a.note is None
        assert (a.low <= a.shares).all() and (a.shares <= a.high).all()
        assert a.shares.sum() == pytest.approx(1.0)
        widths[n] = float((a.high - a.low).mean())
    assert widths[5] > 2 * widths[150]


def test_bayes_on_a_card_without_temperature_scaling_falls_back_with_a_note(caplog):
    card = _card(calibration=_calibration(CONFUSION))
    estimator = ShareEstimator(card, "bayes")
    assert "temperature scaling" in caplog.text
    probs, _ = _calibrated_window(20, np.random.default_rng(10), np.full(C, 1 / C))
    e = estimator.estimate(probs)
    assert e.method == shares.FALLBACK and "fer-train calibrate" in e.note
    np.testing.assert_allclose(e.shares, shares.pcc(probs))


def test_bayes_takes_no_weights():
    card = _card(calibration=_calibration(CONFUSION, scaling=IDENTITY))
    probs, _ = _calibrated_window(10, np.random.default_rng(11), np.full(C, 1 / C))
    with pytest.raises(ValueError, match="no weights"):
        ShareEstimator(card, "bayes").estimate(probs, weights=np.ones(10))

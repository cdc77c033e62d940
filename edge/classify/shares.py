"""How face probabilities become a room's class shares: prevalence estimation, in one place.

Counting each face's top class ("classify and count", ``cc``) inherits every bias of the
classifier: a model that reads a fifth of neutral faces as fear reports fear whatever the room
shows. The estimators here (Forman 2008; Saerens, Latinne & Decaestecker 2002; Bella et al.
2010; the QuaPy library's names) take the probabilities of a window's faces, one row per track:

- ``cc``: the share of rows whose top class is each class;
- ``pcc``: the mean of the probabilities;
- ``acc``: the top-class shares q corrected by the confusion matrix M measured on labelled
  faces (M[i, j] = P(predicted j | true i)): the shares π on the simplex (π ≥ 0, Σπ = 1) that
  minimise ‖Mᵀπ − q‖² (a constrained least squares, never a raw inverse, which gives negative
  or exploding shares where M is ill-conditioned);
- ``pacc``: the same with the mean probability vector per true class and the mean probability;
- ``em`` (measured in bench/bench_shares.py, not offered to the daemon): the posteriors
  re-weighted to a new prior until that prior is their mean (Saerens et al.); it assumes the
  faces differ from the training data only in their mix, and on 15-30 faces it was no better
  than counting;
- ``bayes`` (the default): the window's faces are a sample of the room, and the shares asked
  for are that sample's composition. Each face's probabilities are first recalibrated at its
  size (bias-corrected temperature scaling, fitted on the card's labelled faces: Alexandari et
  al. 2020), which makes them likelihoods up to the calibration set's class mix. The window's
  mix gets a Dirichlet prior centred on the room's recent mix (the maximum a posteriori mix of
  the last :data:`ROOM_WINDOWS` windows' faces; the calibration set's mix before any) with the
  weight of :data:`ROOM_STRENGTH` faces, and a Gibbs sampler draws the faces' classes and the
  mix in turn; the shares are the mean composition of the drawn classes, the interval its 5th
  and 95th percentiles. Counting leans on the classifier's biases, and on 15-30 faces the
  other corrections trade that bias for noise; borrowing strength from the room's last
  windows, which show the same students, removes much of both (bench/bench_shares.py).

``cc`` and ``pcc`` use the posteriors under the training class prior where the model was
trained with class weights (``prior_correction``, :mod:`.prior`): this is the only place that
correction is applied. ``acc`` and ``pacc`` use the raw outputs, as their matrices do.

Each share comes with a 90 % interval: percentiles of the estimate over bootstrap resamples of
the tracks, each with a matrix redrawn from its own sampling error (Dirichlet rows with the
calibration counts), seeded so that the same window gives the same interval.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..contract.card import ModelCard
from .options import DEFAULT_ESTIMATOR, ESTIMATORS
from .prior import correct, training_prior

log = logging.getLogger(__name__)

#: The daemon's choices (:mod:`.options`). :func:`em` is measured by bench/bench_shares.py but
#: not offered: on classroom-sized windows it was further from the truth than counting.
METHODS = ESTIMATORS
#: Methods that need the card's calibration (a confusion matrix, mean probabilities; for
#: ``bayes`` each size's temperature scaling too).
CALIBRATED = ("acc", "pacc", "bayes")
DEFAULT_METHOD = DEFAULT_ESTIMATOR
#: Fewer tracks than this in a window: ``acc``/``pacc`` fall back to ``FALLBACK`` (``bayes``
#: does not: with few faces its estimate leans on the room's recent mix, its interval wide).
MIN_TRACKS = 5
FALLBACK = "pcc"
LEVEL = 0.90
BOOTSTRAP = 200
#: Faces this wide (px) or wider use the calibration at the dataset's own ("native") size.
NATIVE_PX = 64
#: ``bayes``: the windows the room's recent mix is measured over, and that mix's weight in
#: faces (chosen on FER+ Valid: bench/bench_shares.py).
ROOM_WINDOWS = 30
ROOM_STRENGTH = 20.0
#: ``bayes``: Gibbs sweeps per window, the first :data:`BURN_IN` of them discarded.
SWEEPS = 400
BURN_IN = 100
#: Probabilities below this are read as this (an int8 output's quantum is 1/256).
PROB_FLOOR = 1 / 512


# --- the estimators: pure functions of (N, C) probabilities ---------------------------------


def _weights(n: int, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    return w / w.sum()


def cc(probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Classify and count: each class's (weighted) share of the rows' top classes."""
    probs = np.asarray(probs, float)
    top = np.eye(probs.shape[1])[probs.argmax(axis=1)]
    return _weights(len(probs), weights) @ top


def pcc(probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Probabilistic classify and count: the (weighted) mean probability vector."""
    probs = np.asarray(probs, float)
    mean = _weights(len(probs), weights) @ probs
    return mean / mean.sum()


def acc(probs: np.ndarray, confusion: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Adjusted classify and count: :func:`cc` corrected by ``confusion`` (rows true, columns
    predicted; counts or row shares), solved on the simplex."""
    return simplex_lstsq(row_shares(confusion), cc(probs, weights))


def pacc(
    probs: np.ndarray, mean_probs: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Probabilistic ACC: :func:`pcc` corrected by the mean probability vector of each true
    class (rows true), solved on the simplex."""
    return simplex_lstsq(row_shares(mean_probs), pcc(probs, weights))


def em(
    probs: np.ndarray,
    model_prior: np.ndarray,
    weights: np.ndarray | None = None,
    iterations: int = 1000,
    tol: float = 1e-8,
) -> np.ndarray:
    """Saerens–Latinne–Decaestecker: the prior π with π = mean of the posteriors re-weighted
    from ``model_prior`` (the prior the model's outputs assume) to π."""
    probs = np.asarray(probs, float)
    base = np.asarray(model_prior, float) / np.sum(model_prior)
    w = _weights(len(probs), weights)
    prior = base.copy()
    for _ in range(iterations):
        post = probs * (prior / np.where(base > 0, base, 1.0))
        post /= np.maximum(post.sum(axis=1, keepdims=True), 1e-300)
        new = w @ post
        if np.abs(new - prior).max() < tol:
            return new
        prior = new
    return prior


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, float)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def rescale(probs: np.ndarray, temperature, bias) -> np.ndarray:
    """Bias-corrected temperature scaling: softmax(log p / T + b), row by row (``temperature``
    a scalar or one per row, ``bias`` (C,) or one row per row)."""
    logp = np.log(np.clip(np.asarray(probs, float), PROB_FLOOR, 1.0))
    t = np.asarray(temperature, float)
    return softmax(logp / (t[..., None] if t.ndim else t) + np.asarray(bias, float))


def map_mix(
    likelihoods: np.ndarray,
    base: np.ndarray,
    start: np.ndarray | None = None,
    iterations: int = 500,
    tol: float = 1e-7,
) -> np.ndarray:
    """The most probable class mix of faces with class ``likelihoods`` (N, C), under a
    Dirichlet(1 + ``base``) prior (one pseudo-face spread as ``base``): EM from ``start``
    (default ``base``)."""
    base = np.asarray(base, float) / np.sum(base)
    mix = base.copy() if start is None else np.asarray(start, float)
    for _ in range(iterations):
        post = likelihoods * mix
        post /= np.maximum(post.sum(axis=1, keepdims=True), 1e-300)
        new = post.sum(axis=0) + base
        new /= new.sum()
        if np.abs(new - mix).max() < tol:
            return new
        mix = new
    return mix


def composition_draws(
    likelihoods: np.ndarray,
    alpha: np.ndarray,
    rng: np.random.Generator,
    sweeps: int = SWEEPS,
    burn_in: int = BURN_IN,
) -> np.ndarray:
    """Draws (sweeps - burn_in, C) of the composition of faces with class ``likelihoods``
    (N, C) whose mix has a Dirichlet(``alpha``) prior: Gibbs, classes then mix."""
    like = np.asarray(likelihoods, float)
    n, c = like.shape
    alpha = np.maximum(np.asarray(alpha, float), 1e-3)
    mix = alpha / alpha.sum()
    out = np.empty((sweeps - burn_in, c))
    uniform = rng.random((sweeps, n, 1))  # all the sweeps' random numbers at once
    last = c - 1
    for sweep in range(sweeps):
        cum = np.cumsum(like * mix, axis=1)
        classes = np.count_nonzero(cum < uniform[sweep] * cum[:, last:], axis=1)
        counts = np.bincount(np.minimum(classes, last), minlength=c)
        gamma = rng.standard_gamma(alpha + counts)  # a Dirichlet draw
        mix = gamma / gamma.sum()
        if sweep >= burn_in:
            out[sweep - burn_in] = counts / n
    return out


def row_shares(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to one; an all-zero row (a class never seen in calibration) becomes
    the identity row (that class is assumed read correctly)."""
    m = np.asarray(matrix, float)
    sums = m.sum(axis=-1, keepdims=True)
    eye = np.broadcast_to(np.eye(m.shape[-1]), m.shape)
    return np.where(sums > 0, m / np.where(sums > 0, sums, 1.0), eye)


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``v`` onto the probability simplex (Duchi 2008)."""
    v = np.atleast_2d(np.asarray(v, float))
    u = -np.sort(-v, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    k = np.arange(1, v.shape[1] + 1)
    rho = (u - css / k > 0).sum(axis=1)  # >= 1 always
    theta = css[np.arange(len(v)), rho - 1] / rho
    return np.maximum(v - theta[:, None], 0.0)


def simplex_lstsq(
    matrix: np.ndarray, observed: np.ndarray, iterations: int = 5000, tol: float = 1e-12
) -> np.ndarray:
    """argmin over the simplex of ‖matrixᵀ π − observed‖² (accelerated projected gradient).

    ``matrix`` (C, C) or a stack (B, C, C), ``observed`` (C,) or (B, C); returns (C,) or (B, C).
    Convex, so the iteration reaches the one minimum (any minimiser where it is not unique).
    """
    m = np.asarray(matrix, float)
    q = np.asarray(observed, float)
    single = m.ndim == 2
    m, q = np.atleast_3d(m) if not single else m[None], np.atleast_2d(q)
    gram = m @ np.swapaxes(m, 1, 2)  # M Mᵀ (B, C, C)
    target = np.einsum("bij,bj->bi", m, q)  # M q
    lipschitz = np.maximum(np.linalg.eigvalsh(gram)[:, -1], 1e-12)[:, None]
    x = y = np.full(q.shape, 1.0 / q.shape[1])
    t = 1.0
    for _ in range(iterations):
        grad = np.einsum("bij,bj->bi", gram, y) - target
        x_new = project_simplex(y - grad / lipschitz)
        t_new = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        done = np.abs(x_new - x).max() < tol
        x, t = x_new, t_new
        if done:
            break
    return x[0] if single else x


# --- the card's calibration ----------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """A model's behaviour on labelled faces at several face sizes (from its card).

    ``sizes``: the face widths in px (None: the dataset's own size, "native"); ``confusion``
    (S, C, C) counts, rows true; ``mean_probs`` (S, C, C), rows true; ``n`` faces per size.
    """

    sizes: tuple[int | None, ...]
    confusion: np.ndarray
    mean_probs: np.ndarray
    n: tuple[int, ...]
    source: str = ""
    #: Per size, the bias-corrected temperature scaling (``bayes``); None where the card
    #: predates it.
    temperature: np.ndarray | None = None
    bias: np.ndarray | None = None

    @classmethod
    def from_card(cls, card: ModelCard) -> Calibration | None:
        data = card.calibration
        if not data:
            return None
        keys = sorted(data["sizes"], key=_size_order)
        rows = [data["sizes"][k] for k in keys]
        return cls(
            sizes=tuple(None if k == "native" else int(k) for k in keys),
            confusion=np.array([r["confusion"] for r in rows], float),
            mean_probs=np.array([r["mean_probs"] for r in rows], float),
            n=tuple(int(r["n"]) for r in rows),
            source=str(data.get("source", "")),
            temperature=(
                np.array([r["temperature"] for r in rows], float)
                if all("temperature" in r for r in rows)
                else None
            ),
            bias=(
                np.array([r["bias"] for r in rows], float)
                if all("bias" in r for r in rows)
                else None
            ),
        )

    @property
    def scaled(self) -> bool:
        """Whether the card carries each size's temperature scaling (``bayes`` needs it)."""
        return self.temperature is not None and self.bias is not None

    @property
    def class_mix(self) -> np.ndarray:
        """The calibration faces' class mix (every class at least a little)."""
        counts = self.confusion.sum(axis=2).max(axis=0)
        mix = np.maximum(counts, 0.5)
        return mix / mix.sum()

    def likelihoods(self, probs: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Each face's class likelihoods (up to a factor): its probabilities rescaled at its
        size ``index``, over the calibration faces' class mix."""
        scaled = rescale(probs, self.temperature[index], self.bias[index])
        return scaled / self.class_mix

    def size_index(self, face_px: np.ndarray | None, count: int) -> np.ndarray:
        """The calibrated size each face is read at: the nearest (in ratio) below
        :data:`NATIVE_PX`, the native size from there on (or without sizes)."""
        numeric = [(i, s) for i, s in enumerate(self.sizes) if s is not None]
        native = [i for i, s in enumerate(self.sizes) if s is None]
        fallback = native[0] if native else max(numeric, key=lambda p: p[1])[0]
        if face_px is None:
            return np.full(count, fallback)
        px = np.asarray(face_px, float)
        if not numeric:
            return np.full(count, fallback)
        ratios = np.abs(np.log(np.maximum(px, 1.0)[:, None] / np.array([s for _, s in numeric])))
        nearest = np.array([i for i, _ in numeric])[ratios.argmin(axis=1)]
        return np.where((px >= NATIVE_PX) & bool(native), fallback, nearest)

    def matrices(self, kind: str, index: np.ndarray, rng: np.random.Generator | None = None):
        """The window's matrix (C, C) for faces read at the sizes ``index``: the mean of their
        sizes' row-share matrices. With ``rng``, each size's matrix is first redrawn from its
        sampling error (Dirichlet rows: the counts, or n_i × the mean probabilities, plus 1/2).
        """
        base = self.confusion if kind == "acc" else self.mean_probs
        if rng is not None:
            if kind != "acc":
                base = base * self.confusion.sum(axis=2, keepdims=True)
            base = rng.gamma(base + 0.5)
        shares = row_shares(base)
        mix = np.bincount(index, minlength=len(self.sizes)) / len(index)
        return np.einsum("s,sij->ij", mix, shares)


def _size_order(key: str) -> float:
    return math.inf if key == "native" else float(key)


# --- a window's estimate -------------------------------------------------------------------


@dataclass(frozen=True)
class ShareEstimate:
    """A window's shares, their interval bounds (``low``/``high``, per class), the method
    used and, where it is not the one asked for, why (``note``)."""

    method: str
    shares: np.ndarray
    low: np.ndarray
    high: np.ndarray
    note: str | None = None


class ShareEstimator:
    """Turns a window's per-track probabilities into shares with intervals, by ``method``.

    ``prior_correction`` re-weights the posteriors of a class-weighted model to its training
    prior for ``cc`` and ``pcc`` (:mod:`.prior`). A calibrated method on a card without a
    calibration, or ``acc``/``pacc`` on a window with fewer than :data:`MIN_TRACKS` tracks,
    falls back to :data:`FALLBACK`, and the estimate says why. ``bayes`` remembers the last
    ``room_windows`` windows' faces (as likelihoods, in memory only) for the room's mix;
    :meth:`reset` forgets them.
    """

    def __init__(
        self,
        card: ModelCard,
        method: str = DEFAULT_METHOD,
        prior_correction: bool = True,
        bootstrap: int = BOOTSTRAP,
        level: float = LEVEL,
        seed: int = 0,
        min_tracks: int = MIN_TRACKS,
        room_windows: int = ROOM_WINDOWS,
        room_strength: float = ROOM_STRENGTH,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown estimator {method!r}; choose one of {', '.join(METHODS)}")
        self.method, self.bootstrap, self.level, self.seed = method, bootstrap, level, seed
        self.min_tracks, self.room_strength = min_tracks, room_strength
        self.room: deque[np.ndarray] = deque(maxlen=room_windows)
        self._room_mix: np.ndarray | None = None
        self.calibration = Calibration.from_card(card)
        factor = training_prior(card)
        self.prior = factor if prior_correction else None
        # The prior the raw outputs assume (for em): the training prior over the correction
        # factor (uniform for balanced class weights).
        natural = np.asarray(card.class_prior or np.ones(len(card.labels)), float)
        implied = natural / factor if factor is not None else natural
        self.model_prior = implied / implied.sum()
        self.note = None
        if method in CALIBRATED and self.calibration is None:
            self.note = (
                f"{method} needs the model card's calibration (a confusion matrix), which this "
                f"card lacks (run fer-train calibrate); {FALLBACK} used"
            )
            log.warning("%s", self.note)
        elif method == "bayes" and not self.calibration.scaled:
            self.note = (
                "bayes needs each calibrated size's temperature scaling, which this model card "
                f"lacks (run fer-train calibrate again); {FALLBACK} used"
            )
            log.warning("%s", self.note)

    @property
    def prior_correction(self) -> bool:
        """Whether cc/pcc re-weight the posteriors to the training prior."""
        return self.prior is not None

    def _method(self, tracks: int) -> tuple[str, str | None]:
        if self.method not in CALIBRATED:
            return self.method, None
        if self.note:
            return FALLBACK, self.note
        if self.method == "bayes":
            return self.method, None
        if tracks < self.min_tracks:
            return FALLBACK, (
                f"{tracks} readable tracks, fewer than the {self.min_tracks} {self.method} needs;"
                f" {FALLBACK} used"
            )
        return self.method, None

    def point(
        self,
        method: str,
        probs: np.ndarray,
        index: np.ndarray | None,
        weights: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """One estimate by ``method`` (faces read at calibrated sizes ``index``)."""
        if method in ("cc", "pcc"):
            p = correct(probs, self.prior) if self.prior is not None else probs
            return cc(p, weights) if method == "cc" else pcc(p, weights)
        matrix = self.calibration.matrices(method, index, rng)
        return acc(probs, matrix, weights) if method == "acc" else pacc(probs, matrix, weights)

    def estimate(
        self,
        probs: np.ndarray,
        face_px: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> ShareEstimate:
        """Shares and intervals for a window: one row of ``probs`` per track (its mean
        probabilities over the window), ``face_px`` its face width (for the calibration's
        face size), ``weights`` its weight (default: one each)."""
        probs = np.asarray(probs, float)
        n = len(probs)
        if n == 0:
            raise ValueError("no tracks to estimate shares from")
        method, note = self._method(n)
        index = self.calibration.size_index(face_px, n) if self.calibration else None
        rng = np.random.default_rng(self.seed)
        if method == "bayes":
            if weights is not None:
                raise ValueError("bayes estimates a sample of faces: one row a face, no weights")
            return self._bayes(self.calibration.likelihoods(probs, index), rng)
        shares = self.point(method, probs, index, weights)
        draws = np.empty((self.bootstrap, probs.shape[1]))
        calibrated = method in CALIBRATED
        if calibrated:  # all resamples' matrices and observed shares, solved at once
            picks = rng.integers(0, n, size=(self.bootstrap, n))
            mats, observed = [], []
            for pick in picks:
                mats.append(row_shares(self.calibration.matrices(method, index[pick], rng)))
                w = None if weights is None else np.asarray(weights)[pick]
                observed.append((cc if method == "acc" else pcc)(probs[pick], w))
            draws = simplex_lstsq(np.array(mats), np.array(observed))
        else:
            for b in range(self.bootstrap):
                pick = rng.integers(0, n, size=n)
                w = None if weights is None else np.asarray(weights)[pick]
                draws[b] = self.point(method, probs[pick], None, w)
        tail = (1.0 - self.level) / 2.0
        low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0)
        return ShareEstimate(
            method, shares, np.minimum(low, shares), np.maximum(high, shares), note
        )

    def room_mix(self) -> np.ndarray:
        """The room's recent mix: the most probable mix of the remembered windows' faces
        (the calibration faces' mix while there are none)."""
        base = self.calibration.class_mix
        if not self.room:
            return base
        # From the last window's room mix: it moves little from one window to the next.
        self._room_mix = map_mix(np.concatenate(self.room), base, self._room_mix)
        return self._room_mix

    def reset(self) -> None:
        """Forget the room's recent windows (a new room, a moved camera)."""
        self.room.clear()
        self._room_mix = None

    def _bayes(self, likelihoods: np.ndarray, rng: np.random.Generator) -> ShareEstimate:
        draws = composition_draws(likelihoods, self.room_strength * self.room_mix(), rng)
        self.room.append(likelihoods)
        tail = (1.0 - self.level) / 2.0
        low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0)
        shares = draws.mean(axis=0)
        return ShareEstimate("bayes", shares, np.minimum(low, shares), np.maximum(high, shares))

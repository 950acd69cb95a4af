"""Detector evaluation metrics, shared by `python -m detectors.evaluate image|speech|video` and training.

Synthetic is the positive class, scores are P(synthetic). Every figure has a bootstrap 95 % interval:
`bootstrap(metric, y, scores)` resamples real and synthetic items separately (stratified, so each
resample keeps both classes) and answers the 2.5th and 97.5th percentiles. `Figures` is what a model
card quotes for one comparison (one real source against one generator set).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(allv.size)
    _, first, counts = np.unique(allv[order], return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0 + 1, counts)
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def equal_error_rate(y: np.ndarray, scores: np.ndarray) -> float:
    """The error rate where the false-positive and false-negative rates are equal."""
    pos, neg = np.sort(scores[y == 1]), np.sort(scores[y == 0])
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    t = np.unique(scores)
    fpr = 1.0 - np.searchsorted(neg, t, side="left") / neg.size  # P(neg >= t)
    fnr = np.searchsorted(pos, t, side="left") / pos.size  # P(pos < t)
    i = int(np.argmin(np.abs(fpr - fnr)))
    return float((fpr[i] + fnr[i]) / 2)


def tpr_at_fpr(y: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """The share of synthetic items flagged at the lowest threshold whose false-positive rate on the
    real items is at most `max_fpr` (a threshold strictly above every real score when needed)."""
    pos, neg = scores[y == 1], np.sort(scores[y == 0])[::-1]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    allowed = int(np.floor(max_fpr * neg.size + 1e-9))  # real items that may score at or above it
    # Threshold just above the (allowed+1)-th highest real score.
    t = np.nextafter(neg[allowed], np.inf) if allowed < neg.size else -np.inf
    return float(np.mean(pos >= t))


def confusion(y: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """[[TN, FP], [FN, TP]] at `threshold` (score >= threshold is flagged)."""
    pred = scores >= threshold
    return np.array([[np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))],
                     [np.sum(~pred & (y == 1)), np.sum(pred & (y == 1))]])


def fpr_at(y: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    neg = scores[y == 0]
    return float(np.mean(neg >= threshold)) if neg.size else float("nan")


def tpr_at(y: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    pos = scores[y == 1]
    return float(np.mean(pos >= threshold)) if pos.size else float("nan")


def bootstrap(metric: Metric, y: np.ndarray, scores: np.ndarray, n: int = 1000,
              seed: int = 0) -> tuple[float, float]:
    """Stratified percentile bootstrap 95 % interval of `metric(y, scores)`."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    values = []
    for _ in range(n):
        idx = np.concatenate([rng.choice(pos, pos.size) if pos.size else pos,
                              rng.choice(neg, neg.size) if neg.size else neg])
        v = metric(y[idx], scores[idx])
        if not np.isnan(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
            + (n - i) * math.log1p(-p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def _bisect(f: Callable[[float], bool]) -> float:
    lo, hi = 0.0, 1.0  # f(lo) is True, f(hi) is False
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) else (lo, mid)
    return (lo + hi) / 2


def rate_interval(k: int, n: int) -> tuple[float, float]:
    """Exact (Clopper–Pearson) 95 % interval of a rate k/n: unlike the bootstrap it is not [0, 0] when
    no error was seen (0 of 183 real photos flagged still allows up to 2 %)."""
    if n == 0:
        return float("nan"), float("nan")
    lo = 0.0 if k == 0 else _bisect(lambda p: 1.0 - _binom_cdf(k - 1, n, p) < 0.025)
    hi = 1.0 if k == n else _bisect(lambda p: _binom_cdf(k, n, p) > 0.025)
    return lo, hi


@dataclass
class Figures:
    """The figures of one comparison, each as (value, low, high)."""

    title: str
    n_real: int
    n_synthetic: int
    auc: tuple[float, float, float]
    eer: tuple[float, float, float]
    tpr_1: tuple[float, float, float]
    tpr_01: tuple[float, float, float]
    at_thresholds: list[dict[str, object]] = field(default_factory=list)


def figures(title: str, y: np.ndarray, scores: np.ndarray, thresholds: dict[str, float],
            n_boot: int = 1000) -> Figures:
    def with_ci(metric: Metric) -> tuple[float, float, float]:
        return (metric(y, scores), *bootstrap(metric, y, scores, n_boot))

    rows: list[dict[str, object]] = []
    for name, t in thresholds.items():
        cm = confusion(y, scores, t)
        (tn, fp), (fn, tp) = cm.tolist()
        rows.append({"name": name, "threshold": t, "tn": tn, "fp": fp, "fn": fn, "tp": tp,
                     "fpr": (fp / max(tn + fp, 1), *rate_interval(fp, tn + fp)),
                     "tpr": (tp / max(tp + fn, 1), *rate_interval(tp, tp + fn))})
    return Figures(title, int(np.sum(y == 0)), int(np.sum(y == 1)), with_ci(roc_auc), with_ci(equal_error_rate),
                   with_ci(lambda a, b: tpr_at_fpr(a, b, 0.01)), with_ci(lambda a, b: tpr_at_fpr(a, b, 0.001)),
                   rows)


def _ci(v: tuple[float, float, float], digits: int = 3) -> str:
    return f"{v[0]:.{digits}f} [{v[1]:.{digits}f}, {v[2]:.{digits}f}]"


def format_figures(f: Figures) -> str:
    lines = [f"{f.title}: real {f.n_real}, synthetic {f.n_synthetic}",
             f"  ROC AUC {_ci(f.auc)}   EER {_ci(f.eer)}",
             f"  TPR at 1% FPR {_ci(f.tpr_1)}   TPR at 0.1% FPR {_ci(f.tpr_01)}"]
    for r in f.at_thresholds:
        lines.append(f"  at {r['name']} threshold {float(r['threshold']):.4f}: [[TN {r['tn']} FP {r['fp']}] "  # type: ignore[arg-type]
                     f"[FN {r['fn']} TP {r['tp']}]]  FPR {_ci(r['fpr'])}  TPR {_ci(r['tpr'])}")  # type: ignore[arg-type]
    return "\n".join(lines)


def flagged_per_group(groups: Sequence[str], scores: np.ndarray, threshold: float) -> dict[str, tuple[int, int]]:
    """group → (flagged, total) at `threshold`."""
    g = np.asarray(groups)
    return {str(k): (int(np.sum(scores[g == k] >= threshold)), int(np.sum(g == k))) for k in sorted(set(g.tolist()))}

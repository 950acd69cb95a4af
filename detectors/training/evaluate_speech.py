"""Speech evaluation: the shipped model on its held-out split and on `eval-neural-speech`.

    python -m detectors.evaluate speech [--quick] [--record]

Every clip goes through the service's own `SpeechDetector` (decode → 16 kHz front end → ONNX), so what is
measured is what ships. Printed per comparison: ROC AUC, EER, TPR at 1 % and 0.1 % FPR (bootstrap 95 %
intervals, 1,000 resamples stratified by class), and the confusion matrix at the viewer and review
thresholds with Wilson 95 % intervals on the rates. Real media is always the held-out real speakers
(FSDD lucas, nicolas; LJSpeech LJ001-0021 … -0032 as WAV and as 32 kbit/s MP3).
`--record` writes the evaluation summary and `viewer_facing` into the model json.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from detectors.base import DetectorError, MediaInput

# The card's bar for showing viewers anything: measured on held-out real speech and on generators the
# model never saw (eval-neural-speech).
BAR_MAX_REAL_FPR = 0.005
BAR_MIN_EVAL_AUC_LOWER = 0.85
BAR_MIN_EVAL_TPR_AT_VIEWER = 0.5
BOOTSTRAP = 1000


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    _, first, counts = np.unique(allv, return_index=True, return_counts=True)
    ranks = np.empty(allv.size)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0 + 1, counts)
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def eer(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    t = np.unique(s)
    fpr = 1.0 - np.searchsorted(neg, t, "left") / neg.size
    fnr = np.searchsorted(pos, t, "left") / pos.size
    i = int(np.argmin(np.abs(fpr - fnr)))
    return float((fpr[i] + fnr[i]) / 2)


def tpr_at_fpr(y: np.ndarray, s: np.ndarray, max_fpr: float) -> float:
    """TPR at the lowest threshold whose FPR is ≤ max_fpr (a threshold above every real score if need be)."""
    pos, neg = s[y == 1], np.sort(s[y == 0])
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    k = int(math.floor(max_fpr * neg.size))  # real clips allowed above the threshold
    t = np.nextafter(neg[neg.size - k - 1], np.inf) if k < neg.size else -np.inf
    return float(np.mean(pos >= t))


def bootstrap(fn: Callable[[np.ndarray, np.ndarray], float], y: np.ndarray, s: np.ndarray,
              n: int = BOOTSTRAP) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if pos.size == 0 or neg.size == 0:
        return float("nan"), float("nan")
    vals = []
    for _ in range(n):
        idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        vals.append(fn(y[idx], s[idx]))
    lo, hi = np.nanpercentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z, p = 1.959964, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def figures(y: np.ndarray, s: np.ndarray, viewer: float, review: float) -> dict[str, Any]:
    out: dict[str, Any] = {"n_real": int(np.sum(y == 0)), "n_synthetic": int(np.sum(y == 1))}
    for key, fn in (("roc_auc", roc_auc), ("eer", eer),
                    ("tpr_at_1pct_fpr", lambda a, b: tpr_at_fpr(a, b, 0.01)),
                    ("tpr_at_0.1pct_fpr", lambda a, b: tpr_at_fpr(a, b, 0.001))):
        out[key] = round(fn(y, s), 4)
        out[key + "_ci95"] = [round(v, 4) for v in bootstrap(fn, y, s)]
    for name, t in (("viewer", viewer), ("review", review)):
        fp, tn = int(np.sum((s >= t) & (y == 0))), int(np.sum((s < t) & (y == 0)))
        tp, fn_ = int(np.sum((s >= t) & (y == 1))), int(np.sum((s < t) & (y == 1)))
        out[f"confusion_at_{name}"] = [[tn, fp], [fn_, tp]]
        out[f"fpr_at_{name}"] = round(fp / max(fp + tn, 1), 4)
        out[f"fpr_at_{name}_ci95"] = [round(v, 4) for v in wilson(fp, fp + tn)]
        out[f"tpr_at_{name}"] = round(tp / max(tp + fn_, 1), 4)
        out[f"tpr_at_{name}_ci95"] = [round(v, 4) for v in wilson(tp, tp + fn_)]
    return out


def show(title: str, f: dict[str, Any]) -> None:
    def ci(key: str) -> str:
        lo, hi = f[key + "_ci95"]
        return f"{f[key]:.4f} [{lo:.4f}, {hi:.4f}]"

    print(f"{title}: real {f['n_real']}, synthetic {f['n_synthetic']}")
    if f["n_real"] and f["n_synthetic"]:
        print(f"  ROC AUC {ci('roc_auc')}   EER {ci('eer')}")
        print(f"  TPR at 1% FPR {ci('tpr_at_1pct_fpr')}   TPR at 0.1% FPR {ci('tpr_at_0.1pct_fpr')}")
    for name in ("viewer", "review"):
        (tn, fp), (fn_, tp) = f[f"confusion_at_{name}"]
        print(f"  at {name} threshold: [[TN {tn} FP {fp}] [FN {fn_} TP {tp}]]  "
              f"FPR {ci(f'fpr_at_{name}')}  TPR {ci(f'tpr_at_{name}')}")


def score(paths: list[Path], models_dir: Path) -> tuple[np.ndarray, float, float, str]:
    from detectors.onnx_models import SPEECH_MODEL, OnnxModel, SpeechDetector

    model = OnnxModel(models_dir, SPEECH_MODEL)
    detector = SpeechDetector(model)
    out = []
    for p in paths:
        try:
            signal = detector.analyse(MediaInput(p, "audio/mpeg" if p.suffix == ".mp3" else "audio/wav", ""))
            out.append(signal.score if signal else float("nan"))
        except DetectorError as exc:
            print(f"  no score for {p.name}: {exc}", file=sys.stderr)
            out.append(float("nan"))
    meta = model.meta
    return np.array(out), float(meta["viewer_threshold"]), float(meta["review_threshold"]), model.version


def _comparisons(real_src: np.ndarray, real_s: np.ndarray, syn_src: np.ndarray, syn_s: np.ndarray,
                 viewer: float, review: float, real_label: str) -> dict[str, dict[str, Any]]:
    """All synthetic vs all real; each generator vs all real; each real source alone (FPR)."""
    def pair(rs: np.ndarray, ss: np.ndarray) -> dict[str, Any]:
        y = np.concatenate([np.zeros(rs.size, int), np.ones(ss.size, int)])
        return figures(y, np.concatenate([rs, ss]), viewer, review)

    out = {f"all synthetic vs {real_label}": pair(real_s, syn_s)}
    for g in sorted(set(syn_src)):
        out[f"{g} vs {real_label}"] = pair(real_s, syn_s[syn_src == g])
    for r in sorted(set(real_src)):
        out[f"real source {r} vs all synthetic"] = pair(real_s[real_src == r], syn_s)
    return out


def heldout_figures(models_dir: Path, synthetic_dir: Path, quick: bool = False) -> dict[str, Any]:
    """The held-out split (never fitted or thresholded on): held-out real speakers against Kokoro's
    held-out voices, HiFi-GAN re-synthesis of the held-out speakers and Piper (family held out)."""
    from detectors.training.speech_data import speech_clips

    clips = speech_clips("test", synthetic_dir, per_source_limit=30 if quick else None, scale=0.1 if quick else 1.0)
    s, viewer, review, _ = score([c.path for c in clips], models_dir)
    y = np.array([c.label for c in clips])
    src = np.array([c.source for c in clips])
    ok = ~np.isnan(s)
    res = _comparisons(src[ok & (y == 0)], s[ok & (y == 0)], src[ok & (y == 1)], s[ok & (y == 1)],
                       viewer, review, "held-out real")
    res["unscored_clips"] = {"count": int((~ok).sum())}
    return summary(res)


SUMMARY_KEYS = ("n_real", "n_synthetic", "roc_auc", "roc_auc_ci95", "eer", "eer_ci95", "fpr_at_viewer",
                "fpr_at_viewer_ci95", "tpr_at_viewer", "tpr_at_viewer_ci95", "fpr_at_review", "fpr_at_review_ci95",
                "tpr_at_review", "tpr_at_review_ci95")


def summary(comparisons: dict[str, Any]) -> dict[str, Any]:
    """The overall figures at the top (what the policy and the verify answer quote), details below."""
    overall = comparisons.get("all synthetic vs held-out real", {})
    return {**{k: overall[k] for k in SUMMARY_KEYS if k in overall}, "comparisons": comparisons}


def eval_figures(models_dir: Path, quick: bool = False) -> dict[str, Any]:
    from detectors.training.speech_data import eval_clips, real_clips

    real = real_clips("test")
    syn = eval_clips()
    if quick:
        real, syn = real[::40] + real[-24:], syn[::12]
    rs, viewer, review, _ = score([c.path for c in real], models_dir)
    ss, _, _, _ = score([c.path for c in syn], models_dir)
    rsrc, ssrc = np.array([c.source for c in real]), np.array([c.generator for c in syn])
    rok, sok = ~np.isnan(rs), ~np.isnan(ss)
    res = _comparisons(rsrc[rok], rs[rok], ssrc[sok], ss[sok], viewer, review, "held-out real")
    # Codec-matched: the Tortoise clips are all 32 kbit/s MP3; so is the LJ MP3 real set.
    mp3 = np.array([c.codec == "mp3" for c in syn])
    lj_mp3 = rsrc == "ljspeech-mp3"
    y = np.concatenate([np.zeros(int(np.sum(rok & lj_mp3)), int), np.ones(int(np.sum(sok & mp3)), int)])
    res["codec-matched: MP3 eval clips vs LJSpeech MP3 (held-out utterances)"] = figures(
        y, np.concatenate([rs[rok & lj_mp3], ss[sok & mp3]]), viewer, review)
    res["unscored_clips"] = {"real": int((~rok).sum()), "synthetic": int((~sok).sum())}
    return summary(res)


def viewer_bar(meta: dict[str, Any]) -> bool:
    """Whether the model meets the card's bar to be viewer-facing: held-out real FPR at the viewer
    threshold ≤ 0.5 %; and, once evaluated, ROC AUC on eval-neural-speech with a lower 95 % bound ≥ 0.85
    and TPR at the viewer threshold ≥ 50 %."""
    held = meta.get("heldout", {})
    ok = "fpr_at_viewer" in held and held["fpr_at_viewer"] <= BAR_MAX_REAL_FPR
    ev = meta.get("evaluation", {})
    if "roc_auc_ci95" not in ev:
        return False  # not evaluated on unseen generators yet
    return ok and ev["roc_auc_ci95"][0] >= BAR_MIN_EVAL_AUC_LOWER and ev["tpr_at_viewer"] >= BAR_MIN_EVAL_TPR_AT_VIEWER


def run(quick: bool, synthetic_dir: Path, models_dir: Path, record: bool) -> None:
    from detectors.onnx_models import SPEECH_MODEL

    meta_path = models_dir / f"{SPEECH_MODEL}.json"
    meta = json.loads(meta_path.read_text())
    print(f"speech model {meta['version']}: viewer threshold {meta['viewer_threshold']:.4f}, "
          f"review threshold {meta['review_threshold']:.4f}, front end {meta['front_end']['sample_rate']} Hz")
    held: dict[str, Any] = {"comparisons": {"unscored_clips": {}}}
    if quick and not (synthetic_dir / "manifest.csv").exists():
        print("== held-out split: skipped (--quick and no generated clips in the synthetic dir)")
    else:
        print("== held-out split (local generators; Piper = family held out of training)")
        held = heldout_figures(models_dir, synthetic_dir, quick)
        for title, f in held["comparisons"].items():
            if "n_real" in f:
                show(title, f)
    print("== eval-neural-speech (evaluation only) vs held-out real speakers")
    ev = eval_figures(models_dir, quick)
    for title, f in ev["comparisons"].items():
        if "n_real" in f:
            show(title, f)
    print(f"unscored: held-out {held.get('comparisons', held)['unscored_clips']}, "
          f"eval {ev['comparisons']['unscored_clips']}")
    meta["heldout"] = held
    meta["evaluation"] = ev
    facing = viewer_bar(meta)
    print(f"viewer_facing (card's bar): {facing}")
    if record and not quick:
        meta["viewer_facing"] = facing
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"recorded in {meta_path}")
        (models_dir.parent.parent / "build").mkdir(exist_ok=True)
        tables = models_dir.parent.parent / "build" / "speech_card_tables.md"
        tables.write_text(markdown_tables(meta))
        print(f"card tables: {tables}")


def markdown_tables(meta: dict[str, Any]) -> str:
    """The card's figure tables, rendered from the recorded json (so the card quotes the run exactly)."""
    def ci(f: dict[str, Any], key: str, pct: bool = False) -> str:
        lo, hi = f[key + "_ci95"]
        if pct:
            return f"{100 * f[key]:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
        return f"{f[key]:.3f} [{lo:.3f}, {hi:.3f}]"

    out = []
    for section, title in (("heldout", "Held-out split (local generators)"),
                           ("evaluation", "eval-neural-speech (never used for training, thresholds or selection)")):
        comps = meta.get(section, {}).get("comparisons", {})
        out += [f"### {title}", "",
                "| comparison | n real / synth | ROC AUC [95 % CI] | EER | TPR @ 1 % FPR | TPR @ 0.1 % FPR | "
                "viewer: [[TN FP] [FN TP]], FPR, TPR | review: [[TN FP] [FN TP]], FPR, TPR |",
                "|---|---|---|---|---|---|---|---|"]
        for name, f in comps.items():
            if "n_real" not in f:
                continue
            both = f["n_real"] and f["n_synthetic"]
            cells = [name, f"{f['n_real']} / {f['n_synthetic']}"]
            cells += [ci(f, "roc_auc"), ci(f, "eer"), ci(f, "tpr_at_1pct_fpr"), ci(f, "tpr_at_0.1pct_fpr")] if both \
                else ["—"] * 4
            for t in ("viewer", "review"):
                cells.append(f"{f[f'confusion_at_{t}']}, FPR {ci(f, f'fpr_at_{t}', True)}, "
                             f"TPR {ci(f, f'tpr_at_{t}', True)}")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)

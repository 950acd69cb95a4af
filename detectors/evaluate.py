"""Evaluation of the shipped models on their held-out test split (never used for training).

    python -m detectors.evaluate speech [--quick]
    python -m detectors.evaluate image [--quick]

Items go through the same detector objects the service uses (decode → shared features → ONNX session),
so what is measured is what is shipped. Prints ROC AUC, equal error rate and the confusion matrix at the
shipped threshold, overall and per source (per engine for speech). `--quick` evaluates a small subsample
(for the test suite); the model cards quote full runs.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from detectors.base import DetectorError, MediaInput

MODELS_DIR = Path(__file__).resolve().parent / "models"


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(allv.size)
    sorted_v = allv[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_v, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def equal_error_rate(y: np.ndarray, scores: np.ndarray) -> float:
    """The error rate where the false-positive and false-negative rates are equal."""
    pos, neg = scores[y == 1], scores[y == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    best, eer = 2.0, 1.0
    for t in np.unique(scores):
        fpr = float(np.mean(neg >= t))
        fnr = float(np.mean(pos < t))
        if abs(fpr - fnr) < best:
            best, eer = abs(fpr - fnr), (fpr + fnr) / 2
    return eer


def confusion(y: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """[[TN, FP], [FN, TP]] with synthetic as the positive class."""
    pred = scores >= threshold
    return np.array([[np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))],
                     [np.sum(~pred & (y == 1)), np.sum(pred & (y == 1))]])


def report(title: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> None:
    cm = confusion(y, scores, threshold)
    tn, fp, fn, tp = cm.ravel()
    fpr = fp / max(tn + fp, 1)
    tpr = tp / max(tp + fn, 1)
    print(f"{title}: n={y.size} (real {int(np.sum(y == 0))}, synthetic {int(np.sum(y == 1))})")
    print(f"  ROC AUC {roc_auc(y, scores):.4f}   EER {equal_error_rate(y, scores):.4f}")
    print(f"  confusion matrix at threshold {threshold:.4f} (rows: true real, true synthetic; "
          f"columns: predicted real, predicted synthetic)")
    print(f"    [[{tn:5d} {fp:5d}]\n     [{fn:5d} {tp:5d}]]   FPR {fpr:.4f}  TPR {tpr:.4f}")


def _score_all(detector: object, items: Sequence[tuple[Path, str]]) -> np.ndarray:
    scores = []
    for path, mime in items:
        try:
            signal = detector.analyse(MediaInput(path, mime, ""))  # type: ignore[attr-defined]
            scores.append(signal.score if signal else float("nan"))
        except DetectorError as exc:
            print(f"  unreadable {path.name}: {exc}", file=sys.stderr)
            scores.append(float("nan"))
    return np.array(scores)


def evaluate_speech(quick: bool, synthetic_dir: Path) -> None:
    from detectors.onnx_models import SPEECH_MODEL, OnnxModel, SpeechDetector
    from detectors.training.speech_data import speech_clips

    model = OnnxModel(MODELS_DIR, SPEECH_MODEL)
    # --quick synthesises (when missing) a 5% set with the same held-out voices.
    clips = speech_clips("test", synthetic_dir, per_group_limit=40 if quick else None, synth_scale=0.05 if quick else 1)
    scores = _score_all(SpeechDetector(model), [(c.path, "audio/wav") for c in clips])
    y = np.array([c.label for c in clips])
    sources = np.array([c.source for c in clips])
    ok = ~np.isnan(scores)
    if not ok.all():
        print(f"{int((~ok).sum())} clips had no analysable speech and are left out (scored as errors)")
    print(f"speech model {model.version}, threshold {model.threshold:.4f} (test split: held-out speakers/voices)")
    report("all held-out", y[ok], scores[ok], model.threshold)
    real = ok & (sources == "fsdd")
    for engine in sorted(set(sources) - {"fsdd"}):
        sel = real | (ok & (sources == engine))
        seen = "engine held out of training" if engine == "festival" else "held-out voices"
        report(f"held-out FSDD speakers vs {engine} ({seen})", y[sel], scores[sel], model.threshold)
        voices = np.array([c.group for c in clips])
        flagged = [
            f"{v} {int(np.sum(scores[m] >= model.threshold))}/{int(m.sum())}"
            for v in sorted(set(voices[ok & (sources == engine)]))
            for m in [ok & (sources == engine) & (voices == v)]
        ]
        if len(flagged) <= 6:
            print("  flagged per voice: " + ", ".join(flagged))
    for speaker in sorted(set(c.group for c in clips if c.source == "fsdd")):
        m = ok & (sources == "fsdd") & (np.array([c.group for c in clips]) == speaker)
        print(f"real speaker {speaker}: {int(np.sum(scores[m] >= model.threshold))}/{int(m.sum())} falsely flagged")


def evaluate_image(quick: bool) -> None:
    from detectors.onnx_models import IMAGE_MODEL, ImageDetector, OnnxModel
    from detectors.training.image_data import image_test_items

    model = OnnxModel(MODELS_DIR, IMAGE_MODEL)
    items = image_test_items(quick)
    scores = _score_all(ImageDetector(model), [(i.path, "image/png") for i in items])
    y = np.array([i.label for i in items])
    sources = np.array([i.source for i in items])
    ok = ~np.isnan(scores)
    print(f"image model {model.version}, threshold {model.threshold:.4f} (test split: held-out photographs)")
    report("all held-out", y[ok], scores[ok], model.threshold)
    real = ok & (sources == "photo")
    for source in sorted(set(sources) - {"photo"}):
        report(f"held-out photos vs {source}", y[real | (ok & (sources == source))],
               scores[real | (ok & (sources == source))], model.threshold)
    originals = [i.path for i in items if i.source == "photo" and i.path.suffix == ".png"]
    _stress_real_photos(ImageDetector(model), originals, model.threshold)


def _stress_real_photos(detector: object, photos: list[Path], threshold: float) -> None:
    """Everyday edits of the held-out (real) photographs: how often they are wrongly flagged."""
    import tempfile

    from PIL import Image, ImageFilter

    edits: dict[str, Callable[[Image.Image], Image.Image]] = {
        "downscaled to 50% (Lanczos)": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
        "JPEG quality 50": lambda im: im,
        "blurred (3×3 box)": lambda im: im.filter(ImageFilter.BoxBlur(1)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for label, edit in edits.items():
            paths = []
            for n, p in enumerate(photos):
                out = Path(tmp) / f"{n}.{'jpg' if 'JPEG' in label else 'png'}"
                edit(Image.open(p).convert("RGB")).save(out, quality=50)
                paths.append((out, "image/png"))
            s = _score_all(detector, paths)
            s = s[~np.isnan(s)]
            print(f"stress, held-out photographs {label} (all real): "
                  f"{int(np.sum(s >= threshold))}/{s.size} falsely flagged, mean score {s.mean():.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m detectors.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=["speech", "image"])
    parser.add_argument("--quick", action="store_true", help="small subsample (for tests)")
    parser.add_argument("--synthetic-dir", type=Path, default=Path("build/synthetic-speech"))
    args = parser.parse_args(argv)
    mimetypes.init()
    if args.model == "speech":
        evaluate_speech(args.quick, args.synthetic_dir)
    else:
        evaluate_image(args.quick)


if __name__ == "__main__":
    main()

"""Evaluation of the shipped models on held-out data (never used for training, thresholds or selection).

    python -m detectors.evaluate image [--quick] [--update-model] [--jpeg QUALITY]
    python -m detectors.evaluate video [--quick] [--every N]
    python -m detectors.evaluate speech [--quick] [--record]

Items go through the same detector objects the service uses (decode → features → ONNX session), so what
is measured is what is shipped. Image and video (detectors/evaluate_image.py): ROC AUC, EER, TPR at 1 %
and 0.1 % FPR and the confusion matrix at each shipped threshold (review, viewer), per generator family
and per real source, with bootstrap 95 % intervals (detectors/metrics.py); `--update-model` writes the
held-out figures and the viewer-facing decision into the model's json. `--quick` evaluates a small
subsample (for the test suite); the model cards quote full runs.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detectors.base import DetectorError, MediaInput
from detectors.metrics import confusion, equal_error_rate, roc_auc

MODELS_DIR = Path(__file__).resolve().parent / "models"


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


def evaluate_speech(quick: bool, synthetic_dir: Path, record: bool = False) -> None:
    """Speech: detectors/training/evaluate_speech.py (held-out split and eval-neural-speech)."""
    from detectors.training.evaluate_speech import run

    run(quick, synthetic_dir, MODELS_DIR, record)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m detectors.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=["speech", "image", "video"])
    parser.add_argument("--quick", action="store_true", help="small subsample (for tests)")
    parser.add_argument("--update-model", action="store_true",
                        help="image: write the held-out figures and viewer-facing flag into the model json")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--jpeg", type=int, default=None, metavar="QUALITY",
                        help="image: first re-encode both classes as JPEG at this quality (same format for both)")
    parser.add_argument("--every", type=int, default=1, help="video: every n-th evaluation image only")
    parser.add_argument("--synthetic-dir", type=Path, default=Path("build/synthetic-speech"))
    parser.add_argument("--record", action="store_true", help="speech: write the figures into the model json")
    args = parser.parse_args(argv)
    mimetypes.init()
    if args.model == "speech":
        evaluate_speech(args.quick, args.synthetic_dir, args.record)
    elif args.model == "image":
        from detectors.evaluate_image import evaluate_image

        evaluate_image(args.quick, args.update_model, args.models_dir, args.jpeg)
    else:
        from detectors.evaluate_image import evaluate_video

        evaluate_video(args.quick, args.models_dir, args.every)


if __name__ == "__main__":
    main()

"""Trains and exports the synthetic-speech detector (detectors/models/speech_synthetic.onnx).

    python -m detectors.training.train_speech [--synthetic-dir build/synthetic-speech]

Data (detectors/training/speech_data.py): real = FSDD speakers george, jackson, theo, yweweler;
synthetic = espeak-ng and flite training voices (synthesised first when missing). The held-out FSDD
speakers, held-out voices and the festival engine are never read here. Deterministic: fixed seeds,
fixed file order.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from detectors.base import DetectorError
from detectors.features import SPEECH_FEATURES, decode_audio, speech_feature_matrix
from detectors.onnx_models import MAX_AUDIO_SECONDS, SPEECH_MODEL
from detectors.training.common import (
    MODELS_DIR,
    check_onnx_matches,
    export_onnx,
    low_fpr_threshold,
    select_and_calibrate,
)
from detectors.training.speech_data import HELD_OUT_ENGINE, TRAIN_ENGINES, augment, speech_clips

VERSION = "1.0.0"
MAX_FPR = 0.01


def training_matrix(synthetic_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, groups = [], [], []
    clips = speech_clips("train", synthetic_dir)
    for clip in clips:
        try:
            samples = augment(decode_audio(clip.path, MAX_AUDIO_SECONDS), clip.path.name + clip.source)
            rows = speech_feature_matrix(samples, max_segments=4)
        except DetectorError as exc:
            print(f"  skipped {clip.path.name}: {exc}")
            continue
        xs.append(rows)
        ys += [clip.label] * len(rows)
        groups += [clip.group] * len(rows)
    x = np.concatenate(xs)
    assert x.shape[1] == SPEECH_FEATURES, x.shape
    print(f"training rows: {x.shape[0]} from {len(clips)} clips, {len(set(groups))} speakers/voices")
    return x, np.array(ys), np.array(groups)


def candidates() -> dict[str, Pipeline]:
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000)),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier((32,), alpha=1e-2, max_iter=600, random_state=0)),
        "boosting": make_pipeline(HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic-dir", type=Path, default=Path("build/synthetic-speech"))
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where to write the model")
    args = parser.parse_args()
    x, y, groups = training_matrix(args.synthetic_dir)
    name, model, oof = select_and_calibrate(candidates(), x, y, groups)
    threshold = low_fpr_threshold(y, oof, MAX_FPR)
    print(f"chosen {name}; threshold {threshold:.4f} (≤{MAX_FPR:.0%} out-of-fold false positives on real speech)")
    path = export_onnx(model, x.shape[1], SPEECH_MODEL, {
        "version": VERSION,
        "threshold": round(threshold, 4),
        "classifier": f"{name} + Platt (sigmoid) calibration on grouped out-of-fold predictions",
        "trained_on": {"real": "FSDD speakers george, jackson, theo, yweweler",
                       "synthetic": f"{', '.join(TRAIN_ENGINES)} training voices",
                       "held_out_engine": HELD_OUT_ENGINE},
    }, models_dir=args.models_dir)
    check_onnx_matches(model, path, x[:500])


if __name__ == "__main__":
    main()

"""What both training scripts share: model selection by grouped cross-validation, calibration, the
threshold rule, and the ONNX export with its metadata file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from detectors.metrics import roc_auc

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def grouped_folds(groups: np.ndarray, n_splits: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(GroupKFold(n_splits=n_splits).split(np.zeros(len(groups)), groups=groups))


def select_and_calibrate(
    candidates: dict[str, Pipeline], x: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> tuple[str, CalibratedClassifierCV, np.ndarray]:
    """Pick the candidate with the best out-of-fold AUC (folds by speaker/voice: a group is never in
    both sides of a fold), then calibrate it with Platt scaling on out-of-fold predictions. Answers the
    name, the calibrated model and its own out-of-fold calibrated probabilities (used for the threshold)."""
    folds = grouped_folds(groups)
    best_name, best_auc = "", -1.0
    for name, model in candidates.items():
        oof = np.zeros(len(y))
        for tr, te in folds:
            oof[te] = clone(model).fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
        auc = roc_auc(y, oof)
        print(f"  candidate {name}: out-of-fold AUC {auc:.4f}")
        if auc > best_auc:
            best_name, best_auc = name, auc
    chosen = candidates[best_name]
    calibrated = CalibratedClassifierCV(chosen, method="sigmoid", cv=folds, ensemble=False).fit(x, y)
    # Out-of-fold calibrated probabilities, to set the threshold without touching the test split.
    oof_cal = np.zeros(len(y))
    for tr, te in folds:
        inner = grouped_folds(groups[tr], n_splits=3)
        m = CalibratedClassifierCV(clone(chosen), method="sigmoid", cv=inner, ensemble=False).fit(x[tr], y[tr])
        oof_cal[te] = m.predict_proba(x[te])[:, 1]
    return best_name, calibrated, oof_cal


def low_fpr_threshold(y: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """The threshold the detector ships with: at least 0.5, and high enough that at most `max_fpr` of
    real training items (out of fold) would be flagged."""
    real = np.sort(scores[y == 0])
    return float(max(0.5, np.quantile(real, 1.0 - max_fpr)))


def export_onnx(model: Any, n_features: int, name: str, meta: dict[str, Any], models_dir: Path = MODELS_DIR) -> Path:
    """Write `<name>.onnx` (float32 input `features [N, n]`, output `probabilities [N, 2]`) and
    `<name>.json` (threshold, version, sha256 …) under `models_dir` (default detectors/models/)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onx = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{name}.onnx"
    path.write_bytes(onx.SerializeToString())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    meta = {**meta, "onnx": path.name, "sha256": digest, "n_features": n_features}
    (models_dir / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, sha256 {meta['sha256']})")
    return path


def check_onnx_matches(model: ClassifierMixin, path: Path, x: np.ndarray) -> None:
    """The exported graph must give the same probabilities as the fitted model."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"features": x.astype(np.float32)})[1][:, 1]
    want = model.predict_proba(x)[:, 1]
    diff = float(np.max(np.abs(got - want)))
    print(f"ONNX vs scikit-learn: max |Δp| = {diff:.2e}")
    if diff > 1e-3:
        raise SystemExit("exported ONNX model disagrees with the fitted model")

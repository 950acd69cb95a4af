"""Trains and exports the synthetic-image detector (detectors/models/image_synthetic.onnx + .json).

    python -m detectors.training.train_image

Data: the aligned set of detectors/training/image_data.py (made first when missing; needs the `train`
extra): real photographs and the same photographs re-synthesised by TAEF2 (the training family), and by
Real-ESRGAN (held out of training entirely). Features: the frozen CLIP ViT-B/16 int8 encoder
(detectors/image_embedding.py), the same crops the service reads. Candidates are linear probes; one is
picked by grouped out-of-fold validation (folds by photo source: a photograph, its re-syntheses and its
source are never on both sides), scored on the TAEF2 items and on the held-out Real-ESRGAN family. The
review and viewer thresholds are set on out-of-fold scores of the real training photos only. The
evaluation folders are never read here; at the end `python -m detectors.evaluate image --update-model`
records the held-out figures and whether the card's bar is met (the viewer-facing flag).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from detectors.features import open_rgb
from detectors.image_embedding import (
    ENCODER_FILE,
    ENCODER_SHA256,
    ENCODER_SOURCE,
    VIEWS,
    ImageEncoder,
    training_crops,
)
from detectors.metrics import bootstrap, roc_auc
from detectors.onnx_models import IMAGE_MODEL, MAX_IMAGE_PIXELS
from detectors.training.common import MODELS_DIR, check_onnx_matches, export_onnx
from detectors.training.image_data import (
    CROP,
    ENCODINGS,
    HELD_OUT_FAMILY,
    OUT,
    REALESRGAN_MODEL,
    REALESRGAN_WHEEL,
    TRAIN_FAMILY,
    TRAIN_TIERS,
    Item,
    items,
)

VERSION = "2.0.0"
REVIEW_FPR = 0.05  # out of fold, on real training photos
VIEWER_FPR = 0.005


def candidates() -> dict[str, Pipeline]:
    return {f"logistic C={c}": make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
            for c in (0.003, 0.03, 0.3)}


def embeddings(data: list[Item], encoder: ImageEncoder, cache: Path) -> np.ndarray:
    """[items, 1, 512] (the centre crop), cached by file sha256 in build/."""
    store: dict[str, np.ndarray] = dict(np.load(cache)) if cache.exists() else {}
    out = []
    for n, item in enumerate(data):
        key = hashlib.sha256(item.path.read_bytes()).hexdigest()
        if key not in store:
            rgb = np.asarray(open_rgb(item.path, MAX_IMAGE_PIXELS))
            store[key] = encoder.embed(training_crops(rgb))
            if n % 100 == 0:
                print(f"  embedded {n}/{len(data)}", flush=True)
        out.append(store[key][:1])
    np.savez(cache, *[], **store)  # type: ignore[arg-type]
    return np.stack(out)


def folds(groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(GroupKFold(n_splits=4).split(np.zeros(len(groups)), groups=groups))


def _fit(model: Pipeline, emb: np.ndarray, y: np.ndarray, idx: np.ndarray) -> Pipeline:
    return clone(model).fit(emb[idx].reshape(-1, emb.shape[2]), np.repeat(y[idx], emb.shape[1]))


def _decision(model: Pipeline, emb: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per-view decision values, [len(idx), views]."""
    return np.asarray(model.decision_function(emb[idx].reshape(-1, emb.shape[2]))).reshape(len(idx), -1)


def out_of_fold(model: Pipeline, emb: np.ndarray, y: np.ndarray, groups: np.ndarray, train: np.ndarray
                ) -> np.ndarray:
    """Per-view decision values for every item, each from a model fitted without its source; only
    `train` items are fitted on (the held-out family never is)."""
    dec = np.zeros((len(y), emb.shape[1]))
    for tr, te in folds(groups):
        dec[te] = _decision(_fit(model, emb, y, np.intersect1d(tr, np.flatnonzero(train))), emb, te)
    return dec


def platt(dec: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a·d + b), fitted on out-of-fold decision values (one row per view)."""
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(dec.reshape(-1, 1), np.repeat(y, dec.shape[1]))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def calibrated(dec: np.ndarray, a: float, b: float) -> np.ndarray:
    """Item scores: the mean over views of the calibrated view probabilities (what the service does)."""
    probs: np.ndarray = 1.0 / (1.0 + np.exp(-(a * dec + b)))
    return np.asarray(probs.mean(axis=1))


def fold_platt(model: Pipeline, a: float, b: float) -> Pipeline:
    """The calibrated probe as one scaler + logistic regression: sigmoid(a·(w·x + c) + b) is a logistic
    regression with weights a·w and intercept a·c + b, so the exported graph is exactly calibrated."""
    lr = model.steps[-1][1]
    lr.coef_ = lr.coef_ * a
    lr.intercept_ = lr.intercept_ * a + b
    return model


def spectral_baseline(data: list[Item], y: np.ndarray, groups: np.ndarray, train: np.ndarray,
                      fam: np.ndarray) -> None:
    """Does the frozen encoder help? The previous model's features (spectral statistics of 128x128
    luminance patches, detectors/features.py) under the same folds, for comparison only."""
    from detectors.features import image_feature_matrix

    feats = np.stack([image_feature_matrix(np.asarray(open_rgb(i.path, MAX_IMAGE_PIXELS)), 9)[:9].mean(axis=0)
                      for i in data])[:, None, :]
    oof = out_of_fold(make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=5000)), feats, y, groups,
                      train).mean(axis=1)
    real = fam == "real"
    for f in (TRAIN_FAMILY, HELD_OUT_FAMILY):
        sel = real | (fam == f)
        print(f"  baseline spectral patch statistics + logistic: out-of-fold AUC {f} {roc_auc(y[sel], oof[sel]):.4f}")


def _auc_ci(y: np.ndarray, s: np.ndarray) -> list[float]:
    return [round(roc_auc(y, s), 4), *(round(v, 4) for v in bootstrap(roc_auc, y, s, 500))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where to write the model")
    parser.add_argument("--data-dir", type=Path, default=OUT, help="the aligned data set (made when missing)")
    parser.add_argument("--baseline", action="store_true", help="also score the spectral-feature baseline")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the held-out evaluation at the end")
    args = parser.parse_args()
    data = items(args.data_dir)
    encoder = ImageEncoder(MODELS_DIR / ENCODER_FILE)
    emb = embeddings(data, encoder, args.data_dir / "embeddings.npz")
    y = np.array([i.label for i in data])
    fam = np.array([i.family for i in data])
    groups = np.array([i.source for i in data])
    train = fam != HELD_OUT_FAMILY
    real, taef2, esr = fam == "real", fam == TRAIN_FAMILY, fam == HELD_OUT_FAMILY
    print(f"{len(data)} images: {int(real.sum())} real, {int(taef2.sum())} {TRAIN_FAMILY}, {int(esr.sum())} "
          f"{HELD_OUT_FAMILY} (held out) from {len(set(i.photo for i in data))} photographs, "
          f"{len(set(groups))} sources")
    if args.baseline:
        spectral_baseline(data, y, groups, train, fam)
    best, best_score = "", -1.0
    validation: dict[str, object] = {}
    for name, model in candidates().items():
        oof = out_of_fold(model, emb, y, groups, train).mean(axis=1)
        a_t, a_e = roc_auc(y[real | taef2], oof[real | taef2]), roc_auc(y[real | esr], oof[real | esr])
        print(f"  candidate {name}: out-of-fold AUC {TRAIN_FAMILY} {a_t:.4f}, {HELD_OUT_FAMILY} (held out) {a_e:.4f}")
        if (a_t + a_e) / 2 > best_score:
            best, best_score = name, (a_t + a_e) / 2
    chosen = candidates()[best]
    dec = out_of_fold(chosen, emb, y, groups, train)
    a, b = platt(dec[train], y[train])
    oof = calibrated(dec, a, b)
    review = float(max(0.5, np.quantile(oof[real], 1 - REVIEW_FPR)))
    viewer = float(max(review, np.quantile(oof[real], 1 - VIEWER_FPR)))
    for sel, fname in ((real | taef2, TRAIN_FAMILY), (real | esr, HELD_OUT_FAMILY)):
        validation[fname] = {"roc_auc": _auc_ci(y[sel], oof[sel]),
                             "tpr_at_review": round(float(np.mean(oof[sel & (y == 1)] >= review)), 4),
                             "tpr_at_viewer": round(float(np.mean(oof[sel & (y == 1)] >= viewer)), 4)}
    validation["real_fpr_at_review"] = round(float(np.mean(oof[real] >= review)), 4)
    validation["real_fpr_at_viewer"] = round(float(np.mean(oof[real] >= viewer)), 4)
    print(f"chosen {best}; Platt a={a:.4f} b={b:.4f}; out of fold (calibrated): {validation}")
    print(f"review threshold {review:.4f}, viewer threshold {viewer:.4f}")
    final = fold_platt(_fit(chosen, emb, y, np.flatnonzero(train)), a, b)
    x = emb[train].reshape(-1, emb.shape[2])
    manifest = args.data_dir / "manifest.csv"
    path = export_onnx(final, emb.shape[2], IMAGE_MODEL, {
        "version": VERSION,
        "threshold": round(viewer, 4),
        "review_threshold": round(review, 4),
        "viewer_facing": False,  # set by the held-out evaluation below, when the card's bar is met
        "classifier": f"{best} (standardised) + Platt (sigmoid) calibration on grouped out-of-fold decision values, "
                      f"on L2-normalised CLIP embeddings of native-resolution 224x224 crops "
                      f"(trained on the centre crop; the service averages over up to {VIEWS} views)",
        "encoder": {"file": ENCODER_FILE, "sha256": ENCODER_SHA256, "source": ENCODER_SOURCE},
        "trained_on": {
            "real": f"real-photos tiers {', '.join(TRAIN_TIERS)} and photographs inside the scikit-image and "
                    f"scikit-learn wheels; centre crops <= {CROP} px; encodings {', '.join(ENCODINGS)}",
            "synthetic": f"{TRAIN_FAMILY} encode-decode re-syntheses of the same crops (same encodings)",
            "held_out_family": f"{HELD_OUT_FAMILY}: {REALESRGAN_MODEL} from {REALESRGAN_WHEEL} (4x down, GAN 4x up)",
            "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
            "images": {"real": int(real.sum()), TRAIN_FAMILY: int(taef2.sum()), HELD_OUT_FAMILY: int(esr.sum())},
        },
        "validation_out_of_fold": validation,
    }, models_dir=args.models_dir)
    check_onnx_matches(final, path, x[:300])
    if not args.no_evaluate:
        from detectors.evaluate_image import evaluate_image

        evaluate_image(False, True, args.models_dir)


if __name__ == "__main__":
    main()

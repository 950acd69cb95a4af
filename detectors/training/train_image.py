"""Trains and exports the synthetic-image detector (detectors/models/image_synthetic.onnx).

    python -m detectors.training.train_image

Data (detectors/training/image_data.py, made first when missing; needs torch for the auto-encoders):
the training photographs and their re-syntheses by the transposed-convolution and nearest-neighbour
decoders. The test photographs and the bilinear decoder are never read here. Deterministic seeds.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from detectors.features import IMAGE_FEATURES, image_feature_matrix, open_rgb
from detectors.onnx_models import IMAGE_MODEL, MAX_IMAGE_PATCHES, MAX_IMAGE_PIXELS
from detectors.training.common import (
    MODELS_DIR,
    check_onnx_matches,
    export_onnx,
    low_fpr_threshold,
    select_and_calibrate,
)
from detectors.training.image_data import HELD_OUT_DECODER, TEST_PHOTOS, TRAIN_DECODERS, items

VERSION = "1.0.0"
MAX_FPR = 0.01


def blurred(img: Image.Image, key: str) -> Image.Image:
    """Training-only augmentation, the same for both classes: a Gaussian blur (radius 0.5–1.2, fixed per
    file) so that "less fine detail" alone cannot stand in for "re-synthesised"."""
    radius = 0.5 + 0.7 * (int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF)
    return img.filter(ImageFilter.GaussianBlur(radius))


def candidates() -> dict[str, Pipeline]:
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=3000)),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier((32,), alpha=1e-2, max_iter=800, random_state=0)),
        "boosting": make_pipeline(HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where to write the model")
    args = parser.parse_args()
    train = items("train")
    xs, ys, groups, owner = [], [], [], []
    for n, item in enumerate(train):
        img = open_rgb(item.path, MAX_IMAGE_PIXELS)
        for version in (img, blurred(img, item.path.name)):
            rows = image_feature_matrix(np.asarray(version), MAX_IMAGE_PATCHES)
            xs.append(rows)
            ys += [item.label] * len(rows)
            groups += [item.group] * len(rows)
            owner += [n] * len(rows)
    x, y, g, own = np.concatenate(xs), np.array(ys), np.array(groups), np.array(owner)
    assert x.shape[1] == IMAGE_FEATURES, x.shape
    print(f"training rows: {x.shape[0]} patches from {len(train)} images (and a blurred copy of each)"
          f" of {len(set(groups))} photographs")
    name, model, oof = select_and_calibrate(candidates(), x, y, g)
    # The detector scores an image by the mean over its patches: set the threshold on that, out of fold.
    item_scores = np.array([oof[own == n].mean() for n in range(len(train))])
    item_labels = np.array([i.label for i in train])
    threshold = low_fpr_threshold(item_labels, item_scores, MAX_FPR)
    print(f"chosen {name}; threshold {threshold:.4f} (≤{MAX_FPR:.0%} out-of-fold false positives on photographs)")
    path = export_onnx(model, x.shape[1], IMAGE_MODEL, {
        "version": VERSION,
        "threshold": round(threshold, 4),
        "classifier": f"{name} + Platt (sigmoid) calibration on grouped out-of-fold predictions",
        "trained_on": {"real": "photographs shipped by scikit-image, scikit-learn, PyWavelets "
                               f"(except {', '.join(TEST_PHOTOS)})",
                       "synthetic": f"auto-encoder re-syntheses: {', '.join(TRAIN_DECODERS)}",
                       "held_out_decoder": HELD_OUT_DECODER},
    }, models_dir=args.models_dir)
    check_onnx_matches(model, path, x[:500])


if __name__ == "__main__":
    main()

"""The image model card quotes the held-out figures its json records (written by
`python -m detectors.evaluate image --update-model`), and the json says whether the card's bar is met."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[2] / "detectors" / "models"


def test_card_quotes_the_recorded_held_out_figures_and_the_bar_decides_viewer_facing() -> None:
    meta = json.loads((MODELS / "image_synthetic.json").read_text())
    card = (MODELS / "image_synthetic.md").read_text().split("### Same format")[0]  # the figures as shipped
    held = meta["held_out"]
    for fig in held["figures"]:
        head = f"| {fig['comparison']} | {fig['n_real']} / {fig['n_synthetic']} | "
        row = next(line for line in card.splitlines() if line.startswith(head))
        quoted = [float(v) for v in re.findall(r"\d\.\d{3}", row[len(head):])[:3]]
        assert np.allclose(quoted, fig["roc_auc"], atol=0.0011), (row, fig["roc_auc"])  # json keeps 4 digits
    fpr, lo, hi = held["viewer_threshold_fpr"]
    assert f"{meta['threshold']:.4f}" in card and f"{meta['review_threshold']:.4f}" in card
    assert meta["viewer_facing"] is (fpr <= 0.005 and held["figures"][0]["roc_auc"][1] > 0.5)
    assert f"{fpr:.3f} [{lo:.3f}, {hi:.3f}]" in card  # the viewer threshold's FPR with its interval
    assert meta["sha256"] in card and meta["encoder"]["sha256"] in card

"""The speech detector's documented data and its fixed split, shared by training and evaluation.

Real class: the Free Spoken Digit Dataset (shared/datasets/real-speech-fsdd, CC BY-SA 4.0), split by
speaker. Synthetic class: detectors/training/synth_speech.py, split by voice, festival held out entirely.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detectors.training.synth_speech import synthesise

FSDD_TRAIN_SPEAKERS = ("george", "jackson", "theo", "yweweler")
FSDD_TEST_SPEAKERS = ("lucas", "nicolas")
TRAIN_ENGINES = ("espeak-ng", "flite")
HELD_OUT_ENGINE = "festival"


def fsdd_dir() -> Path:
    default = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "real-speech-fsdd"
    for candidate in (os.environ.get("AVLABEL_FSDD_DIR"), "/work/shared/datasets/real-speech-fsdd", default):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit("FSDD not found: set AVLABEL_FSDD_DIR to the real-speech-fsdd directory")


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int  # 1 = synthetic
    source: str  # "fsdd" or the engine
    group: str  # speaker or voice: never split across training and test


def speech_clips(
    split: str, synthetic_dir: Path, per_group_limit: int | None = None, synth_scale: float = 1.0
) -> list[Clip]:
    """Clips of one split ("train" or "test"), real and synthetic, in a fixed order."""
    speakers = FSDD_TRAIN_SPEAKERS if split == "train" else FSDD_TEST_SPEAKERS
    clips = [
        Clip(p, 0, "fsdd", p.name.split("_")[1])
        for p in sorted(fsdd_dir().glob("*.wav"))
        if p.name.split("_")[1] in speakers
    ]
    with synthesise(synthetic_dir, scale=synth_scale).open() as fh:
        for row in csv.DictReader(fh):
            if row["split"] != split or (split == "train" and row["engine"] not in TRAIN_ENGINES):
                continue
            clips.append(Clip(Path(row["file"]), 1, row["engine"], row["voice"]))
    if per_group_limit is not None:
        by_source: dict[str, list[Clip]] = {}
        for c in clips:
            by_source.setdefault(c.source, []).append(c)
        rng = random.Random(0)
        clips = [c for group in by_source.values() for c in rng.sample(group, min(per_group_limit, len(group)))]
    return clips


def augment(samples: np.ndarray, key: str) -> np.ndarray:
    """Training-only augmentation, the same for both classes: half the clips get white or low-pass noise
    at 15–45 dB SNR, so that "digitally clean background" cannot stand in for "synthetic"."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))
    if rng.random() < 0.5:
        return samples
    power = float(np.mean(samples**2)) + 1e-12
    snr_db = rng.uniform(15, 45)
    noise = rng.standard_normal(samples.size)
    if rng.random() < 0.5:
        noise = np.convolve(noise, np.ones(4) / 2.0, mode="same")
    noise *= np.sqrt(power / 10 ** (snr_db / 10) / (np.mean(noise**2) + 1e-12))
    return (samples + noise).astype(np.float32)

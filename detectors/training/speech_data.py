"""The speech detector's documented data and its fixed split, shared by training and evaluation.

Real class (`speech_corpus.py`): FSDD and LJSpeech, split by speaker (LJSpeech, one speaker, by
utterance). Synthetic class (`synth_speech.py`): Kokoro voices split by voice, HiFi-GAN re-synthesis on
the side of its source recording, Piper (VITS) held out entirely. Both classes go through the same
augmentations (MP3, telephone band, noise, gain), so a codec or a bandwidth cannot stand in for the class.
"""

from __future__ import annotations

import csv
import hashlib
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from detectors.speech_features import SPEECH_RATE, decode_audio
from detectors.training.speech_corpus import (
    FSDD_TEST_SPEAKERS,
    FSDD_TRAIN_SPEAKERS,
    eval_speech_dir,
    fsdd_dir,
    lj_split,
)
from detectors.training.synth_speech import synthesise

FSDD_TRAIN_PER_SPEAKER = 100
HELD_OUT_FAMILY = "vits"  # Piper: never in training, model selection or thresholds
TRAIN_FAMILIES = ("styletts2-istftnet", "hifigan")


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int  # 1 = synthetic
    source: str  # real source ("fsdd", "ljspeech-wav", "ljspeech-mp3") or the generator
    group: str  # speaker or voice: never split across folds; an aligned pair shares one group


def _lj_group(stem: str) -> str:
    return f"lj-block{(int(stem.split('-')[1]) - 1) // 5}"


def real_clips(split: str) -> list[Clip]:
    speakers = FSDD_TRAIN_SPEAKERS if split == "train" else FSDD_TEST_SPEAKERS
    files = sorted(fsdd_dir().glob("*.wav"))
    clips: list[Clip] = []
    rng = random.Random(0)
    for speaker in speakers:
        mine = [p for p in files if p.name.split("_")[1] == speaker]
        if split == "train":
            mine = sorted(rng.sample(mine, FSDD_TRAIN_PER_SPEAKER))
        clips += [Clip(p, 0, "fsdd", speaker) for p in mine]
    clips += [Clip(p, 0, "ljspeech-wav", _lj_group(p.stem)) for p in lj_split(split)]
    if split == "test":
        clips += [Clip(p, 0, "ljspeech-mp3", _lj_group(p.stem)) for p in lj_split(split, "mp3")]
    return clips


def synthetic_clips(split: str, synthetic_dir: Path, scale: float = 1.0) -> list[Clip]:
    clips = []
    with synthesise(synthetic_dir, scale=scale).open() as fh:
        for row in csv.DictReader(fh):
            if row["split"] != split or (split == "train" and row["family"] not in TRAIN_FAMILIES):
                continue
            voice = row["voice"]
            if voice.startswith("fsdd:"):
                group = voice[5:]
            elif voice == "lj":
                group = _lj_group(row["text"])
            else:
                group = f"{row['generator']}:{voice}"
            clips.append(Clip(Path(row["file"]), 1, row["generator"], group))
    return clips


def speech_clips(
    split: str, synthetic_dir: Path, per_source_limit: int | None = None, scale: float = 1.0
) -> list[Clip]:
    """Clips of one split ("train" or "test"), real and synthetic, in a fixed order."""
    clips = real_clips(split) + synthetic_clips(split, synthetic_dir, scale)
    if per_source_limit is not None:
        by_source: dict[str, list[Clip]] = {}
        for c in clips:
            by_source.setdefault(c.source, []).append(c)
        rng = random.Random(0)
        clips = [c for group in by_source.values() for c in rng.sample(group, min(per_source_limit, len(group)))]
    return clips


@dataclass(frozen=True)
class EvalClip:
    path: Path
    generator: str  # acoustic model → vocoder, as the evaluation manifest names them
    codec: str


def eval_clips() -> list[EvalClip]:
    """`eval-neural-speech` (evaluation only: never training, thresholds or model selection)."""
    root = eval_speech_dir()
    out = []
    with (root / "MANIFEST.csv").open() as fh:
        for row in csv.DictReader(fh):
            gen = row["generator"].split(" (")[0]
            vocoder = row["vocoder"].split(" (")[0]
            out.append(EvalClip(root / row["file"], f"{gen} → {vocoder}", row["codec"]))
    return out


# ---------------------------------------------------------------- augmentation (training only)


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))


def mp3_round_trip(samples: np.ndarray, kbps: int) -> np.ndarray:
    """Encode to MP3 (libmp3lame) and decode back through the runtime decoder."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.mp3"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libmp3lame", rate=SPEECH_RATE)
            stream.layout = "mono"
            stream.bit_rate = kbps * 1000
            for start in range(0, pcm.size, 1152):
                frame = av.AudioFrame.from_ndarray(pcm[None, start : start + 1152], format="s16", layout="mono")
                frame.sample_rate = SPEECH_RATE
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        return decode_audio(path, samples.size / SPEECH_RATE + 1.0)


def telephone_band(samples: np.ndarray) -> np.ndarray:
    """What an 8 kHz recording keeps: nothing above 3.8 kHz."""
    spec = np.fft.rfft(samples)
    spec[np.fft.rfftfreq(samples.size, 1.0 / SPEECH_RATE) > 3800.0] = 0
    return np.fft.irfft(spec, n=samples.size).astype(np.float32)


def augment(samples: np.ndarray, key: str) -> np.ndarray:
    """One deterministic variant of a clip, drawn the same way for both classes."""
    rng = _rng(key)
    x = samples * np.float32(10 ** (rng.uniform(-12, 3) / 20))
    choice = rng.random()
    if choice < 0.3:
        x = mp3_round_trip(x, int(rng.choice([32, 48, 64])))
    elif choice < 0.5:
        x = telephone_band(x)
    if rng.random() < 0.3:
        power = float(np.mean(x**2)) + 1e-12
        noise = rng.standard_normal(x.size).astype(np.float32)
        noise *= np.float32(np.sqrt(power / 10 ** (rng.uniform(20, 45) / 10) / (np.mean(noise**2) + 1e-12)))
        x = x + noise
    return np.clip(x, -1, 1).astype(np.float32)

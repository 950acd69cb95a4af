"""Makes the synthetic class of the speech detector's data with neural generators run on this machine
(`speech_generators.py`, `hifigan.py`): Kokoro-82M voices, HiFi-GAN re-synthesis of real recordings, and
the Piper VITS voice.

Split (fixed, by voice or by real speaker, never both sides):
- Kokoro: TRAIN voices for training; KOKORO_TEST voices only in the held-out test.
- HiFi-GAN: re-synthesis of the *training* real speakers/utterances is training data; of the held-out
  real speakers/utterances, held-out test data (the aligned pairs stay on one side).
- **Piper (VITS) is a family held out of training entirely**: all its clips are test clips.

Writes `<out>/<generator>/<n>.wav` at the generator's own rate and `<out>/manifest.csv` (file, generator,
family, voice, split, text). Deterministic for a seed; bounded: about 12 min of one CPU core at scale 1
(HiFi-GAN most of it).

    python -m detectors.training.synth_speech --out build/synthetic-speech
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from detectors.training.speech_corpus import (
    FSDD_TEST_SPEAKERS,
    FSDD_TRAIN_SPEAKERS,
    SENTENCES,
    fsdd_dir,
    lj_split,
)

KOKORO_TRAIN = ["af_heart", "af_bella", "af_alloy", "af_aoede", "af_jessica", "af_kore", "af_nicole", "af_sarah",
                "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "bf_alice", "bf_emma",
                "bf_isabella", "bm_daniel", "bm_fable", "bm_george"]
KOKORO_TEST = ["af_nova", "af_river", "af_sky", "am_onyx", "am_puck", "bf_lily", "bm_lewis"]
COUNTS = {"kokoro_train": 4, "kokoro_test": 4, "piper": 40, "hifigan_fsdd_train": 12, "hifigan_fsdd_test": 8}
LJ_SECONDS = 2.0  # each LJSpeech utterance is re-synthesised from its first 2 s (HiFi-GAN V1 is slow on CPU)
# Training LJ utterances go through the universal checkpoint, held-out ones through the LJSpeech one.
LJ_CHECKPOINT = {"train": "universal", "test": "LJSpeech"}
FIELDS = ["file", "generator", "family", "voice", "split", "text"]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.25:  # digit strings, like the FSDD real class says
        return " ".join(rng.choice("zero one two three four five six seven eight nine".split())
                        for _ in range(rng.randint(1, 4)))
    return rng.choice(SENTENCES)


def _write(path: Path, audio: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(audio))) or 1.0
    sf.write(path, np.clip(audio / max(peak, 1.0), -1, 1), rate, subtype="PCM_16")


def _kokoro(out: Path, cache: Path, rng: random.Random, scale: float) -> list[dict[str, str]]:
    from detectors.training.speech_generators import KOKORO_RATE, Kokoro

    tts, rows = Kokoro(cache), list[dict[str, str]]()
    for split, voices, per in (("train", KOKORO_TRAIN, COUNTS["kokoro_train"]),
                               ("test", KOKORO_TEST, COUNTS["kokoro_test"])):
        for voice in voices:
            for _ in range(max(1, round(per * scale))):
                text = _text(rng)
                path = out / "kokoro" / f"{len(rows):05d}.wav"
                _write(path, tts(text, voice, rng.uniform(0.85, 1.2)), KOKORO_RATE)
                rows.append({"file": str(path), "generator": "kokoro", "family": "styletts2-istftnet",
                             "voice": voice, "split": split, "text": text})
    return rows


def _piper(out: Path, rng: random.Random, scale: float) -> list[dict[str, str]]:
    from detectors.training.speech_generators import PIPER_RATE, Piper

    tts, rows = Piper(), list[dict[str, str]]()
    for n in range(max(1, round(COUNTS["piper"] * scale))):
        text = _text(rng)
        path = out / "piper" / f"{n:05d}.wav"
        _write(path, tts(text, rng.uniform(0.85, 1.2), rng.uniform(0.4, 0.8)), PIPER_RATE)
        rows.append({"file": str(path), "generator": "piper", "family": "vits", "voice": "en_US-joe-medium",
                     "split": "test", "text": text})
    return rows


def _resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    from fractions import Fraction

    from scipy.signal import resample_poly

    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    ratio = Fraction(dst, src)
    return np.asarray(resample_poly(audio, ratio.numerator, ratio.denominator), np.float32)


def _hifigan(out: Path, rng: random.Random, scale: float) -> list[dict[str, str]]:
    from detectors.training.hifigan import RATE, HifiGan

    rows: list[dict[str, str]] = []
    universal, lj = HifiGan("universal"), HifiGan("LJSpeech")
    fsdd = sorted(fsdd_dir().glob("*.wav"))
    for split, speakers in (("train", FSDD_TRAIN_SPEAKERS), ("test", FSDD_TEST_SPEAKERS)):
        per = max(1, round(COUNTS[f"hifigan_fsdd_{split}"] * scale))
        for speaker in speakers:
            files = [p for p in fsdd if p.name.split("_")[1] == speaker]
            for src in rng.sample(files, min(per, len(files))):
                audio, rate = sf.read(src, dtype="float32")
                path = out / "hifigan" / f"{len(rows):05d}.wav"
                if not path.exists():  # deterministic: a clip made by an interrupted run is kept
                    _write(path, universal(_resample(audio, rate, RATE)), RATE)
                rows.append({"file": str(path), "generator": "hifigan-universal", "family": "hifigan",
                             "voice": f"fsdd:{speaker}", "split": split, "text": src.name})
    for split in ("train", "test"):
        utterances = lj_split(split)
        if scale < 1:
            utterances = utterances[: max(1, round(len(utterances) * scale))]
        checkpoint = LJ_CHECKPOINT[split]
        gen = universal if checkpoint == "universal" else lj
        for src in utterances:
            audio, rate = sf.read(src, dtype="float32")
            path = out / "hifigan" / f"{len(rows):05d}.wav"
            if not path.exists():
                _write(path, gen(_resample(audio[: int(LJ_SECONDS * rate)], rate, RATE)), RATE)
            rows.append({"file": str(path), "generator": f"hifigan-{checkpoint.lower()}", "family": "hifigan",
                         "voice": "lj", "split": split, "text": src.stem})
    return rows


GENERATORS = ("kokoro", "piper", "hifigan")


def _make(name: str, out: Path, seed: int, scale: float, cache: Path) -> Path:
    """One generator's clips and its own manifest (skipped when that manifest exists)."""
    part = out / f"manifest-{name}.csv"
    if part.exists():
        return part
    t0 = time.monotonic()
    rng = random.Random(f"{seed}:{name}")
    rows = (_kokoro(out, cache, rng, scale) if name == "kokoro" else
            _piper(out, rng, scale) if name == "piper" else _hifigan(out, rng, scale))
    with part.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{name}: {len(rows)} clips in {time.monotonic() - t0:.0f} s", flush=True)
    return part


def synthesise(out: Path, seed: int = 16, scale: float = 1.0, cache: Path | None = None,
               only: tuple[str, ...] = GENERATORS) -> Path:
    """Make every clip (each generator skipped when its manifest already exists); answers the path of
    the combined manifest. `scale` < 1 makes a proportionally smaller set with the same voices."""
    manifest = out / "manifest.csv"
    if manifest.exists():
        return manifest
    parts = [_make(name, out, seed, scale, cache or out / "generators") for name in only]
    if set(only) != set(GENERATORS):
        return parts[-1]
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for part in parts:
            with part.open() as src:
                writer.writerows(csv.DictReader(src))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/synthetic-speech"))
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default=",".join(GENERATORS), help="comma-separated generators to run")
    args = parser.parse_args()
    print(synthesise(args.out, args.seed, args.scale, only=tuple(args.only.split(","))))


if __name__ == "__main__":
    main()

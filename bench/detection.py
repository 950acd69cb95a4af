"""Throughput of the learned detectors on this machine (2 cores), against baselines measured in the
same run.

    python -m bench.detection [--video-seconds 60]

- images/s: the full image detector path (decode → patches → features → ONNX) on a 1280×720 PNG and on a
  model-input-sized 128×128 patch, against the bare onnxruntime `session.run` on the same feature rows;
- audio: real-time factor (analysis time / audio duration) of the speech detector on 30 s of speech,
  against decoding alone;
- video: seconds to verify a 60 s 1280×720 H.264 + AAC MP4 (made here with PyAV) through the video
  detector (target < 10 s), against decoding every frame of it.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import soundfile
from PIL import Image

from detectors.base import MediaInput
from detectors.features import PATCH, decode_audio, image_feature_matrix, open_rgb
from detectors.onnx_models import (
    IMAGE_MODEL,
    MAX_AUDIO_SECONDS,
    MAX_IMAGE_PATCHES,
    MAX_IMAGE_PIXELS,
    SPEECH_MODEL,
    ImageDetector,
    OnnxModel,
    SpeechDetector,
    VideoDetector,
)

MODELS = Path(__file__).resolve().parents[1] / "detectors" / "models"


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Best-of-three mean seconds per call (best of three rounds smooths out other users of the cores)."""
    fn()
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        rounds.append((time.perf_counter() - start) / repeat)
    return min(rounds)


def photo_like(width: int, height: int) -> np.ndarray:
    """A textured test picture (a shipped photograph tiled to size, or noise if it is missing)."""
    try:
        import skimage

        base = np.asarray(Image.open(Path(skimage.__file__).parent / "data" / "astronaut.png").convert("RGB"))
    except ImportError:
        base = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    reps = (height // base.shape[0] + 1, width // base.shape[1] + 1, 1)
    return np.ascontiguousarray(np.tile(base, reps)[:height, :width])


def speech(seconds: float, path: Path) -> Path:
    words = " ".join(["one two three four five six seven eight nine zero"] * int(seconds / 2 + 1))
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), words], check=True, capture_output=True)
    samples, rate = soundfile.read(str(path), dtype="float32")
    soundfile.write(str(path), samples[: int(seconds * rate)], rate)
    return path


def make_video(path: Path, seconds: int, audio: np.ndarray) -> Path:
    """1280×720, 25 fps H.264 (2 s GOP) with a 16 kHz AAC speech track."""
    frame_base = photo_like(1280 + 400, 720)
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=25, options={"preset": "ultrafast", "g": "50"})
        video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
        sound = container.add_stream("aac", rate=16000)
        sound.layout = "mono"
        for i in range(seconds * 25):
            x = (i * 4) % 400
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_base[:, x : x + 1280]), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode())
        pcm = (np.resize(audio, seconds * 16000) * 32767).astype(np.int16)
        for start in range(0, pcm.size, 1024):
            chunk = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, start
            container.mux(sound.encode(chunk))
        container.mux(sound.encode())
    return path


def decode_all_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video-seconds", type=int, default=60)
    args = parser.parse_args()
    image_model, speech_model = OnnxModel(MODELS, IMAGE_MODEL), OnnxModel(MODELS, SPEECH_MODEL)
    image_det, speech_det = ImageDetector(image_model), SpeechDetector(speech_model)
    video_det = VideoDetector(image_model, speech_model)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("== images (onnxruntime CPU, ≤2 intra-op threads)")
        png = tmp / "720p.png"
        Image.fromarray(photo_like(1280, 720)).save(png)
        patch_png = tmp / "patch.png"
        Image.fromarray(photo_like(PATCH, PATCH)).save(patch_png)
        rows = image_feature_matrix(np.asarray(open_rgb(png, MAX_IMAGE_PIXELS)), MAX_IMAGE_PATCHES)
        t_run = timed(lambda: image_model.probabilities(rows), 50)
        t_row = timed(lambda: image_model.probabilities(rows[:1]), 200)
        t_full = timed(lambda: image_det.analyse(MediaInput(png, "image/png", "")), 5)
        t_patch = timed(lambda: image_det.analyse(MediaInput(patch_png, "image/png", "")), 50)
        t_decode_png = timed(lambda: open_rgb(png, MAX_IMAGE_PIXELS), 5)
        print(f"  model input {PATCH}×{PATCH}: full path {1 / t_patch:8.1f} images/s;"
              f" bare session.run on its feature row {1 / t_row:8.1f}/s (ratio {t_patch / t_row:.1f}×)")
        print(f"  1280×720 PNG ({len(rows)} patches): full path {1 / t_full:8.1f} images/s;"
              f" bare session.run on the same rows {1 / t_run:8.1f}/s (ratio {t_full / t_run:.1f}×);"
              f" PNG decoding alone {1 / t_decode_png:.1f}/s (ratio {t_full / t_decode_png:.1f}×)")

        print("== audio")
        wav = speech(30.0, tmp / "speech.wav")
        dur = soundfile.info(str(wav)).duration
        t_audio = timed(lambda: speech_det.analyse(MediaInput(wav, "audio/wav", "")), 3)
        t_decode = timed(lambda: decode_audio(wav, MAX_AUDIO_SECONDS), 3)
        print(f"  {dur:.1f} s of speech: analysis {t_audio:.3f} s, real-time factor {t_audio / dur:.4f}"
              f" ({dur / t_audio:.0f}× faster than real time); decode only {t_decode:.3f} s"
              f" (analysis = {t_audio / t_decode:.1f}× decoding)")

        print(f"== video ({args.video_seconds} s, 1280×720, 25 fps H.264 + AAC; made here)")
        samples, rate = soundfile.read(str(wav), dtype="float32")
        audio16k = np.interp(np.arange(0, samples.size, rate / 16000), np.arange(samples.size), samples)
        start = time.perf_counter()
        mp4 = make_video(tmp / "720p.mp4", args.video_seconds, audio16k.astype(np.float32))
        print(f"  (encoding it took {time.perf_counter() - start:.1f} s, {mp4.stat().st_size / 1e6:.1f} MB)")
        start = time.perf_counter()
        signal = video_det.analyse(MediaInput(mp4, "video/mp4", ""))
        t_video = time.perf_counter() - start
        start = time.perf_counter()
        n = decode_all_frames(mp4)
        t_all = time.perf_counter() - start
        assert signal is not None
        print(f"  verify through the video detector: {t_video:.2f} s (target < 10 s) —"
              f" {signal.evidence['components']['frames']['frames']} frames + "
              f"{signal.evidence['components'].get('audio', {}).get('seconds_analysed', 0)} s audio analysed")
        print(f"  baseline, decoding all {n} frames: {t_all:.2f} s (detector = {t_video / t_all:.2f}× that)")
        comp = signal.evidence["components"]
        print(f"  (scores: frames {comp['frames']['score']}, audio {comp.get('audio', {}).get('score')},"
              f" answer {signal.score} decided by {signal.evidence['decided_by']})")


if __name__ == "__main__":
    main()

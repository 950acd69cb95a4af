"""Throughput of the learned detectors on this machine (2 cores), against baselines measured in the
same run.

    python -m bench.detection [--video-seconds 60] [--n 100]

- image: p50/p99 and images/s of an unsigned 1 MP JPEG through `VerifyService.verify_media` (provenance,
  every detector, the policy) and through the image detector alone (decode → 3 CLIP crops → encoder →
  probe), beside the bare onnxruntime `session.run` of encoder and probe on the same crops; peak RSS;
- audio: real-time factor (analysis time / audio duration) of the speech detector on 30 s of speech,
  against decoding alone and against the bare `session.run` on the same segment feature rows;
- video: seconds to verify a 60 s 1280×720 H.264 + AAC MP4 (made here with PyAV) through the video
  detector (target < 10 s), against decoding every frame of it; peak RSS.
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

from bench.common import ms, peak_rss
from bench.fixtures import jpeg_1mp, open_services
from detectors.base import MediaInput
from detectors.features import open_rgb
from detectors.image_embedding import crops
from detectors.onnx_models import (
    MAX_AUDIO_SECONDS,
    MAX_AUDIO_SEGMENTS,
    MAX_IMAGE_PIXELS,
    MAX_IMAGE_VIEWS,
    SPEECH_MODEL,
    ImageDetector,
    ImageModel,
    OnnxModel,
    SpeechDetector,
    VideoDetector,
)
from detectors.speech_features import SPEECH_RATE, decode_audio, speech_feature_matrix

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


def samples(fn: Callable[[], object], n: int) -> list[float]:
    fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def line(name: str, s: list[float], base: list[float] | None = None, rss: float | None = None) -> str:
    p50, p99 = ms(s)
    text = f"  {name}: p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {1 / np.median(s):6.1f} images/s"
    if base:
        text += f"  (ratio to bare session.run p50 {p50 / ms(base)[0]:.2f}x)"
    return text + (f"  peak RSS {rss:.0f} MB" if rss is not None else "")


def bench_images(tmp: Path, n: int, image_model: ImageModel, image_det: ImageDetector) -> None:
    print(f"== unsigned 1 MP JPEG (1000x1000), n={n} (onnxruntime CPU, <=2 intra-op threads)")
    jpg = jpeg_1mp(tmp / "1mp.jpg")
    batch = crops(np.asarray(open_rgb(jpg, MAX_IMAGE_PIXELS)), MAX_IMAGE_VIEWS)
    enc, probe = image_model.encoder, image_model.probe
    bare = samples(lambda: probe.probabilities(enc.embed(batch)), n)
    print(line(f"bare session.run (CLIP encoder on {len(batch)} crops + probe)", bare))
    with peak_rss() as rss:
        det = samples(lambda: image_det.analyse(MediaInput(jpg, "image/jpeg", "")), n)
    print(line("image detector (decode, crops, encoder, probe)", det, bare, rss.mb))
    services, _ = open_services(tmp / "svc")
    try:
        with peak_rss() as rss:
            full = samples(lambda: services.verify.verify_media(services.media.inspect(jpg)), n)
        print(line("VerifyService.verify_media (all detectors + policy; target p50 < 200 ms)", full, bare, rss.mb))
    finally:
        services.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video-seconds", type=int, default=60)
    parser.add_argument("--n", type=int, default=100, help="repetitions per image case")
    args = parser.parse_args()
    image_model, speech_model = ImageModel(MODELS), OnnxModel(MODELS, SPEECH_MODEL)
    image_det, speech_det = ImageDetector(image_model), SpeechDetector(speech_model)
    video_det = VideoDetector(image_model, speech_model)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bench_images(tmp, args.n, image_model, image_det)

        print("== audio")
        wav = speech(30.0, tmp / "speech.wav")
        dur = soundfile.info(str(wav)).duration
        t_audio = timed(lambda: speech_det.analyse(MediaInput(wav, "audio/wav", "")), 3)
        t_decode = timed(lambda: decode_audio(wav, MAX_AUDIO_SECONDS), 3)
        audio_rows = speech_feature_matrix(decode_audio(wav, MAX_AUDIO_SECONDS), MAX_AUDIO_SEGMENTS)
        t_srun = timed(lambda: speech_model.probabilities(audio_rows), 50)
        print(f"  {dur:.1f} s of speech ({SPEECH_RATE} Hz front end): analysis {t_audio:.3f} s, real-time factor"
              f" {t_audio / dur:.4f} ({dur / t_audio:.0f}× faster than real time); decode only {t_decode:.3f} s"
              f" (analysis = {t_audio / t_decode:.1f}× decoding); bare session.run on the same"
              f" {len(audio_rows)} segment rows {t_srun * 1000:.3f} ms, real-time factor {t_srun / dur:.2e}"
              f" (analysis = {t_audio / t_srun:.0f}× session.run)")

        print(f"== video ({args.video_seconds} s, 1280×720, 25 fps H.264 + AAC; made here)")
        samples, rate = soundfile.read(str(wav), dtype="float32")
        audio16k = np.interp(np.arange(0, samples.size, rate / 16000), np.arange(samples.size), samples)
        start = time.perf_counter()
        mp4 = make_video(tmp / "720p.mp4", args.video_seconds, audio16k.astype(np.float32))
        print(f"  (encoding it took {time.perf_counter() - start:.1f} s, {mp4.stat().st_size / 1e6:.1f} MB)")
        with peak_rss() as rss:
            start = time.perf_counter()
            signal = video_det.analyse(MediaInput(mp4, "video/mp4", ""))
            t_video = time.perf_counter() - start
        start = time.perf_counter()
        n = decode_all_frames(mp4)
        t_all = time.perf_counter() - start
        assert signal is not None
        print(f"  verify through the video detector: {t_video:.2f} s (target < 10 s), peak RSS {rss.mb:.0f} MB —"
              f" {signal.evidence['components']['frames']['frames']} frames + "
              f"{signal.evidence['components'].get('audio', {}).get('seconds_analysed', 0)} s audio analysed")
        print(f"  baseline, decoding all {n} frames: {t_all:.2f} s (detector = {t_video / t_all:.2f}× that)")
        comp = signal.evidence["components"]
        print(f"  (scores: frames {comp['frames']['score']}, audio {comp.get('audio', {}).get('score')},"
              f" answer {signal.score} decided by {signal.evidence['decided_by']})")


if __name__ == "__main__":
    main()

"""Media the tests make themselves, for formats the shared fixtures lack."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np
import soundfile
from PIL import Image


def tone(seconds: float = 1.0, rate: int = 16000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav(path: Path, seconds: float = 1.0) -> Path:
    samples = (tone(seconds) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.tobytes())
    return path


def flac(path: Path, seconds: float = 1.0) -> Path:
    soundfile.write(str(path), tone(seconds), 16000, format="FLAC")
    return path


def video(path: Path, seconds: float = 1.0, fmt: str | None = None, size: tuple[int, int] = (320, 240)) -> Path:
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * 25)):
            arr = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            arr[:, :, 0] = (i * 9) % 255
            arr[size[1] // 4 : size[1] // 2, (i * 5) % size[0] :, 1] = 200
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def png(path: Path, size: tuple[int, int] = (640, 480), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    Image.fromarray(arr).resize(size, Image.Resampling.BICUBIC).save(path, format="PNG")
    return path


def jpeg_bytes(size: tuple[int, int] = (1000, 1000), seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1] // 20, size[0] // 20, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).resize(size, Image.Resampling.BICUBIC).save(buf, format="JPEG", quality=90)
    return buf.getvalue()

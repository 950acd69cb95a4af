"""Demo media made locally (no downloads): a short MP4, a WAV melody, PNG and JPEG pictures."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def video(path: Path, seconds: float = 8.0, size: tuple[int, int] = (640, 360), fps: int = 25) -> Path:
    """A moving gradient with a bouncing disc: obviously synthetic, H.264 so every browser plays it."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            t = i / fps
            arr = np.empty((height, width, 3), dtype=np.uint8)
            arr[..., 0] = (xs * 255 // width + i * 3) % 256
            arr[..., 1] = (ys * 255 // height) % 256
            arr[..., 2] = 160
            cx = int((0.5 + 0.4 * np.sin(t * 1.7)) * width)
            cy = int((0.5 + 0.35 * np.cos(t * 2.3)) * height)
            arr[(xs - cx) ** 2 + (ys - cy) ** 2 < (height // 8) ** 2] = (255, 255, 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def melody(path: Path, seconds: float = 6.0, rate: int = 22050) -> Path:
    notes = [523.25, 587.33, 659.25, 698.46, 783.99, 698.46, 659.25, 587.33]
    per = int(rate * seconds / len(notes))
    t = np.arange(per) / rate
    envelope = np.minimum(1.0, np.minimum(t * 40, (per / rate - t) * 40))
    samples = np.concatenate([0.25 * np.sin(2 * np.pi * f * t) * envelope for f in notes])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype(np.int16).tobytes())
    return path


def picture(path: Path, seed: int, size: tuple[int, int] = (800, 500), fmt: str = "PNG") -> Path:
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(0, 255, (height // 50 + 1, width // 50 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(20, 90))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=color, outline=(255, 255, 255), width=3)
    img.save(path, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return path


def tamper(signed: Path, out: Path) -> Path:
    """Changes bytes in the middle of the image data, after the manifest: the content no longer
    matches the hash the signature covers."""
    data = bytearray(signed.read_bytes())
    start = len(data) - len(data) // 4
    for i in range(start, start + 400, 7):
        data[i] ^= 0x55
    out.write_bytes(bytes(data))
    return out

"""Decoded pixels for the detectors: a still image, or frames spread over a video (PyAV)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps

from detectors.base import DetectorError


def load_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.seek(0)
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise DetectorError(f"the image cannot be decoded: {str(exc)[:200]}") from exc


def sample_frames(path: Path, samples: int, fmt: str = "rgb24") -> list[np.ndarray]:
    """Up to `samples` frames spread evenly over the video, each the keyframe at or before its point."""
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as inp:
            if not inp.streams.video:
                return []
            stream = inp.streams.video[0]
            base = float(stream.time_base) if stream.time_base else 1 / av.time_base
            if stream.duration:
                duration = stream.duration * base
            else:
                duration = (inp.duration or 0) / av.time_base
            points = [duration * (i + 0.5) / samples for i in range(samples)] if duration > 0 else [0.0]
            for t in points:
                inp.seek(int(t / base), stream=stream, any_frame=False, backward=True)
                for frame in inp.decode(stream):
                    frames.append(frame.to_ndarray(format=fmt))
                    break
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise DetectorError(f"the video cannot be decoded: {str(exc)[:200]}") from exc
    if not frames:
        raise DetectorError("the video has no decodable frames")
    return frames

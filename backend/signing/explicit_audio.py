"""The explicit label for audio (GB 45438-2025 §5): the rhythm prompt "短长 短短" — Morse "A I" — at the
start, and optionally at the end, of the signed file.

The prompt is a 1 kHz tone keyed in Morse timing: a unit of 120 ms, a dot one unit, a dash three, one unit
between the marks of a letter, three between letters (·— ··, 1.32 s), then four units of silence before
the content. Each mark ramps in and out over 5 ms so it does not click. The source's samples follow
unchanged: the file is decoded and encoded once, streaming, keeping its sample rate, channel layout and
codec (PCM and FLAC stay bit-exact after the prompt; MP3/AAC are re-encoded at the source's bit rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from backend.domain_errors import InvalidInput

UNIT = 0.12
TONE_HZ = 1000.0
LEVEL = 0.3  # about -10 dBFS: clearly audible, far from clipping
RAMP = 0.005
# (on, seconds) runs of "A I": dot, gap, dash, letter gap, dot, gap, dot, then the pause before the content
PATTERN: tuple[tuple[bool, float], ...] = (
    (True, UNIT), (False, UNIT), (True, 3 * UNIT), (False, 3 * UNIT),
    (True, UNIT), (False, UNIT), (True, UNIT), (False, 4 * UNIT),
)
CONTAINERS = {"audio/wav": "wav", "audio/flac": "flac", "audio/mpeg": "mp3", "audio/mp4": "ipod"}
ENCODER_OF = {"mp3": "libmp3lame", "mp3float": "libmp3lame", "aac": "aac", "opus": "libopus",
              "vorbis": "libopus"}


@dataclass(frozen=True)
class AudioLabel:
    at_end: bool = False  # also close the file with the prompt


def prompt_samples(rate: int) -> np.ndarray:
    """The prompt as float32 mono samples at `rate`."""
    parts = []
    ramp_n = max(1, int(RAMP * rate))
    for on, seconds in PATTERN:
        n = round(seconds * rate)
        if not on:
            parts.append(np.zeros(n, np.float32))
            continue
        t = np.arange(n) / rate
        tone = LEVEL * np.sin(2 * np.pi * TONE_HZ * t)
        env = np.ones(n)
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp_n))
        env[:ramp_n], env[-ramp_n:] = ramp, ramp[::-1]
        parts.append((tone * env).astype(np.float32))
    return np.concatenate(parts)


def prepend_prompt(src: Path, dst: Path, mime: str, label: AudioLabel) -> None:
    fmt = CONTAINERS.get(mime)
    if fmt is None:
        raise InvalidInput("explicit_label_impossible", f"no audio prompt for {mime}")
    try:
        with av.open(str(src)) as inp:
            if not inp.streams.audio:
                raise InvalidInput("explicit_label_impossible", "the file has no audio stream to label")
            _pass(inp, dst, fmt, label)
    except av.FFmpegError as exc:
        raise InvalidInput("bad_media", f"the audio cannot be decoded: {str(exc)[:200]}") from exc


def _pass(inp: Any, dst: Path, fmt: str, label: AudioLabel) -> None:
    ain = inp.streams.audio[0]
    ctx = ain.codec_context
    name = ENCODER_OF.get(ctx.name, ctx.name)
    rate, layout = ctx.sample_rate, ctx.layout.name
    with av.open(str(dst), "w", format=fmt) as out:
        try:
            aout: Any = out.add_stream(name, rate=rate)
        except (ValueError, av.FFmpegError) as exc:
            raise InvalidInput("explicit_label_impossible",
                               f"audio in {ctx.name} cannot be re-encoded here to carry the prompt") from exc
        aout.layout = layout
        formats = [f.name for f in (aout.codec.audio_formats or [])]
        aout.format = ctx.format.name if not formats or ctx.format.name in formats else formats[0]
        if ain.bit_rate and name in ("libmp3lame", "aac", "libopus"):
            aout.bit_rate = ain.bit_rate
        out.metadata.update(inp.metadata)
        channels = ctx.layout.nb_channels
        prompt = prompt_samples(rate)
        # Every frame reaches the encoder in its own sample format: the source's frames pass through
        # unchanged when it is the same (PCM, FLAC), the prompt is converted from float.
        to_prompt = av.AudioResampler(format=aout.format.name, layout=layout, rate=rate)
        to_source = av.AudioResampler(format=aout.format.name, layout=layout, rate=rate)
        _encode_prompt(out, aout, to_prompt, prompt, channels, layout, rate)
        for frame in inp.decode(ain):
            frame.pts = None
            for same in to_source.resample(frame):
                same.pts = None
                out.mux(aout.encode(same))
        if label.at_end:
            tail = np.concatenate([prompt[-round(4 * UNIT * rate):], prompt])
            _encode_prompt(out, aout, to_prompt, tail, channels, layout, rate)
        out.mux(aout.encode(None))


def _encode_prompt(out: Any, aout: Any, resampler: Any, mono: np.ndarray, channels: int, layout: str,
                   rate: int) -> None:
    block = 4096
    for start in range(0, len(mono), block):
        chunk = np.ascontiguousarray(np.repeat(mono[None, start:start + block], channels, axis=0))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = rate
        for converted in resampler.resample(frame):
            converted.pts = None
            out.mux(aout.encode(converted))


def prompt_seconds() -> float:
    return sum(seconds for _, seconds in PATTERN)


def describe(label: AudioLabel) -> str:
    return "audio:rhythm-start+end" if label.at_end else "audio:rhythm-start"

"""The audio explicit label (GB 45438-2025 §5): signed audio starts with the rhythm prompt 短长 短短 (Morse
"A I"), measured on the decoded samples of files signed through the running server; the rest is the
source (bit-exact for PCM and FLAC, correlated for MP3/AAC)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from tests.backend.test_signing import sign, verify_bytes
from tests.conftest import Server

WINDOW = 0.005  # the envelope's resolution, seconds
TOLERANCE = 0.02  # seconds, on each run of the pattern
DOT, DASH = 0.12, 0.36
# 短长 短短: dot, gap, dash, letter gap, dot, gap, dot
MORSE_A_I = [(True, DOT), (False, DOT), (True, DASH), (False, DASH), (True, DOT), (False, DOT), (True, DOT)]

FORMATS = {  # extension: ffmpeg encoding arguments, and whether the codec is lossless
    "wav": (["-c:a", "pcm_s16le", "-ac", "2", "-ar", "44100"], True),
    "flac": (["-c:a", "flac", "-ac", "1", "-ar", "48000"], True),
    "mp3": (["-c:a", "libmp3lame", "-b:a", "128k", "-ac", "2", "-ar", "44100"], False),
    "m4a": (["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"], False),
}


def make_audio(path: Path, args: list[str], seconds: float = 3.0) -> Path:
    """Pink noise under a slow chirp: content whose alignment and likeness a correlation can measure."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"anoisesrc=color=pink:amplitude=0.25:seed=7:duration={seconds}", "-f", "lavfi", "-i",
                    f"sine=frequency=300:beep_factor=2:duration={seconds}", "-filter_complex", "amix=inputs=2",
                    *args, str(path)], check=True)
    return path


def samples(path: Path) -> tuple[np.ndarray, int]:
    """Decoded samples, channels × n float32, and the rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate, layout = stream.codec_context.sample_rate, stream.codec_context.layout.name
        to_float = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks = [f.to_ndarray() for frame in container.decode(stream) for f in to_float.resample(frame)]
    return np.concatenate(chunks, axis=1), rate


def probe(path: Path) -> dict[str, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                          "stream=codec_name,sample_rate,channels", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True)
    stream: dict[str, str] = json.loads(out.stdout)["streams"][0]
    return stream


def envelope_runs(mono: np.ndarray, rate: int) -> list[tuple[bool, float]]:
    """On/off runs (seconds) of the signal's loudness in 5 ms windows, from the first loud window."""
    n = int(WINDOW * rate)
    rms = np.sqrt(np.mean(mono[: len(mono) // n * n].reshape(-1, n) ** 2, axis=1))
    on = rms > 0.25 * rms.max()
    first = int(np.argmax(on))
    runs: list[tuple[bool, float]] = []
    start = first
    for i in range(first + 1, len(on) + 1):
        if i == len(on) or on[i] != on[start]:
            runs.append((bool(on[start]), (i - start) * WINDOW))
            start = i
    return runs


def assert_rhythm(runs: list[tuple[bool, float]]) -> None:
    assert len(runs) >= len(MORSE_A_I), runs
    for (on, seconds), (want_on, want) in zip(runs, MORSE_A_I, strict=False):
        assert on == want_on and abs(seconds - want) <= TOLERANCE, (runs[:8], MORSE_A_I)


def dominant_hz(mono: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


def aligned_rest(signed: np.ndarray, source: np.ndarray, rate: int) -> np.ndarray:
    """The part of `signed` that lines up with `source` (found by cross-correlating the source's opening)."""
    probe_n = rate // 2
    head = source[0, :probe_n]
    window = signed[0, : int(3.0 * rate) + probe_n]
    scores = np.correlate(window, head, mode="valid")
    offset = int(np.argmax(scores))
    assert offset >= int(1.7 * rate), f"the content starts at {offset / rate:.3f} s, before the prompt ends"
    return signed[:, offset:offset + source.shape[1]]


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_signed_audio_starts_with_the_rhythm_prompt(embedded_server: Server, tmp_path: Path, ext: str) -> None:
    args, lossless = FORMATS[ext]
    src = make_audio(tmp_path / f"voice.{ext}", args)
    status, body, headers = sign(embedded_server, src)
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "audio:rhythm-start"
    signed = tmp_path / f"signed.{ext}"
    signed.write_bytes(body)
    assert probe(signed) == probe(src)  # codec, sample rate and channels kept

    out, rate = samples(signed)
    source, source_rate = samples(src)
    assert rate == source_rate
    head = out[:, : int(2.0 * rate)].mean(axis=0)
    assert_rhythm(envelope_runs(head, rate))
    dash = out[0, int(0.30 * rate):int(0.55 * rate)]
    assert abs(dominant_hz(dash, rate) - 1000) < 20  # a clear tone, not the content

    rest = aligned_rest(out, source, rate)
    if lossless:
        assert np.array_equal(rest, source), "the content after the prompt is not the source's samples"
    else:
        n = min(rest.shape[1], source.shape[1]) - rate // 10  # the codec's last frame may be cut
        corr = np.corrcoef(rest[:, :n].ravel(), source[:, :n].ravel())[0, 1]
        assert corr > 0.97, corr
    answer = verify_bytes(embedded_server, body, signed.name)
    assert answer["verdict"] == "signed_synthetic" and answer["validation_state"] == "Trusted"


def test_the_prompt_can_also_close_the_file(embedded_server: Server, tmp_path: Path) -> None:
    src = make_audio(tmp_path / "voice.wav", FORMATS["wav"][0], seconds=2.0)
    status, body, headers = sign(embedded_server, src, prompt_at_end="true")
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "audio:rhythm-start+end"
    signed = tmp_path / "signed.wav"
    signed.write_bytes(body)
    out, rate = samples(signed)
    source, _ = samples(src)
    assert_rhythm(envelope_runs(out[:, : int(2.0 * rate)].mean(axis=0), rate))
    tail = out[:, -int(2.0 * rate):].mean(axis=0)  # a pause after the content, the prompt, a pause
    assert_rhythm(envelope_runs(tail, rate))
    assert np.array_equal(aligned_rest(out, source, rate), source)


def test_audio_opt_out_is_the_source(embedded_server: Server, tmp_path: Path) -> None:
    src = make_audio(tmp_path / "voice.flac", FORMATS["flac"][0], seconds=1.0)
    status, body, headers = sign(embedded_server, src, visible_label="false")
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "off"
    signed = tmp_path / "signed.flac"
    signed.write_bytes(body)
    assert np.array_equal(samples(signed)[0], samples(src)[0])


def test_cli_signs_audio_with_the_prompt_at_both_ends(embedded_server: Server, tmp_path: Path) -> None:
    src = make_audio(tmp_path / "voice.wav", FORMATS["wav"][0], seconds=1.5)
    out = tmp_path / "signed.wav"
    embedded_server.cli("sign", str(src), "-o", str(out), "--generator", "demo-gen 1.0", "--prompt-at-end")
    signed, rate = samples(out)
    assert_rhythm(envelope_runs(signed[:, : int(2.0 * rate)].mean(axis=0), rate))
    assert_rhythm(envelope_runs(signed[:, -int(2.0 * rate):].mean(axis=0), rate))

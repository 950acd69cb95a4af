"""Explicit labels inside signed video and audio (GB 45438-2025 §5), measured on the decoded output of
files signed through the running server: the burned "AI生成" on the first 2 s of frames, and the
rhythm prompt 短长 短短 (Morse "A I") at the start of audio."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import av
import numpy as np

from detectors.watermark import read_media
from tests.backend.test_signing import sign, verify_bytes
from tests.conftest import Server
from tests.explicit_measure import glyph_ink_heights, plate_box

SIDE = 240


def make_video(path: Path, seconds: float = 4.0, codec: str = "libx264", fps: int = 25) -> Path:
    """A zoom into the Mandelbrot set (texture enough to carry the invisible mark) with a tone."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"mandelbrot=size=320x{SIDE}:rate={fps}",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                    "-c:v", codec, "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(path)], check=True)
    return path


def lumas(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(float(f.time or 0.0), f.to_ndarray(format="gray")) for f in container.decode(video=0)]


def probe(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type,codec_name,width,height,r_frame_rate,avg_frame_rate,sample_rate,"
                          "channels", "-of", "json", str(path)], check=True, capture_output=True, text=True)
    streams: list[dict[str, str]] = json.loads(out.stdout)["streams"]
    return streams


def audio_packets(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(audio=0) if p.size]


def soft_binding_key(signed: Path) -> int:
    import c2pa

    with c2pa.Reader("video/mp4", str(signed)) as reader:
        store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    binding = next(a for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding")
    return int.from_bytes(base64.b64decode(binding["data"]["blocks"][0]["value"]), "big")


def test_signed_mp4_carries_the_label_on_its_first_two_seconds(embedded_server: Server, tmp_path: Path) -> None:
    src = make_video(tmp_path / "gen.mp4")
    status, body, headers = sign(embedded_server, src)
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "video:first-2s"
    signed = tmp_path / "signed.mp4"
    signed.write_bytes(body)

    before, after = lumas(src), lumas(signed)
    assert len(after) == len(before) == 100
    early = [(t, b, a) for (t, b), (_, a) in zip(before, after, strict=True) if t < 2.0]
    late = [(t, b, a) for (t, b), (_, a) in zip(before, after, strict=True) if t >= 2.0]
    assert len(early) == 50
    for t, b, a in early:
        heights = glyph_ink_heights(b, a)
        assert len(heights) == 4, (t, heights)  # A, I, 生, 成
        assert min(heights) >= 0.05 * SIDE, (t, heights)
    # Where the plate was, later frames show the source again (only the invisible mark and re-encoding differ).
    # (the plate's box, not every pixel over 40 apart: the mark keyed by the random content id can push a few)
    box = plate_box(early[0][1], early[0][2])
    assert box is not None
    assert np.abs(early[0][2][box].astype(np.int16) - early[0][1][box]).mean() > 40
    for t, b, a in late:
        assert glyph_ink_heights(b, a) == [], t
        assert np.abs(a[box].astype(np.int16) - b[box]).mean() < 6, t

    src_streams, out_streams = probe(src), probe(signed)
    assert out_streams == src_streams  # same codecs, resolution, frame rate, sample rate and channels
    assert audio_packets(signed) == audio_packets(src)  # the soundtrack is copied, not re-encoded

    answer = verify_bytes(embedded_server, body, "signed.mp4")
    assert answer["verdict"] == "signed_synthetic" and answer["validation_state"] == "Trusted"
    reading = read_media(signed, "video/mp4")
    assert reading is not None and reading.key == soft_binding_key(signed)  # the mark survived the one pass


def test_corner_mark_stays_on_every_frame(embedded_server: Server, tmp_path: Path) -> None:
    src = make_video(tmp_path / "gen.mp4", seconds=3.0)
    status, body, headers = sign(embedded_server, src, corner_mark="true")
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "video:first-2s+corner"
    signed = tmp_path / "signed.mp4"
    signed.write_bytes(body)
    for t, (b, a) in [(t, (b, a)) for (t, b), (_, a) in zip(lumas(src), lumas(signed), strict=True)]:
        corner = (slice(0, SIDE // 6), slice(320 // 2, 320))
        heights = glyph_ink_heights(b[corner], a[corner])
        assert len(heights) == 4, (t, heights)
        if t >= 2.0:  # the large label is gone, the corner mark is not
            lower = (slice(SIDE // 2, SIDE), slice(0, 320 // 2))
            assert glyph_ink_heights(b[lower], a[lower]) == [], t


def test_hevc_keeps_its_codec(embedded_server: Server, tmp_path: Path) -> None:
    src = make_video(tmp_path / "gen.mp4", seconds=2.5, codec="libx265", fps=30)
    status, body, headers = sign(embedded_server, src)
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "video:first-2s"
    signed = tmp_path / "signed.mp4"
    signed.write_bytes(body)
    assert probe(signed) == probe(src)
    assert probe(signed)[0]["codec_name"] == "hevc" and probe(signed)[0]["r_frame_rate"] == "30/1"


def test_video_opt_out_keeps_pixels_and_says_off(embedded_server: Server, tmp_path: Path) -> None:
    src = make_video(tmp_path / "gen.mp4", seconds=2.5)
    status, body, headers = sign(embedded_server, src, visible_label="false")
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "off"
    signed = tmp_path / "signed.mp4"
    signed.write_bytes(body)
    for (_, b), (_, a) in zip(lumas(src), lumas(signed), strict=True):
        assert glyph_ink_heights(b, a) == []
    assert probe(signed) == probe(src)


def test_a_video_that_cannot_carry_the_label_is_refused(embedded_server: Server, tmp_path: Path) -> None:
    """HAP (a VJ codec) decodes here but has no encoder: a clear 400 by default, never a silent "off";
    the publisher may still sign it with visible_label=false."""
    src = tmp_path / "vj.mov"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "1",
                    "-c:v", "hap", str(src)], check=True)
    status, body, _ = sign(embedded_server, src)
    assert status == 400, body[:300]
    error = json.loads(body)["error"]
    assert error["code"] == "explicit_label_impossible" and "hap" in error["message"]
    status, body, headers = sign(embedded_server, src, visible_label="false")
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "off"

"""POST /v1/sign writes the GB 45438 `AIGC` record into each format's standard place before c2pa signs,
and an independent reader finds exactly that record there (ffprobe for MP4/WAV, mutagen for ID3/Vorbis,
an XMP parse for images) while the c2pa signature still verifies."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import defusedxml.ElementTree as SafeET
import mutagen
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from mutagen.id3 import ID3
from PIL import Image

from backend.implicit_label import KEYS, verify_signature
from backend.signing.keys import ensure_dev_identity
from tests import media_factory
from tests.backend.test_signing import sign, verify_bytes
from tests.conftest import Server

TC260 = "{http://www.tc260.org.cn/ns/AIGC/1.0/}AIGC"


def make(kind: str, folder: Path) -> Path:
    """A small unsigned file of each signable kind."""
    path = folder / f"in.{kind}"
    if kind == "jpg":
        path.write_bytes(media_factory.jpeg_bytes((400, 300)))
    elif kind in ("png", "webp"):
        media_factory.png(folder / "src.png", (400, 300))
        Image.open(folder / "src.png").save(path, format="PNG" if kind == "png" else "WEBP")
    elif kind == "wav":
        media_factory.wav(path, 0.5)
    elif kind == "flac":
        media_factory.flac(path, 0.5)
    elif kind in ("mp4", "mov"):
        media_factory.video(path, 0.5, fmt=kind)
    elif kind in ("mp3", "m4a"):
        codec = "libmp3lame" if kind == "mp3" else "aac"
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=0.5", "-c:a", codec, "-y",
                        str(path)], check=True)
    return path


def xmp_records(blob: bytes) -> list[str]:
    """Every TC260:AIGC value in the image's XMP, as Pillow hands the packet over (not avlabel's reader)."""
    with Image.open(io.BytesIO(blob)) as img:
        raw = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if raw is None:
        return []
    root = SafeET.fromstring(raw if isinstance(raw, bytes) else raw.encode())
    return [el.attrib[TC260] for el in root.iter() if TC260 in el.attrib]


def ffprobe_tags(path: Path) -> dict[str, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)], check=True,
                         capture_output=True, text=True).stdout
    tags: dict[str, str] = json.loads(out)["format"].get("tags", {})
    return tags


def independent_records(kind: str, path: Path) -> list[str]:
    if kind in ("jpg", "png", "webp"):
        return xmp_records(path.read_bytes())
    if kind in ("mp4", "mov", "m4a", "wav"):
        tags = ffprobe_tags(path)
        return [v for k, v in tags.items() if k.upper() == "AIGC"]
    if kind == "mp3":
        return [str(t) for f in ID3(path).getall("TXXX") if f.desc == "AIGC" for t in f.text]
    audio = mutagen.File(path)  # FLAC: Vorbis comments
    return [str(v) for v in (audio.tags.get("AIGC", []) if audio and audio.tags else [])]


@pytest.mark.parametrize("kind", ["jpg", "png", "webp", "mp4", "mov", "m4a", "mp3", "wav", "flac"])
def test_signed_file_carries_one_signed_record_in_its_standard_place(embedded_server: Server, tmp_path: Path,
                                                                     kind: str) -> None:
    status, body, headers = sign(embedded_server, make(kind, tmp_path), visible_label="false")
    assert status == 200, body[:300]
    out = tmp_path / f"signed.{kind}"
    out.write_bytes(body)
    found = independent_records(kind, out)
    assert len(found) == 1, found
    record = json.loads(found[0])
    assert list(record) == list(KEYS)
    assert record["Label"] == "1" and record["ProduceID"] == headers["x-content-id"]
    identity = ensure_dev_identity(embedded_server.data_dir / "keys")
    assert verify_signature(record, identity.leaf.public_bytes(Encoding.PEM))
    answer = verify_bytes(embedded_server, body, out.name)
    assert answer["verdict"] == "signed_synthetic", answer
    assert answer["manifest"]["aigc"] == record  # type: ignore[index]


def test_signed_png_keeps_the_record_with_the_burned_label(embedded_server: Server, tmp_path: Path) -> None:
    """The old path gave Pillow `xmp=` for PNG, which it drops: signed PNGs had no AIGC XMP at all."""
    status, body, headers = sign(embedded_server, make("png", tmp_path))
    assert status == 200 and headers["x-explicit-label"] == "burned"
    found = xmp_records(body)
    assert len(found) == 1 and json.loads(found[0])["ProduceID"] == headers["x-content-id"]

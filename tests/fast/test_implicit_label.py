"""The GB 45438-2025 Annex E `AIGC` record in each format's standard place, read back by independent readers."""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

import defusedxml.ElementTree as SafeET
import mutagen
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from mutagen.id3 import ID3, TXXX
from mutagen.mp4 import MP4, MP4FreeForm
from PIL import Image

from backend import implicit_label as il
from backend.implicit_label.images import NS, _chunk
from backend.signing.keys import ensure_dev_identity
from tests import media_factory

RECORD = il.build_record("1", "avlabel-test", "cid-0001")


def ffprobe_tags(path: Path) -> dict[str, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)],
                         capture_output=True, check=True, text=True).stdout
    tags: dict[str, str] = json.loads(out)["format"].get("tags", {})
    return tags


def mp3(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=0.5", "-y", str(path)], check=True)
    return path


def media(kind: str, tmp: Path) -> tuple[Path, str]:
    if kind == "jpeg":
        p = tmp / "a.jpg"
        p.write_bytes(media_factory.jpeg_bytes((64, 64)))
        return p, "image/jpeg"
    if kind == "png":
        return media_factory.png(tmp / "a.png", (64, 64)), "image/png"
    if kind == "webp":
        Image.open(media_factory.png(tmp / "a.png", (64, 64))).save(tmp / "a.webp", quality=80)
        return tmp / "a.webp", "image/webp"
    if kind == "mp4":
        return media_factory.video(tmp / "a.mp4", 0.2, size=(64, 64)), "video/mp4"
    if kind == "mp3":
        return mp3(tmp / "a.mp3"), "audio/mpeg"
    if kind == "m4a":
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=0.3", "-c:a", "aac", "-y",
                        str(tmp / "a.m4a")], check=True)
        return tmp / "a.m4a", "audio/mp4"
    if kind == "mkv":
        return media_factory.video(tmp / "a.mkv", 0.2, fmt="matroska", size=(64, 64)), "video/x-matroska"
    if kind == "flac":
        return media_factory.flac(tmp / "a.flac", 0.2), "audio/flac"
    return media_factory.wav(tmp / "a.wav", 0.2), "audio/wav"


def independent(kind: str, path: Path) -> list[str]:
    """The AIGC values as another reader sees them."""
    if kind == "webp":  # libwebp's demuxer (Pillow) finds the XMP chunk, and the image still decodes
        with Image.open(path) as img:
            img.load()
            packet = img.info["xmp"]
        root = SafeET.fromstring(packet)
        return [el.attrib[f"{{{NS}}}AIGC"] for el in root.iter() if f"{{{NS}}}AIGC" in el.attrib]
    if kind in ("jpeg", "png"):
        data = path.read_bytes()
        start, end = data.index(b"<x:xmpmeta"), data.index(b"</x:xmpmeta>") + 12
        assert data.count(b"<x:xmpmeta") == 1
        root = SafeET.fromstring(data[start:end])
        return [el.attrib[f"{{{NS}}}AIGC"] for el in root.iter() if f"{{{NS}}}AIGC" in el.attrib]
    if kind == "mp3":
        return [str(t) for f in ID3(path).getall("TXXX") if f.desc == "AIGC" for t in f.text]
    if kind == "flac":
        return list(mutagen.File(path).tags.get("AIGC", []))
    if kind in ("mp4", "m4a"):  # QuickTime `keys` form: ffprobe's tag, and the key itself in a `keys` box
        data = path.read_bytes()
        assert data.count(b"mdtaAIGC") == 1 and data.index(b"keys") < data.index(b"mdtaAIGC")
        assert not any(k.endswith("AIGC") for k in mutagen.File(path).tags or {})  # no iTunes-form copy
        return [ffprobe_tags(path)["AIGC"]]
    if kind == "mkv":  # one SimpleTag named AIGC in the file's Tags
        assert path.read_bytes().count(b"\x45\xa3\x84AIGC") == 1  # TagName, size 4, "AIGC"
    tag = ffprobe_tags(path).get("AIGC")
    return [] if tag is None else [tag]


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp", "mp4", "m4a", "mkv", "mp3", "flac", "wav"])
def test_record_is_in_the_standard_place_once_after_a_second_write(kind: str, tmp_path: Path) -> None:
    path, mime = media(kind, tmp_path)
    assert il.read(path, mime).status == "absent"
    il.write(path, mime, RECORD)
    second = dict(RECORD, ContentPropagator="platform-x", PropagateID="p-42")
    il.write(path, mime, second)
    values = independent(kind, path)
    assert len(values) == 1 and json.loads(values[0]) == second
    reading = il.read(path, mime)
    assert reading.status == "present" and reading.record == second and reading.reasons == []


def test_writer_enforces_the_annex() -> None:
    with pytest.raises(il.RecordError, match="Label"):
        il.build_record("4", "p", "id")
    with pytest.raises(il.RecordError, match="characters"):
        il.build_record("1", "某公司 name", "id")
    with pytest.raises(il.RecordError, match="misspelt"):
        il.record.check_for_write({**RECORD, "ReserveCode1": ""})


def test_signature_in_reserved_code_2_verifies_with_the_service_certificate(tmp_path: Path) -> None:
    ident = ensure_dev_identity(tmp_path / "keys")
    signed = il.sign_record(RECORD, ident.sign)
    cert = ident.leaf.public_bytes(Encoding.PEM)
    assert signed["ReservedCode2"] and il.verify_signature(signed, cert)
    assert not il.verify_signature(dict(signed, ProduceID="cid-0002"), cert)
    assert not il.verify_signature(RECORD, cert)


def _png_with_text(tmp: Path, chunks: list[bytes]) -> Path:
    path = media_factory.png(tmp / "t.png", (32, 32))
    data = path.read_bytes()
    at = data.index(b"IDAT") - 4
    path.write_bytes(data[:at] + b"".join(chunks) + data[at:])
    return path


@pytest.mark.parametrize(("value", "reason"), [
    ({**RECORD, "Label": 1}, "Label must be"),
    ({k if k != "ReservedCode1" else "ReserveCode1": v for k, v in RECORD.items()}, "misspelt"),
    ({**RECORD, "ContentProducer": "某公司"}, "characters outside"),
])
def test_malformed_records_are_non_compliant_with_the_reason(value: dict[str, object], reason: str,
                                                             tmp_path: Path) -> None:
    path = _png_with_text(tmp_path, [_chunk(b"tEXt", b"AIGC\x00" + json.dumps(value).encode())])
    reading = il.read(path, "image/png")
    assert reading.status == "non_compliant" and any(reason in r for r in reading.reasons), reading


def test_two_records_not_json_and_oversized_are_non_compliant(tmp_path: Path) -> None:
    good = json.dumps(RECORD).encode()
    two = _png_with_text(tmp_path, [_chunk(b"tEXt", b"AIGC\x00" + good), _chunk(b"tEXt", b"AIGC\x00" + good)])
    assert "2 AIGC records" in il.read(two, "image/png").reasons[0]
    junk = _png_with_text(tmp_path, [_chunk(b"tEXt", b"AIGC\x00{not json")])
    assert il.read(junk, "image/png").reasons == ["the AIGC value is not JSON"]
    big = _png_with_text(tmp_path, [_chunk(b"iTXt", b"AIGC\x00\x01\x00\x00\x00" + zlib.compress(b"x" * (1 << 20)))])
    reading = il.read(big, "image/png")
    assert reading.status == "non_compliant" and "over 4096" in reading.reasons[0]


def test_hostile_containers_never_crash_the_reader(tmp_path: Path) -> None:
    path = mp3(tmp_path / "lie.mp3")
    tags = ID3()
    tags.add(TXXX(encoding=3, desc="AIGC", text=[json.dumps(RECORD)]))
    tags.save(path)
    data = bytearray(path.read_bytes())
    data[6:10] = bytes([0x7F, 0x7F, 0x7F, 0x7F])  # the ID3 header claims ~256 MB
    path.write_bytes(bytes(data))
    lying = il.read(path, "audio/mpeg")
    assert lying.status == "non_compliant" and "cannot be parsed" in lying.reasons[0]
    wrong_box = tmp_path / "w.mp4"
    media_factory.video(wrong_box, 0.2, size=(64, 64))
    wrong_box.write_bytes(wrong_box.read_bytes() + b"\x00\x00\x00\x20uuidAIGC" + json.dumps(RECORD).encode()[:20])
    reading = il.read(wrong_box, "video/mp4")
    assert reading.status == "non_compliant" and "uuid" in reading.reasons[0]
    riff = media_factory.wav(tmp_path / "r.wav", 0.1)
    value = json.dumps(RECORD).encode()
    body = riff.read_bytes()[12:] + b"AIGC" + len(value).to_bytes(4, "little") + value + b"\x00" * (len(value) & 1)
    riff.write_bytes(b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body)
    assert "LIST/INFO" in il.read(riff, "audio/wav").reasons[0]
    itunes = media_factory.video(tmp_path / "i.mp4", 0.2, size=(64, 64))
    il.write(itunes, "video/mp4", RECORD)
    tags = MP4(itunes)
    tags["----:com.apple.iTunes:AIGC"] = [MP4FreeForm(json.dumps(RECORD).encode())]
    tags.save()
    assert "2 AIGC records" in il.read(itunes, "video/mp4").reasons[0]  # both forms are counted
    trunc = tmp_path / "t.wav"
    trunc.write_bytes(media_factory.wav(tmp_path / "x.wav", 0.1).read_bytes()[:30])
    assert il.read(trunc, "audio/wav").status == "non_compliant"

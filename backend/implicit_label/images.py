"""The record in images: XMP `TC260:AIGC` (JPEG APP1, PNG iTXt `XML:com.adobe.xmp`) written by editing the
container's segments/chunks (no re-encode: the pixels and other metadata stay byte-identical), and read from
XMP in any image, PNG `tEXt`/`iTXt` keyword `AIGC`, and EXIF UserComment (`{"AIGC": {...}}`)."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path
from xml.etree.ElementTree import Element
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as SafeET
from PIL import Image

from backend.implicit_label.record import KEYS, encode

NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\x00"
PNG_SIG = b"\x89PNG\r\n\x1a\n"
MAX_SCAN = 64 << 20  # bytes of a file searched for XMP packets
_PACKET = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)


def xmp_packet(record: dict[str, str], source_uri: str | None = None) -> bytes:
    """The XMP packet holding the record (and IPTC's DigitalSourceType when given); the one builder, also
    used by signing (backend/signing/visible.py)."""
    value = encode(record) if set(record) == set(KEYS) else json.dumps(record, ensure_ascii=False,
                                                                         separators=(",", ":"))
    iptc = ('xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            f'Iptc4xmpExt:DigitalSourceType={quoteattr(source_uri)} ') if source_uri is not None else ""
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:TC260="{NS}" {iptc}TC260:AIGC={quoteattr(value)}/>'
            '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def xmp_records(packet: bytes) -> list[str]:
    """Every TC260:AIGC value (attribute or element) in one XMP packet."""
    root: Element = SafeET.fromstring(packet)
    found: list[str] = []
    tag = f"{{{NS}}}AIGC"
    for el in root.iter():
        if tag in el.attrib:
            found.append(el.attrib[tag])
        if el.tag == tag:
            found.append(el.text or "")
    return found


# --- JPEG ---------------------------------------------------------------------------------------------------

def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment before the scan data."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos, out = 2, []
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: no more metadata segments
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((marker, pos, pos + 2 + length))
        pos += 2 + length
    return out


def write_jpeg(path: Path, record: dict[str, str], source_uri: str | None = None) -> None:
    data = path.read_bytes()
    segments = _jpeg_segments(data)
    keep = [(s, e) for m, s, e in segments if not (m == 0xE1 and data[s + 4:s + 4 + len(XMP_JPEG_ID)] == XMP_JPEG_ID)]
    payload = XMP_JPEG_ID + xmp_packet(record, source_uri)
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    # after APP0/JFIF (and EXIF APP1) when present, as readers expect
    head = [(s, e) for (s, e) in keep if data[s + 1] in (0xE0,)]
    rest = [(s, e) for (s, e) in keep if (s, e) not in head]
    end = segments[-1][2] if segments else 2
    out = b"\xff\xd8" + b"".join(data[s:e] for s, e in head) + app1 + b"".join(data[s:e] for s, e in rest) + data[end:]
    path.write_bytes(out)


def read_jpeg(path: Path) -> list[str]:
    data = path.read_bytes()[:MAX_SCAN]
    found: list[str] = []
    for marker, s, e in _jpeg_segments(data):
        if marker == 0xE1 and data[s + 4:s + 4 + len(XMP_JPEG_ID)] == XMP_JPEG_ID:
            found += xmp_records(data[s + 4 + len(XMP_JPEG_ID):e])
    return found + _exif_user_comment(path)


def _exif_user_comment(path: Path) -> list[str]:
    try:
        with Image.open(path) as img:
            raw = img.getexif().get_ifd(0x8769).get(0x9286)
    except (OSError, ValueError, SyntaxError):
        return []
    if isinstance(raw, bytes):
        # UNICODE comments are UCS-2 in either byte order (the TIFF header's, which writers do not all follow)
        codecs = ("utf-16-be", "utf-16-le") if raw[:8].startswith(b"UNICODE") else ("utf-8", "latin-1")
        texts = [raw[8:].decode(codec, "replace") for codec in codecs]
    elif isinstance(raw, str):
        texts = [raw]
    else:
        return []
    value = None
    for text in texts:
        try:
            value = json.loads(text.strip("\x00 \ufeff"))
            break
        except (json.JSONDecodeError, RecursionError):
            continue
    if isinstance(value, dict) and "AIGC" in value:
        inner = value["AIGC"]
        return [inner if isinstance(inner, str) else json.dumps(inner)]
    return []


# --- PNG ----------------------------------------------------------------------------------------------------

def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk."""
    if data[:8] != PNG_SIG:
        raise ValueError("not a PNG")
    pos, out = 8, []
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("a PNG chunk runs past the end of the file")
        out.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            break
    return out


def _text_keyword(data: bytes, kind: bytes, s: int, e: int) -> tuple[bytes, bytes] | None:
    """(keyword, text) of a tEXt/iTXt chunk (uncompressed iTXt only), else None."""
    body = data[s + 8:e - 4]
    if kind == b"tEXt":
        key, _, text = body.partition(b"\x00")
        return key, text
    if kind == b"iTXt":
        key, _, rest = body.partition(b"\x00")
        compressed = rest[:1] == b"\x01"
        _lang, _, rest = rest[2:].partition(b"\x00")
        _tkey, _, text = rest.partition(b"\x00")
        return key, zlib.decompress(text, bufsize=MAX_SCAN) if compressed else text
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png(path: Path, record: dict[str, str], source_uri: str | None = None) -> None:
    data = path.read_bytes()
    parts: list[bytes] = [PNG_SIG]
    for kind, s, e in _png_chunks(data):
        text = _text_keyword(data, kind, s, e) if kind in (b"tEXt", b"iTXt") else None
        if text is not None and text[0] in (b"XML:com.adobe.xmp", b"AIGC"):
            continue  # the one record replaces any earlier one
        parts.append(data[s:e])
        if kind == b"IHDR":
            parts.append(_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp_packet(record, source_uri)))
    path.write_bytes(b"".join(parts))


def read_png(path: Path) -> list[str]:
    data = path.read_bytes()[:MAX_SCAN]
    found: list[str] = []
    for kind, s, e in _png_chunks(data):
        if kind not in (b"tEXt", b"iTXt"):
            continue
        text = _text_keyword(data, kind, s, e)
        if text is None:
            continue
        if text[0] == b"XML:com.adobe.xmp":
            found += xmp_records(text[1])
        elif text[0] == b"AIGC":
            found.append(text[1].decode("utf-8", "replace"))
    return found


# --- WebP ---------------------------------------------------------------------------------------------------

def write_webp(path: Path, record: dict[str, str], source_uri: str | None = None) -> None:
    """An `XMP ` chunk (flagged in `VP8X`, which a simple VP8/VP8L file gains), replacing any earlier one."""
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if pos + 8 + size > len(data):
            raise ValueError("a WebP chunk runs past the end of the file")
        chunks.append((kind, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    chunks = [(k, b) for k, b in chunks if k != b"XMP "]
    if not chunks or chunks[0][0] != b"VP8X":
        with Image.open(path) as img:
            width, height, alpha = img.width, img.height, "A" in img.mode
        header = bytes([0x10 if alpha else 0]) + b"\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (
            height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", header))
    flags = chunks[0][1]
    chunks[0] = (b"VP8X", bytes([flags[0] | 0x04]) + flags[1:])  # bit 2: XMP metadata present
    chunks.append((b"XMP ", xmp_packet(record, source_uri)))
    body = b"WEBP" + b"".join(k + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for k, b in chunks)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_any_xmp(path: Path) -> list[str]:
    """WebP, TIFF, HEIF/AVIF, GIF: every XMP packet found in the file's bytes."""
    with path.open("rb") as fh:
        data = fh.read(MAX_SCAN)
    found: list[str] = []
    for match in _PACKET.finditer(data):
        found += xmp_records(match.group(0))
    return found

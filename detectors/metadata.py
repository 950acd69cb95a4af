"""Metadata signals: what generators and labellers write into files, read with the formats' libraries.

* XMP (Pillow's raw packet, parsed with defusedxml): IPTC `Iptc4xmpExt:DigitalSourceType` and the
  GB 45438-2025 implicit label `TC260:AIGC` (a JSON string).
* EXIF (Pillow): `Software` / `ProcessingSoftware` of known generators, the AIGC JSON in `UserComment`,
  `ImageDescription` or `XPComment`.
* PNG text chunks (Pillow `info`): Stable Diffusion web UIs' `parameters`, ComfyUI's `prompt`/`workflow`,
  an `AIGC` chunk.
* Audio tags (mutagen) and video/audio container and stream metadata (PyAV): AIGC fields, source-type
  URIs, generator names.
* C2PA manifests that failed validation but still declare a synthetic source or a generator
  (`provenance_signal`, fed by the verify flow's own c2pa reading).

What counts, and how strongly, is data: manifests/generators.json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import mutagen
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from PIL import Image

from detectors.base import DetectorError, MediaInput, Signal

DATA_FILE = Path(__file__).resolve().parent.parent / "manifests" / "generators.json"
_EXIF_IFD = 0x8769
_SOFTWARE_TAGS = {0x0131: "Software", 0x000B: "ProcessingSoftware"}
_TEXT_TAGS = {0x010E: "ImageDescription", 0x9C9C: "XPComment"}
_USER_COMMENT = 0x9286
_MAX_TEXT = 200_000  # a metadata value larger than this is not looked into


@dataclass(frozen=True)
class Finding:
    source: str  # xmp, exif, png_text, container, c2pa
    field: str
    value: str
    meaning: str
    score: float

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "field": self.field, "value": self.value[:300], "meaning": self.meaning,
                "score": self.score}


class Rules:
    """manifests/generators.json, loaded once per detector."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.scores: dict[str, float] = {k: float(v) for k, v in data["scores"].items()}
        self.software = [(re.compile(rf"(?<!\w){re.escape(s['pattern'])}(?!\w)", re.I), s["generator"])
                         for s in data["software"]]

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> Rules:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def source_type(self, uri: str, source: str, field: str) -> Finding | None:
        name = uri.strip().rstrip("/").rsplit("/", 1)[-1]
        strength = self.data["digital_source_types"].get(name)
        if strength in (None, "none"):
            return None
        return Finding(source, field, uri, f"IPTC digital source type {name}", self.scores[strength])

    def aigc(self, raw: str, source: str, field: str) -> Finding | None:
        """The GB 45438 AIGC JSON, bare or wrapped in {"AIGC": …}; its Label code says how strong."""
        try:
            doc = json.loads(raw.strip().strip("\x00"))
        except (json.JSONDecodeError, ValueError):
            return None
        if isinstance(doc, dict) and isinstance(doc.get("AIGC"), (dict, str)):
            doc = doc["AIGC"] if isinstance(doc["AIGC"], dict) else _json_or_none(doc["AIGC"])
        if not isinstance(doc, dict) or "Label" not in doc:
            return None
        label = str(doc.get("Label")).strip()
        rule = self.data["gb45438_labels"].get(label)
        producer = str(doc.get("ContentProducer") or "")
        if rule is None:
            meaning = f"GB 45438 implicit label with an unknown Label code {label!r}"
            return Finding(source, field, raw, meaning, self.scores["weak"])
        meaning = f"GB 45438 implicit label: {rule['meaning']}" + (f", producer {producer}" if producer else "")
        return Finding(source, field, raw, meaning, self.scores[rule["strength"]])

    def software_name(self, value: str, source: str, field: str) -> Finding | None:
        for pattern, generator in self.software:
            if pattern.search(value):
                return Finding(source, field, value, f"written by a known generator: {generator}",
                               self.scores["strong"])
        return None

    def png_text(self, key: str, value: str) -> Finding | None:
        rule = self.data["png_text"].get(key)
        if rule is None or not all(marker in value for marker in rule["must_contain"]):
            return None
        return Finding("png_text", key, value, f"generation settings written by {rule['generator']}",
                       self.scores["strong"])

    def any_text(self, key: str, value: str, source: str) -> list[Finding]:
        """A free-form tag: AIGC JSON, a source-type URI, or a generator's name."""
        found: list[Finding] = []
        if len(value) > _MAX_TEXT:
            return found
        if "aigc" in key.lower() or '"Label"' in value:
            hit = self.aigc(value, source, key)
            if hit:
                found.append(hit)
        for uri in re.findall(r"digitalsourcetype/(\w+)", value):
            hit = self.source_type(uri, source, key)
            if hit:
                found.append(hit)
        if "<x:xmpmeta" in value or "<rdf:RDF" in value:
            found.extend(xmp_findings(value, self, source))
        if not found and key.lower().split(":")[-1] in _SOFTWARE_KEYS:
            hit = self.software_name(value, source, key)
            if hit:
                found.append(hit)
        return found


_SOFTWARE_KEYS = {"software", "encoder", "encoded_by", "tsse", "©too", "comment", "description", "tool",
                  "creator", "creator_tool", "handler_name", "processingsoftware"}


def _json_or_none(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, ValueError):
        return None


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def xmp_findings(packet: str | bytes, rules: Rules, source: str = "xmp") -> list[Finding]:
    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        start, end = text.find("<rdf:RDF"), text.rfind("</rdf:RDF>")
        if start < 0 or end < 0:
            return []
        end += len("</rdf:RDF>")
    else:
        end += len("</x:xmpmeta>")
    try:
        root = ElementTree.fromstring(text[start:end])
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return []
    found: list[Finding] = []
    for el in root.iter():
        pairs = [(_local(k), v) for k, v in el.attrib.items()]
        if el.text and el.text.strip():
            pairs.append((_local(el.tag), el.text.strip()))
        for name, value in pairs:
            hit: Finding | None = None
            if name == "DigitalSourceType":
                hit = rules.source_type(value, source, "Iptc4xmpExt:DigitalSourceType")
            elif name == "AIGC":
                hit = rules.aigc(value, source, "TC260:AIGC")
            elif name in ("CreatorTool", "softwareAgent", "Software"):
                hit = rules.software_name(value, source, name)
            if hit:
                found.append(hit)
    return found


def _decode_user_comment(raw: Any, little_endian: bool) -> str:
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes):
        return str(raw)
    head, body = raw[:8], raw[8:]
    if head.startswith(b"UNICODE"):
        for enc in (("utf-16-le", "utf-16-be") if little_endian else ("utf-16-be", "utf-16-le")):
            text = body.decode(enc, "replace")
            if "{" in text:
                return text
        return body.decode("utf-16", "replace")
    if head.startswith((b"ASCII", b"\x00" * 8, b"JIS")):
        return body.decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


_PNG_DECODE_PIXELS = 4_000_000


def image_findings(path: Path, rules: Rules) -> list[Finding]:
    try:
        with Image.open(path) as im:
            info = dict(im.info)
            if im.format == "PNG" and "exif" not in info and im.width * im.height > _PNG_DECODE_PIXELS:
                exif = Image.Exif()  # Pillow would decode every pixel to look for an eXIf chunk after the data
            else:
                exif = im.getexif()
            exif_ifd = exif.get_ifd(_EXIF_IFD)
            little = getattr(exif, "endian", "<") == "<"
            fmt = im.format
            tags = getattr(im, "tag_v2", None)
            if tags is not None and 700 in tags:  # TIFF keeps its XMP packet as tag 700
                info.setdefault("xmp", tags[700])
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise DetectorError(f"the image cannot be read: {str(exc)[:200]}") from exc
    found: list[Finding] = []
    for key, value in info.items():
        if not isinstance(key, str) or not isinstance(value, (str, bytes)) or key in ("exif", "icc_profile"):
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if len(text) > _MAX_TEXT:
            continue
        if key in ("xmp", "XML:com.adobe.xmp"):
            found.extend(xmp_findings(text, rules))
            continue
        hit = rules.png_text(key, text)
        found.extend([hit] if hit else rules.any_text(key, text, "png_text" if fmt == "PNG" else "info"))
    for tag, name in _SOFTWARE_TAGS.items():
        if exif.get(tag):
            hit = rules.software_name(str(exif.get(tag)), "exif", name)
            if hit:
                found.append(hit)
    texts = {name: exif.get(tag) for tag, name in _TEXT_TAGS.items() if exif.get(tag)}
    if exif_ifd.get(_USER_COMMENT):
        texts["UserComment"] = exif_ifd.get(_USER_COMMENT)
    for name, raw in texts.items():
        if isinstance(raw, bytes) and name == "XPComment":
            value = raw.decode("utf-16-le", "replace").rstrip("\x00")
        else:
            value = _decode_user_comment(raw, little)
        found.extend(rules.any_text("AIGC" if "AIGC" in value else name, value, "exif"))
    return found


def audio_findings(path: Path, rules: Rules) -> list[Finding]:
    try:
        tagged = mutagen.File(str(path))
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:
        raise DetectorError(f"the audio tags cannot be read: {str(exc)[:200]}") from exc
    found: list[Finding] = []
    tags = getattr(tagged, "tags", None) if tagged is not None else None
    if not tags:
        return found
    for key, value in list(tags.items()):
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = _tag_text(item)
            if text:
                found.extend(rules.any_text(str(key), text, "audio_tags"))
    return found


def _tag_text(item: Any) -> str:
    """ID3 frames, MP4 freeform atoms, Vorbis comments… as text."""
    if hasattr(item, "text") and isinstance(item.text, list):
        return " ".join(str(t) for t in item.text)
    if hasattr(item, "data") and isinstance(item.data, bytes):  # ID3 PRIV (e.g. XMP)
        return item.data.decode("utf-8", "replace")
    if isinstance(item, bytes):
        return item.decode("utf-8", "replace")
    return str(item)


def container_findings(path: Path, rules: Rules) -> list[Finding]:
    try:
        with av.open(str(path)) as container:
            groups = [dict(container.metadata)] + [dict(s.metadata) for s in container.streams]
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise DetectorError(f"the container cannot be read: {str(exc)[:200]}") from exc
    found: list[Finding] = []
    for meta in groups:
        for key, value in meta.items():
            found.extend(rules.any_text(str(key), str(value), "container"))
    return found


class MetadataDetector:
    name = "metadata"
    version = "1"

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules.load()

    def findings(self, media: MediaInput) -> list[Finding]:
        if media.kind == "image":
            return image_findings(media.path, self.rules)
        found: list[Finding] = []
        if media.kind == "audio":
            found.extend(audio_findings(media.path, self.rules))
        if media.kind in ("audio", "video"):
            found.extend(container_findings(media.path, self.rules))
        return found

    def analyse(self, media: MediaInput) -> Signal | None:
        found = _unique(self.findings(media))
        if not found:
            return None
        found.sort(key=lambda f: -f.score)
        return Signal(self.name, self.version, found[0].score, "metadata",
                      {"findings": [f.as_json() for f in found[:20]]})


def _unique(found: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in found:
        if (f.source, f.field, f.value) not in seen:
            seen.add((f.source, f.field, f.value))
            out.append(f)
    return out


def provenance_signal(summary: dict[str, Any] | None, state: str | None, failure_codes: list[str],
                      rules: Rules) -> Signal | None:
    """A manifest c2pa could read but not validate (tampered, untrusted) that still declares synthesis."""
    if not summary:
        return None
    found: list[Finding] = []
    if summary.get("digital_source_type"):
        hit = rules.source_type(str(summary["digital_source_type"]), "c2pa", "c2pa.actions digitalSourceType")
        if hit:
            found.append(hit)
    aigc = summary.get("aigc")
    if isinstance(aigc, dict):
        hit = rules.aigc(json.dumps(aigc, ensure_ascii=False), "c2pa", "cn.tc260.aigc")
        if hit:
            found.append(hit)
    generator = summary.get("generator")
    if generator:
        hit = rules.software_name(str(generator), "c2pa", "softwareAgent")
        if hit:
            found.append(hit)
    if not found:
        return None
    # The claim did not validate: it is a declaration we could not verify, so a little less than the
    # same words in trusted metadata.
    score = min(0.9, max(f.score for f in found))
    return Signal("c2pa-declared", "1", score, "metadata", {
        "validation_state": state, "failure_codes": failure_codes, "generator": generator,
        "findings": [f.as_json() for f in found],
        "meaning": "the media's C2PA manifest failed validation but declares AI generation",
    })

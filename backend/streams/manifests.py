"""DASH manifests as the monitor reads them: the lowest-bandwidth video Representation of the first
Period, its SegmentTemplate (`$Number$` / `$Time$`, with a SegmentTimeline, or `@duration` in a static
MPD), as the same `Playlist` the HLS reader gives (sequence = segment number, init = the initialization
segment). `type="static"` is a finished presentation; `dynamic` is live and re-read every
`minimumUpdatePeriod`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - DOCTYPE/ENTITY refused before parsing
from urllib.parse import urljoin

from backend.streams.playlists import MAX_SEGMENTS, Playlist, PlaylistError, Segment

_NS = re.compile(r"^\{[^}]*\}")
_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")
_VAR = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth)(%0\d+d)?\$")


def _tag(el: ET.Element) -> str:
    return _NS.sub("", el.tag)


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if _tag(c) == name), None)


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _tag(c) == name]


def _seconds(text: str | None, default: float) -> float:
    m = _DURATION.match(text or "")
    if not text or not m:
        return default
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def _fill(template: str, rep_id: str, bandwidth: str, number: int, time: int) -> str:
    numbers = {"Number": number, "Time": time}
    texts = {"RepresentationID": rep_id, "Bandwidth": bandwidth}

    def sub(m: re.Match[str]) -> str:
        if m.group(1) in numbers:
            value = numbers[m.group(1)]
            return m.group(2) % value if m.group(2) else str(value)
        return texts[m.group(1)]
    return _VAR.sub(sub, template)


def _base(url: str, *levels: ET.Element | None) -> str:
    for el in levels:
        base = _child(el, "BaseURL")
        if base is not None and base.text and base.text.strip():
            url = urljoin(url, base.text.strip())
    return url


def parse(text: str, url: str) -> Playlist:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise PlaylistError("the manifest declares a DOCTYPE or entities, which are refused")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE, so no entity expansion
    except ET.ParseError as exc:
        raise PlaylistError(f"the manifest is not XML: {exc}") from exc
    if _tag(root) != "MPD":
        raise PlaylistError("the manifest is not an MPD")
    period = _child(root, "Period")
    if period is None:
        raise PlaylistError("the manifest has no Period")
    video = [a for a in _children(period, "AdaptationSet")
             if a.get("contentType") == "video" or (a.get("mimeType") or "").startswith("video/")
             or any((r.get("mimeType") or "").startswith("video/") for r in _children(a, "Representation"))]
    if not video:
        raise PlaylistError("the manifest has no video AdaptationSet")
    adaptation = video[0]
    reps = _children(adaptation, "Representation")
    if not reps:
        raise PlaylistError("the video AdaptationSet has no Representation")
    rep = min(reps, key=lambda r: int(r.get("bandwidth") or 0))
    template = _child(rep, "SegmentTemplate") or _child(adaptation, "SegmentTemplate")
    if template is None or not template.get("media"):
        raise PlaylistError("only SegmentTemplate manifests are followed")
    base = _base(url, root, period, adaptation, rep)
    rep_id, bandwidth = rep.get("id") or "", rep.get("bandwidth") or ""
    timescale = int(template.get("timescale") or 1)
    number = int(template.get("startNumber") or 1)
    init = template.get("initialization")
    init_url = urljoin(base, _fill(init, rep_id, bandwidth, 0, 0)) if init else None
    media = template.get("media") or ""
    dynamic = root.get("type") == "dynamic"
    out = Playlist(ended=not dynamic, media_sequence=number)
    out.target_duration = max(1.0, _seconds(root.get("minimumUpdatePeriod"), 2.0) if dynamic else 2.0)
    timeline = _child(template, "SegmentTimeline")
    times: list[tuple[int, int]] = []  # (start, duration) in timescale units
    if timeline is not None:
        t = 0
        for s in _children(timeline, "S"):
            t = int(s.get("t") or t)
            d = int(s.get("d") or 0)
            for _ in range(int(s.get("r") or 0) + 1):
                if len(times) >= MAX_SEGMENTS or d <= 0:
                    break
                times.append((t, d))
                t += d
    elif template.get("duration") and not dynamic:
        d = int(template.get("duration") or 0)
        total = _seconds(root.get("mediaPresentationDuration"), 0.0) * timescale
        t = 0
        while d > 0 and t < total and len(times) < MAX_SEGMENTS:
            times.append((t, d))
            t += d
    else:
        raise PlaylistError("a live MPD needs a SegmentTimeline (@duration templates are not followed)")
    for i, (t, d) in enumerate(times):
        seq = number + i
        out.segments.append(Segment(seq, urljoin(base, _fill(media, rep_id, bandwidth, seq, t)), d / timescale,
                                    round(t / timescale, 3), init_url))
    if timeline is not None and times:
        out.target_duration = min(out.target_duration, max(1.0, times[-1][1] / timescale)) if dynamic else 2.0
    return out

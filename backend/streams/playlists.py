"""HLS playlists as the monitor reads them (RFC 8216, the tags it needs): a master playlist's variants,
and a media playlist's segments with their media sequence numbers, init section (fMP4) and end marker."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
MAX_SEGMENTS = 10_000


class PlaylistError(ValueError):
    """Not an HLS playlist the monitor can follow."""


@dataclass(frozen=True)
class Segment:
    sequence: int
    url: str
    duration: float
    start: float  # seconds from the start of the stream, as far as the playlist tells
    init_url: str | None  # the EXT-X-MAP init section (fragmented MP4), when there is one


@dataclass
class Playlist:
    target_duration: float = 2.0
    media_sequence: int = 0
    segments: list[Segment] = field(default_factory=list)
    ended: bool = False
    variants: list[tuple[int, str]] = field(default_factory=list)  # (bandwidth, URL) of a master playlist

    @property
    def is_master(self) -> bool:
        return bool(self.variants) and not self.segments


def _attrs(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


def parse(text: str, base_url: str) -> Playlist:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise PlaylistError("the playlist does not start with #EXTM3U")
    out = Playlist()
    duration: float | None = None
    init: str | None = None
    pending_variant: int | None = None
    start = 0.0
    for line in lines[1:]:
        if line.startswith("#EXT-X-TARGETDURATION:"):
            out.target_duration = max(0.5, float(line.split(":", 1)[1] or 2))
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            out.media_sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MAP:"):
            uri = _attrs(line.split(":", 1)[1]).get("URI")
            init = urljoin(base_url, uri) if uri else None
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0] or 0)
        elif line.startswith("#EXT-X-STREAM-INF:"):
            pending_variant = int(_attrs(line.split(":", 1)[1]).get("BANDWIDTH", "0") or 0)
        elif line == "#EXT-X-ENDLIST":
            out.ended = True
        elif line.startswith("#"):
            continue
        elif pending_variant is not None:
            out.variants.append((pending_variant, urljoin(base_url, line)))
            pending_variant = None
        elif duration is not None:
            if len(out.segments) >= MAX_SEGMENTS:
                raise PlaylistError(f"the playlist lists more than {MAX_SEGMENTS} segments")
            seq = out.media_sequence + len(out.segments)
            if not out.segments:
                start = seq * out.target_duration  # earlier segments have left a sliding window
            out.segments.append(Segment(seq, urljoin(base_url, line), duration, round(start, 3), init))
            start += duration
            duration = None
    return out


def parse_checked(text: str, base_url: str) -> Playlist:
    try:
        return parse(text, base_url)
    except (ValueError, IndexError) as exc:
        raise PlaylistError(f"the playlist cannot be read: {str(exc)[:200]}") from exc


def lowest_variant(playlist: Playlist) -> str:
    """The variant the monitor follows: the lowest bandwidth (every variant carries the same pictures)."""
    return min(playlist.variants)[1]

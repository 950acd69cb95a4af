"""A small, bounded EBML walker that finds every Matroska/WebM `SimpleTag` named `AIGC`.

Written here because libavformat (PyAV, ffprobe) merges tags of the same name, so a file with two records
reads as one. It walks Segment → Tags → Tag → SimpleTag (nested SimpleTags too), skipping Clusters and the
other top-level elements by their sizes (seeks, no reads), follows the SeekHead to Tags elements it has not
walked to, and reads only Tags into memory (at most `MAX_TAGS_BYTES` each). Hostile input: sizes past their
parent or the file, unknown sizes (live WebM's Segment and Clusters), deep nesting and truncation end in a
`ValueError` or a shorter walk, bounded in time by `MAX_ELEMENTS`; never a whole-file read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

EBML_HEADER, SEGMENT, SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x1A45DFA3, 0x18538067, 0x114D9B74, 0x4DBB, \
    0x53AB, 0x53AC
TAGS, TAG, TARGETS, SIMPLE_TAG, TAG_NAME, TAG_STRING, TAG_BINARY = 0x1254C367, 0x7373, 0x63C0, 0x67C8, 0x45A3, \
    0x4487, 0x4485
CLUSTER = 0x1F43B675
TRACK_UID, EDITION_UID, CHAPTER_UID, ATTACHMENT_UID = 0x63C5, 0x63C9, 0x63C4, 0x63C6
# Segment's children: inside an unknown-size Cluster one of these ends the Cluster.
TOP_LEVEL = frozenset({SEEK_HEAD, 0x1549A966, 0x1654AE6B, 0x1C53BB6B, 0x1941A469, 0x1043A770, TAGS, CLUSTER})
MAX_TAGS_BYTES = 4 << 20
MAX_ELEMENTS = 200_000  # headers looked at per file: a long live recording's blocks, not unbounded
MAX_DEPTH = 16  # SimpleTags inside SimpleTags
MAX_POINTED = 16  # Tags positions taken from SeekHeads
MAX_SEGMENT_HEAD = 64 << 20  # where the first Segment must start (after the EBML header and any Void)


@dataclass
class Found:
    """The AIGC values in a file's global Tags (no target), those in targeted ones, and whether the walk
    reached every element (False: a budget or a truncation stopped it)."""

    global_values: list[str] = field(default_factory=list)
    targeted_values: list[str] = field(default_factory=list)
    complete: bool = True


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int, bool]:
    """(value, length, all ones) of the EBML variable-size integer at data[pos]."""
    if pos >= len(data):
        raise ValueError("an EBML element header runs past the end of the data")
    first = data[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(data):
        raise ValueError("an EBML variable-size integer is invalid or truncated")
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, unknown


def _header(data: bytes, pos: int) -> tuple[int, int | None, int]:
    """(element id, size or None when unknown, payload start) of the element at data[pos]."""
    element_id, id_len, _ = _vint(data, pos, keep_marker=True)
    if id_len > 4:
        raise ValueError("an EBML element id is longer than 4 bytes")
    size, size_len, unknown = _vint(data, pos + id_len, keep_marker=False)
    return element_id, None if unknown else size, pos + id_len + size_len


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(id, payload start, payload end) of the elements in data[start:end]; a size past `end` is a lie."""
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        element_id, size, body = _header(data, pos)
        if size is None or body + size > end:
            raise ValueError("a Tags element's child runs past its parent (or has an unknown size)")
        out.append((element_id, body, body + size))
        pos = body + size
    return out


def _simple_tags(data: bytes, start: int, end: int, depth: int, values: list[str]) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"SimpleTags nested more than {MAX_DEPTH} deep")
    name: bytes | None = None
    value: bytes | None = None
    for element_id, s, e in _children(data, start, end):
        if element_id == TAG_NAME:
            name = data[s:e]
        elif element_id in (TAG_STRING, TAG_BINARY) and value is None:
            value = data[s:e]
        elif element_id == SIMPLE_TAG:
            _simple_tags(data, s, e, depth + 1, values)
    if name is not None and name.rstrip(b"\0").upper() == b"AIGC":
        values.append((value or b"").rstrip(b"\0").decode("utf-8", "replace"))


def parse_tags(data: bytes, found: Found) -> None:
    """One Tags element's payload: each Tag's SimpleTags, global (no target UID) or targeted."""
    for element_id, s, e in _children(data, 0, len(data)):
        if element_id != TAG:
            continue
        targeted = False
        values: list[str] = []
        for child_id, cs, ce in _children(data, s, e):
            if child_id == TARGETS:
                targeted = any(t in (TRACK_UID, EDITION_UID, CHAPTER_UID, ATTACHMENT_UID) and
                               int.from_bytes(data[ts:te] or b"\0", "big") != 0
                               for t, ts, te in _children(data, cs, ce))
            elif child_id == SIMPLE_TAG:
                _simple_tags(data, cs, ce, 1, values)
        (found.targeted_values if targeted else found.global_values).extend(values)


class _Walk:
    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh = fh
        self.size = size
        self.budget = MAX_ELEMENTS
        self.found = Found()
        self.tags_seen: set[int] = set()

    def header(self, pos: int) -> tuple[int, int | None, int] | None:
        """The element header at `pos`, or None at the end of the file / of the budget."""
        self.budget -= 1
        if self.budget < 0:
            self.found.complete = False
            return None
        self.fh.seek(pos)
        head = self.fh.read(12)
        if not head:
            return None
        try:
            element_id, size, body = _header(head, 0)
        except ValueError:
            self.found.complete = False  # a truncated or garbled tail: what was walked so far stands
            return None
        return element_id, size, pos + body

    def tags(self, pos: int, size: int | None) -> None:
        if pos in self.tags_seen:
            return
        self.tags_seen.add(pos)
        if size is None or size > MAX_TAGS_BYTES:
            raise ValueError(f"a Tags element has an unknown size or is over {MAX_TAGS_BYTES} bytes")
        self.fh.seek(pos)
        data = self.fh.read(size)
        if len(data) < size:
            raise ValueError("a Tags element runs past the end of the file")
        parse_tags(data, self.found)

    def seek_head(self, start: int, size: int | None, segment: int) -> list[int]:
        """Positions of the Tags elements a SeekHead names (relative to the Segment's payload)."""
        if size is None or size > 1 << 20:
            return []
        self.fh.seek(start)
        data = self.fh.read(size)
        targets: list[int] = []
        try:
            for element_id, s, e in _children(data, 0, len(data)):
                if element_id != SEEK:
                    continue
                entry = {cid: data[cs:ce] for cid, cs, ce in _children(data, s, e)}
                if entry.get(SEEK_ID) == TAGS.to_bytes(4, "big") and SEEK_POSITION in entry:
                    targets.append(segment + int.from_bytes(entry[SEEK_POSITION][:8], "big"))
        except ValueError:
            pass  # the SeekHead is only a hint: a broken one leaves the linear walk
        return targets[:MAX_POINTED]

    def segment(self, start: int, size: int | None) -> None:
        end = self.size if size is None else min(start + size, self.size)
        if size is not None and start + size > self.size:
            self.found.complete = False  # truncated: walk what is there
        pointed: list[int] = []
        pos = start
        while pos < end:
            head = self.header(pos)
            if head is None:
                break
            element_id, esize, body = head
            if element_id == TAGS:
                self.tags(body, esize)
            elif element_id == SEEK_HEAD:
                pointed += self.seek_head(body, esize, start)
            pos = body + esize if esize is not None else self.unknown_size(body, end)
        self.budget = max(self.budget, 0) + MAX_POINTED  # the pointed Tags are looked at even after a long walk
        for target in pointed:  # Tags past where the walk stopped (a budget, a truncation)
            head = self.header(target) if start <= target < self.size else None
            if head is not None and head[0] == TAGS:
                self.tags(head[2], head[1])

    def unknown_size(self, pos: int, end: int) -> int:
        """Skip an unknown-size element (a live stream's Cluster) child by child, each by its size, up to the
        next top-level element."""
        while pos < end:
            head = self.header(pos)
            if head is None:
                return end
            element_id, size, body = head
            if element_id in TOP_LEVEL:
                return pos
            if size is None:  # nested unknown sizes: not followed, the walk ends here
                self.found.complete = False
                return end
            pos = body + size
        return end


def find_aigc(fh: BinaryIO, size: int) -> Found:
    """Every AIGC SimpleTag in the file's first Segment. ValueError: not EBML, or a lying Tags element."""
    walk = _Walk(fh, size)
    head = walk.header(0)
    if head is None or head[0] != EBML_HEADER or head[1] is None:
        raise ValueError("the file does not start with an EBML header")
    pos = head[2] + head[1]
    while pos < min(size, MAX_SEGMENT_HEAD):
        head = walk.header(pos)
        if head is None:
            break
        element_id, esize, body = head
        if element_id == SEGMENT:
            walk.segment(body, esize)
            return walk.found
        if esize is None:
            break
        pos = body + esize  # Void or CRC-32 before the Segment
    raise ValueError("no Matroska Segment after the EBML header")

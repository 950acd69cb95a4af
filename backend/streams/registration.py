"""A publisher registers a stream (an HLS playlist or DASH manifest on an origin it owns) as content.

The stream gets a content id; its playlist URL becomes an exact hosting URL, so a player looking the
playlist up gets the same label document for the whole session. The publisher's declaration (an AI
presenter, a synthetic voice, none) sets what the document shows and may change while the stream is live.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from backend import audit, registry, registry_urls
from backend.domain_errors import Forbidden, InvalidInput, NotFound
from backend.store.db import iso_utc
from backend.store.schema import stream_notes, streams

DECLARATIONS = ("ai_presenter", "synthetic_voice", "none")
# What each declaration makes the label document say (and the IPTC source type it records).
DECLARED: dict[str, dict[str, Any]] = {
    "ai_presenter": {"synthetic": True, "source_type": "trainedAlgorithmicMedia",
                     "display": {"zh": "AI生成主播", "en": "AI presenter"}},
    "synthetic_voice": {"synthetic": True, "source_type": "compositeWithTrainedAlgorithmicMedia",
                        "display": {"zh": "AI合成声音", "en": "Synthetic voice"}},
    "none": {"synthetic": False, "source_type": "digitalCapture", "display": None},
}
WATCHING, ENDED, STOPPED = "watching", "ended", "stopped"
MAX_TITLE = 300


@dataclass(frozen=True)
class StreamInput:
    playlist_url: registry_urls.HostingUrl
    protocol: str
    live: bool
    declaration: str
    title: str | None


def parse(body: dict[str, Any]) -> StreamInput:
    raw = body.get("playlist_url")
    try:
        if not isinstance(raw, str) or raw.endswith("*"):
            raise registry_urls.UrlError("not a URL")
        url = registry_urls.normalise(raw)
    except registry_urls.UrlError as exc:
        raise InvalidInput("invalid_playlist_url", "`playlist_url` must be the absolute http(s) URL of an HLS "
                           "playlist (.m3u8) or DASH manifest (.mpd), on an origin assigned to your account") from exc
    path = urlsplit(url.url).path.lower()
    protocol = "hls" if path.endswith(".m3u8") else "dash" if path.endswith(".mpd") else ""
    if not protocol:
        raise InvalidInput("invalid_playlist_url", "`playlist_url` must end in .m3u8 (HLS) or .mpd (DASH)")
    live = body.get("live", True)
    if not isinstance(live, bool):
        raise InvalidInput("invalid_live", "`live` must be true or false")
    title = body.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
        raise InvalidInput("invalid_title", f"`title` must be text of at most {MAX_TITLE} characters")
    return StreamInput(url, protocol, live, parse_declaration(body.get("declaration")), title)


def parse_declaration(value: Any) -> str:
    if not isinstance(value, str) or value not in DECLARATIONS:
        raise InvalidInput("invalid_declaration", f"`declaration` must be one of {', '.join(DECLARATIONS)}")
    return value


def create(conn: Connection, req: StreamInput, publisher_id: str, publisher_name: str, source_uri: str,
           now: dt.datetime) -> dict[str, Any]:
    """Inside the caller's transaction: the registry entry, its hosting URL, the stream row, the audit."""
    registry_urls.check(conn, None, publisher_id, [req.playlist_url])
    content_id = registry.new_content_id()
    declared = DECLARED[req.declaration]
    digest = hashlib.sha256(f"stream:{req.playlist_url.url}".encode()).hexdigest()
    registry.insert(conn, registry.NewContent(
        content_id=content_id, sha256=digest, input_sha256=None, publisher_id=publisher_id,
        publisher_name=publisher_name, generator=f"declared:{req.declaration}", source_type=source_uri,
        manifest_label=None, mime="application/vnd.apple.mpegurl" if req.protocol == "hls" else "application/dash+xml",
        title=req.title, issuer=None, key_id=None, stored_path=None, signature="none",
        synthetic=bool(declared["synthetic"])), now)
    registry_urls.register(conn, content_id, publisher_id, [req.playlist_url], now)
    conn.execute(streams.insert().values(
        content_id=content_id, publisher_id=publisher_id, playlist_url=req.playlist_url.url, protocol=req.protocol,
        live=req.live, declaration=req.declaration, status=WATCHING, next_sequence=0, checked_segments=0,
        created_at=now, updated_at=now))
    audit.append(conn, publisher_id, "stream.registered", content_id, {
        "playlist_url": req.playlist_url.url, "live": req.live, "declaration": req.declaration})
    return view(conn, content_id)


def owned(conn: Connection, content_id: str, account_id: str | None) -> Any:
    """The stream row; `account_id` None is staff (sees every stream). To others a stream does not exist."""
    row = conn.execute(select(streams).where(streams.c.content_id == content_id)).first()
    if row is None or (account_id is not None and row.publisher_id != account_id):
        raise NotFound("unknown_stream", "no such stream")
    return row


def declare(conn: Connection, content_id: str, account_id: str, declaration: str, source_uri: str,
            now: dt.datetime) -> dict[str, Any]:
    row = owned(conn, content_id, account_id)
    if row.status == STOPPED:
        raise Forbidden("stream_stopped", "a moderator stopped this stream; its declaration cannot change")
    declared = DECLARED[declaration]
    registry.set_declaration(conn, content_id, bool(declared["synthetic"]), source_uri,
                             f"declared:{declaration}", now)
    conn.execute(streams.update().where(streams.c.content_id == content_id).values(
        declaration=declaration, updated_at=now))
    audit.append(conn, account_id, "stream.declaration_changed", content_id,
                 {"from": row.declaration, "to": declaration})
    return view(conn, content_id)


def label_part(conn: Connection, content_id: str) -> dict[str, Any] | None:
    """The `stream` part of a label document (None: the content is not a stream)."""
    row = conn.execute(select(streams).where(streams.c.content_id == content_id)).first()
    if row is None:
        return None
    return {"live": row.live, "protocol": row.protocol, "declaration": row.declaration,
            "declared": DECLARED[row.declaration]["display"], "monitor": row.status,
            "checked_segments": row.checked_segments, "last_checked_at": iso_utc(row.last_checked_at),
            "c2pa": row.c2pa}


def view(conn: Connection, content_id: str) -> dict[str, Any]:
    row = conn.execute(select(streams).where(streams.c.content_id == content_id)).one()
    content = registry.by_id(conn, content_id)
    notes = conn.execute(select(stream_notes).where(stream_notes.c.content_id == content_id)
                         .order_by(stream_notes.c.id.desc()).limit(100)).all()
    return {
        "content_id": row.content_id, "playlist_url": row.playlist_url, "protocol": row.protocol, "live": row.live,
        "declaration": row.declaration, "label_state": content.label_state if content else None,
        "monitor": {"status": row.status, "next_sequence": row.next_sequence,
                    "checked_segments": row.checked_segments, "last_segment_url": row.last_segment_url,
                    "last_checked_at": iso_utc(row.last_checked_at), "case_id": row.case_id, "c2pa": row.c2pa,
                    "owner": row.owner},
        "notes": [note_view(n) for n in notes],
        "label_url": f"/v1/labels/{row.content_id}",
        "created_at": iso_utc(row.created_at),
    }


def note_view(n: Any) -> dict[str, Any]:
    return {"kind": n.kind, "message": n.message, "segment_url": n.segment_url, "media_time": n.media_time,
            "case_id": n.case_id, "details": n.details, "at": iso_utc(n.created_at)}


def notes_of_case(conn: Connection, case_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(stream_notes).where(stream_notes.c.case_id == case_id)
                        .order_by(stream_notes.c.id)).all()
    return [note_view(n) for n in rows]

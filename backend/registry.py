"""The content registry: the one owner of the `contents` table (hosting URLs: backend/registry_urls.py).

Every read and write of a registered content goes through here: look-ups by id, hash and hosting URL,
the insert at signing, the label state a moderator sets (one writer), the registered copies of the
same bytes, and the content-id rule. Callers pass the connection, so a registry write commits in the
caller's transaction together with its audit entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, or_, select

from backend.domain_errors import Forbidden
from backend.store.db import new_id
from backend.store.schema import contents

# The content-id rule: what signing accepts and what a stored file is named after. Look-up parameters
# (label, verify, report, page) accept the same characters up to LOOKUP_ID_MAX: a longer id is a 400, an
# id between the two lengths is simply not found.
CONTENT_ID_MAX = 40
LOOKUP_ID_MAX = 64
CONTENT_ID_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9_.-]{{2,{CONTENT_ID_MAX - 1}}}"
_CONTENT_ID = re.compile(rf"^{CONTENT_ID_PATTERN}$")
_LOOKUP_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{2,{LOOKUP_ID_MAX - 1}}}$")
_QUERY_BATCH = 500  # ids per IN (…) query, under SQLite's bound-parameter limit


def valid_content_id(value: str, *, lookup: bool = False) -> bool:
    return bool((_LOOKUP_ID if lookup else _CONTENT_ID).match(value))


def new_content_id() -> str:
    return new_id("c")


def media_path(content_id: str, extension: str) -> str:
    """The service's own URL path for a content's stored file (`GET /media/…`)."""
    return f"/media/{content_id}.{extension}"


@dataclass(frozen=True)
class NewContent:
    """What signing (or registration) records about one content."""

    content_id: str
    sha256: str
    input_sha256: str | None
    publisher_id: str | None
    publisher_name: str
    generator: str
    source_type: str
    manifest_label: str | None
    mime: str
    title: str | None
    issuer: str | None
    key_id: str | None
    stored_path: str | None
    signature: str = "valid"
    synthetic: bool = True
    tier: str | None = None  # None with origin None: as before tiers (synthetic means ai_generated)
    origin: str | None = None
    evidence: dict[str, Any] | None = None


@dataclass(frozen=True)
class Content:
    """One registry entry as read back."""

    content_id: str
    sha256: str
    input_sha256: str | None
    publisher_id: str | None
    publisher_name: str | None
    generator: str
    source_type: str | None
    manifest_label: str | None
    mime: str
    title: str | None
    issuer: str | None
    key_id: str | None
    signature: str
    synthetic: bool
    label_state: str | None
    label_note: dict[str, Any] | None
    stored_path: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    tier: str | None = None
    origin: str | None = None
    evidence: dict[str, Any] | None = None

    @property
    def effective_tier(self) -> str | None:
        """The stored tier; entries from before tiers were signed by this service: AI when synthetic."""
        if self.tier is not None or self.origin is not None:
            return self.tier
        return "ai_generated" if self.synthetic else None

    @classmethod
    def of(cls, row: Row[Any]) -> Content:
        m = row._mapping
        note = m["label_note"]
        return cls(
            content_id=m["content_id"], sha256=m["sha256"], input_sha256=m["input_sha256"],
            publisher_id=m["publisher_id"], publisher_name=m["publisher_name"], generator=m["generator"],
            source_type=m["source_type"], manifest_label=m["manifest_label"], mime=m["mime"], title=m["title"],
            issuer=m["issuer"], key_id=m["key_id"], signature=m["signature"], synthetic=bool(m["synthetic"]),
            label_state=m["label_state"], label_note=dict(note) if isinstance(note, dict) else None,
            stored_path=m["stored_path"], created_at=m["created_at"], updated_at=m["updated_at"],
            tier=m["tier"], origin=m["origin"],
            evidence=dict(m["evidence"]) if isinstance(m["evidence"], dict) else None,
        )

    @property
    def hashes(self) -> set[str]:
        return {h for h in (self.sha256, self.input_sha256) if h}


def _one(conn: Connection, query: Select[Any]) -> Content | None:
    row = conn.execute(query).first()
    return Content.of(row) if row is not None else None


# -- look-ups ---------------------------------------------------------------------------------------------

def by_id(conn: Connection, content_id: str) -> Content | None:
    return _one(conn, select(contents).where(contents.c.content_id == content_id))


def by_sha256(conn: Connection, sha256: str) -> Content | None:
    """The entry whose signed or input bytes have this hash; a signed-bytes match first, then the oldest."""
    return _one(conn, select(contents)
                .where((contents.c.sha256 == sha256) | (contents.c.input_sha256 == sha256))
                .order_by((contents.c.sha256 != sha256), contents.c.created_at, contents.c.content_id).limit(1))


def exists(conn: Connection, content_id: str) -> bool:
    return conn.execute(select(contents.c.content_id).where(contents.c.content_id == content_id)).first() is not None


def registered_ids(conn: Connection, content_ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(content_ids))
    known: set[str] = set()
    for i in range(0, len(wanted), _QUERY_BATCH):
        batch = wanted[i:i + _QUERY_BATCH]
        known.update(conn.execute(select(contents.c.content_id).where(contents.c.content_id.in_(batch))).scalars())
    return known


def listing(conn: Connection, publisher_id: str | None, limit: int, offset: int) -> list[Content]:
    """Newest first; with `publisher_id`, only that publisher's entries."""
    query = select(contents).order_by(contents.c.created_at.desc()).limit(limit).offset(offset)
    if publisher_id is not None:
        query = query.where(contents.c.publisher_id == publisher_id)
    return [Content.of(r) for r in conn.execute(query)]


def signed_between(conn: Connection, start: dt.datetime, end: dt.datetime,
                   columns: list[str]) -> list[dict[str, Any]]:
    """Signings in [start, end), oldest first, as plain rows of the named columns (the regulator export)."""
    query = select(*(contents.c[c] for c in columns)).where(
        contents.c.created_at >= start, contents.c.created_at < end).order_by(contents.c.created_at)
    return [dict(r) for r in conn.execute(query).mappings()]


def copies(conn: Connection, content: Content) -> list[str]:
    """The content and every registered copy of it: same signed or input bytes."""
    hashes = content.hashes
    rows = conn.execute(select(contents.c.content_id).where(
        or_(contents.c.sha256.in_(hashes), contents.c.input_sha256.in_(hashes)))).scalars()
    return sorted({content.content_id, *rows})


# -- writes -----------------------------------------------------------------------------------------------

def insert(conn: Connection, record: NewContent, now: dt.datetime) -> None:
    """Raises IntegrityError when the content id is taken (the caller's transaction rolls back)."""
    conn.execute(contents.insert().values(
        content_id=record.content_id, sha256=record.sha256, input_sha256=record.input_sha256,
        publisher_id=record.publisher_id, publisher_name=record.publisher_name, generator=record.generator,
        source_type=record.source_type, manifest_label=record.manifest_label, mime=record.mime, title=record.title,
        issuer=record.issuer, key_id=record.key_id, signature=record.signature, synthetic=record.synthetic,
        stored_path=record.stored_path, created_at=now, updated_at=now, tier=record.tier, origin=record.origin,
        evidence=record.evidence,
    ))


def set_label(conn: Connection, content_ids: list[str], state: str | None, note: dict[str, Any] | None,
              now: dt.datetime, synthetic: bool | None = None, tier: str | None = None) -> None:
    """The one writer of a label override (pending_label, blocked, refuted, tampered, or None)."""
    values: dict[str, Any] = {"label_state": state, "label_note": note, "updated_at": now}
    if synthetic is not None:
        values["synthetic"] = synthetic
    if tier is not None:
        values["tier"] = tier
    conn.execute(contents.update().where(contents.c.content_id.in_(content_ids)).values(**values))


def label_states(conn: Connection, content_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each content's label override as it is now, so a decision can be undone on appeal."""
    rows = conn.execute(select(contents.c.content_id, contents.c.label_state, contents.c.label_note,
                               contents.c.synthetic).where(contents.c.content_id.in_(content_ids)))
    return {r.content_id: {"label_state": r.label_state, "label_note": r.label_note, "synthetic": bool(r.synthetic)}
            for r in rows}


def restore_labels(conn: Connection, before: dict[str, dict[str, Any]], now: dt.datetime) -> list[str]:
    """Puts back label overrides recorded by `label_states` (an appeal's reversal); returns the ids."""
    for content_id, state in before.items():
        conn.execute(contents.update().where(contents.c.content_id == content_id).values(
            label_state=state.get("label_state"), label_note=state.get("label_note"),
            synthetic=bool(state.get("synthetic", True)), updated_at=now))
    return sorted(before)


# -- blocks ---------------------------------------------------------------------------------------------

def blocked_by_hash(conn: Connection, hashes: Iterable[str]) -> Content | None:
    """A blocked entry whose signed or input bytes have one of these hashes."""
    wanted = {h for h in hashes if h}
    if not wanted:
        return None
    return _one(conn, select(contents).where(
        contents.c.label_state == "blocked",
        or_(contents.c.sha256.in_(wanted), contents.c.input_sha256.in_(wanted)))
        .order_by(contents.c.updated_at, contents.c.content_id).limit(1))


def refuse_blocked(conn: Connection, hashes: Iterable[str], consequence: str) -> None:
    """Blocks stick: a 403 naming the case when these bytes match a blocked entry."""
    blocked = blocked_by_hash(conn, hashes)
    if blocked is not None:
        raise Forbidden("blocked_media", f"a moderator blocked this media{case_phrase(blocked)}; {consequence}")


def case_of(content: Content) -> str | None:
    """The case whose decision set the content's label state, when it was recorded."""
    case = (content.label_note or {}).get("case_id")
    return str(case) if case else None


def case_phrase(content: Content) -> str:
    case = case_of(content)
    return f" (case {case}, content {content.content_id})" if case else f" (content {content.content_id})"


def set_declaration(conn: Connection, content_id: str, synthetic: bool, source_type: str, generator: str,
                    now: dt.datetime) -> None:
    """A publisher's own declaration of what a content is (a stream's AI presenter or synthetic voice);
    a moderator's override (`label_state`) stays as it is."""
    conn.execute(contents.update().where(contents.c.content_id == content_id).values(
        synthetic=synthetic, source_type=source_type, generator=generator, updated_at=now))

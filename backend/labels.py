"""The label document players read: small, cacheable, built from the registry and case decisions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from backend import registry, registry_urls
from backend.manifest_data import ManifestData
from backend.store.cache import Cache
from backend.store.db import Database, iso_utc
from backend.store.schema import accounts
from backend.vocabulary import LabelState, Signature


def _doc_key(content_id: str) -> str:
    return f"label:{content_id}"


def _src_key(src: str) -> str:
    return "label-src:" + hashlib.sha1(src.encode(), usedforsecurity=False).hexdigest()


class LabelService:
    def __init__(self, db: Database, cache: Cache, data: ManifestData, ttl: float, complaint_contact: str) -> None:
        self.db = db
        self.cache = cache
        self.data = data
        self.ttl = ttl
        self.complaint_contact = complaint_contact or None

    def build(self, content_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = registry.by_id(conn, content_id)
            if row is None:
                return None
            contact = None
            if row.publisher_id is not None:
                contact = conn.execute(select(accounts.c.complaint_contact)
                                       .where(accounts.c.id == row.publisher_id)).scalar()
        return self.document(row, contact)

    def document(self, row: registry.Content, publisher_contact: str | None) -> dict[str, Any]:
        signed_state = LabelState.SIGNED_SYNTHETIC if row.synthetic else LabelState.SIGNED_NOT_SYNTHETIC
        state: str = row.label_state or signed_state
        note = row.label_note or {}
        display = self.data.display(state if state != LabelState.REFUTED else signed_state)
        refutation = note.get("refutation") if state == LabelState.REFUTED else None
        block = None
        if state in (LabelState.BLOCKED, LabelState.PENDING_LABEL):
            text = self.data.display(state) or {}
            # The public statement only: the moderator's statement of reasons stays internal (console, records).
            block = {"zh": text.get("zh"), "en": text.get("en"), "reason": note.get("public_statement")}
        return {
            "content_id": row.content_id,
            "state": state,
            "display": display,
            "issuer": row.issuer,
            "publisher": row.publisher_name,
            "generator": row.generator,
            "digital_source_type": row.source_type,
            "signed_at": iso_utc(row.created_at),
            "signature": row.signature,
            "verify_url": f"/verify/{row.content_id}",
            "refutation": refutation,
            "block": block,
            "complaint_contact": publisher_contact or self.complaint_contact,
            "updated_at": iso_utc(row.updated_at),
        }

    def content_id_for_src(self, src: str, own_origins: set[str]) -> str | None:
        with self.db.read() as conn:
            return registry_urls.resolve(conn, src, own_origins)

    async def get(self, content_id: str) -> bytes | None:
        """The document as JSON bytes, from the cache when fresh."""
        cached = await self.cache.get(_doc_key(content_id))
        if cached is not None:
            return cached
        doc = await self.db.run(self.build, content_id)
        if doc is None:
            return None
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        await self.cache.set(_doc_key(content_id), body, self.ttl)
        return body

    async def resolve_src(self, src: str, own_origins: set[str]) -> str | None:
        """`own_origins`: where this service itself serves `/media/…` (it resolves those by name)."""
        key = _src_key("\n".join([src, *sorted(own_origins)]))
        cached = await self.cache.get(key)
        if cached is not None:
            return cached.decode() or None
        content_id = await self.db.run(self.content_id_for_src, src, own_origins)
        await self.cache.set(key, (content_id or "").encode(), self.ttl)
        return content_id

    async def invalidate(self, content_id: str) -> None:
        await self.cache.delete(_doc_key(content_id))

    def unknown(self) -> bytes:
        doc = {"content_id": None, "state": LabelState.UNKNOWN, "display": None, "issuer": None, "publisher": None,
               "generator": None, "digital_source_type": None, "signed_at": None, "signature": Signature.NONE,
               "verify_url": None, "refutation": None, "block": None,
               "complaint_contact": self.complaint_contact, "updated_at": None}
        return json.dumps(doc, separators=(",", ":")).encode()

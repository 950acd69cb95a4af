"""The label document players read: small, cacheable, built from the registry and case decisions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from backend import registry, registry_urls, tiers
from backend.manifest_data import ManifestData
from backend.store.cache import Cache
from backend.store.db import Database, iso_utc
from backend.store.schema import accounts
from backend.streams import registration as streams
from backend.vocabulary import ContentOrigin, Integrity, IssuerTrust, LabelState, Signature, Tier


def _tier_state(row: registry.Content, tier: str | None) -> LabelState:
    """The state shown when no moderator overrode it: AI by metadata is signed_synthetic, a declaration or
    detection is possibly_synthetic; without a tier, a signing's own state, else (ingested, reported) none."""
    if tier == Tier.AI_GENERATED:
        return LabelState.SIGNED_SYNTHETIC
    if tier is not None:
        return LabelState.POSSIBLY_SYNTHETIC
    if row.origin in (None, ContentOrigin.SIGNED):
        return LabelState.SIGNED_SYNTHETIC if row.synthetic else LabelState.SIGNED_NOT_SYNTHETIC
    return LabelState.UNSIGNED


def _trust(signature: str) -> IssuerTrust:
    if signature == Signature.VALID:
        return IssuerTrust.TRUSTED
    return IssuerTrust.UNTRUSTED if signature == Signature.UNTRUSTED else IssuerTrust.NONE


def _doc_key(content_id: str) -> str:
    return f"label:{content_id}"


def _miss_key(src: str) -> str:
    return "label-src-miss:" + hashlib.sha1(src.encode(), usedforsecurity=False).hexdigest()


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
            stream = streams.label_part(conn, content_id)
        return self.document(row, contact, stream)

    def document(self, row: registry.Content, publisher_contact: str | None,
                 stream: dict[str, Any] | None = None) -> dict[str, Any]:
        tier = row.effective_tier
        if row.label_state == LabelState.POSSIBLY_SYNTHETIC and tier is not None:
            tier = Tier.SUSPECTED  # set by detection on a copy: only a suspicion
        signed_state = _tier_state(row, tier)
        if stream is not None and not row.synthetic:
            signed_state = LabelState.UNSIGNED  # a stream declared as no AI: nothing vouches for it either way
        state: str = row.label_state or signed_state
        note = row.label_note or {}
        display = self.data.display(state if state != LabelState.REFUTED else signed_state)
        tier_display = tiers.wording(self.data, tier, row.source_type)
        if tier_display is not None and state not in (LabelState.BLOCKED, LabelState.PENDING_LABEL):
            # one wording for the tier, whatever the signature or integrity says (those are shown apart)
            display = {"zh": tier_display["zh"], "en": tier_display["en"]}
        if stream is not None and stream["declared"] and state in (LabelState.SIGNED_SYNTHETIC, LabelState.REFUTED):
            display = dict(stream["declared"])  # the publisher's own words: AI presenter, synthetic voice
        altered = state == LabelState.TAMPERED
        evidence = row.evidence or {}
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
            "signed_at": None if stream is not None else iso_utc(row.created_at),  # a stream is registered, not signed
            "signature": Signature.INVALID if altered else row.signature,
            "tier": tier,
            "tier_display": tier_display,
            "issuer_trust": _trust(row.signature),
            "integrity": Integrity.ALTERED if altered else (
                Integrity.INTACT if row.signature in (Signature.VALID, Signature.UNTRUSTED) else Integrity.UNKNOWN),
            "evidence": {k: evidence.get(k) for k in ("source", "issuer", "issuer_trust", "integrity")}
            if evidence else None,
            "verify_url": f"/verify/{row.content_id}",
            "refutation": refutation,
            "block": block,
            "complaint_contact": publisher_contact or self.complaint_contact,
            "updated_at": iso_utc(row.updated_at),
            "stream": stream,
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
        if cached:
            return cached.decode()
        # A miss holds only while its marker does: registering the URL (a moderator acting on reported media)
        # drops the marker, so players see the decision without waiting out the cache.
        if cached is not None and await self.cache.get(_miss_key(src)) is not None:
            return None
        content_id = await self.db.run(self.content_id_for_src, src, own_origins)
        await self.cache.set(key, (content_id or "").encode(), self.ttl)
        if content_id is None:
            await self.cache.set(_miss_key(src), b"1", self.ttl)
        return content_id

    async def invalidate_src(self, src: str) -> None:
        await self.cache.delete(_miss_key(src))

    async def invalidate(self, content_id: str) -> None:
        await self.cache.delete(_doc_key(content_id))

    def unknown(self) -> bytes:
        doc = {"content_id": None, "state": LabelState.UNKNOWN, "display": None, "issuer": None, "publisher": None,
               "generator": None, "digital_source_type": None, "signed_at": None, "signature": Signature.NONE,
               "verify_url": None, "refutation": None, "block": None, "tier": None, "tier_display": None,
               "issuer_trust": IssuerTrust.NONE, "integrity": Integrity.UNKNOWN, "evidence": None,
               "complaint_contact": self.complaint_contact, "updated_at": None, "stream": None}
        return json.dumps(doc, separators=(",", ":")).encode()

"""The platform's upload path (`POST /v1/ingest`, `avlabel ingest`; Provisions Art. 11-12, GB 45438-2025).

A user's upload is read (its C2PA manifest from any issuer and its implicit `AIGC` record), detection runs on
what has neither (the verify pipeline), the tier is decided (`tiers.decide`), the platform's
`ContentPropagator` / `PropagateID` are written into the existing record (or a new record whose `Label` comes
from the tier; none when nothing says AI: the annex has no "not AI" value), the file is re-signed with a
manifest whose `parentOf` ingredient is the upload with its own manifest store (actions `c2pa.opened`,
`c2pa.published`), read back, and registered with its hosting URLs in one transaction with its audit entry.
Every upload, unsigned and foreign ones too, so gets a content id. Nothing is recorded before every check
passed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from backend import audit, implicit_label, registry, registry_urls, tiers
from backend.accounts import Account
from backend.domain_errors import Conflict, InvalidInput
from backend.implicit_label.record import VALUE, Reading
from backend.media import NO_C2PA_REASON, Media, c2pa_embeds
from backend.signing.service import BLOCKED_SIGNING, SigningService, SignResult, _fsync_dir
from backend.store.db import utcnow
from backend.verification.service import VerifyService
from backend.vocabulary import ContentOrigin, Tier

log = logging.getLogger(__name__)
UPLOADER = re.compile(r"[A-Za-z0-9._:/+=\-]{1,64}")
_TITLE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CLI_NAME = "avlabel CLI operator"
MAX_EVIDENCE_TEXT = 300  # characters kept of any string taken from the upload's manifest


@dataclass
class IngestRequest:
    uploader: str  # the uploader's account reference on the platform (annex character set)
    declared_ai: bool = False
    title: str | None = None
    hosting_urls: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    content_id: str
    sha256: str
    mime: str
    path: Path
    tier: str | None
    record: dict[str, str] | None
    evidence: dict[str, Any]
    manifest_label: str | None = None  # None: the format cannot carry a C2PA manifest (`c2pa_manifest`)

    def c2pa_manifest(self) -> dict[str, Any]:
        """Whether a C2PA manifest was embedded, and why not when it was not (never a silent omission)."""
        if self.manifest_label is not None:
            return {"embedded": True, "label": self.manifest_label, "reason": None}
        return {"embedded": False, "label": None, "reason": NO_C2PA_REASON}

    def answer(self, extension: str) -> dict[str, Any]:
        """The 201 body of `POST /v1/ingest` (inline or from its job) without the label document."""
        return {"content_id": self.content_id, "sha256": self.sha256, "mime": self.mime, "tier": self.tier,
                "evidence": self.evidence, "implicit_label": self.record, "c2pa_manifest": self.c2pa_manifest(),
                "media_url": registry.media_path(self.content_id, extension)}


# Called inside the registration's transaction with the result (a queued ingest marks its job done there).
OnCommit = Callable[[Connection, IngestResult], None]


def _text(value: Any) -> str | None:
    """A manifest string as plain, bounded text (hostile manifests: no control characters, no length games)."""
    if value is None:
        return None
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", str(value))[:MAX_EVIDENCE_TEXT]


def _annex(value: Any) -> str:
    """A field taken from an incoming record when it fits the annex's character set, else empty."""
    return value if isinstance(value, str) and VALUE.fullmatch(value) else ""


class IngestService:
    def __init__(self, signing: SigningService, verify: VerifyService) -> None:
        self.signing = signing
        self.verify = verify
        self.data = signing.data
        self.db = signing.db

    def validate(self, req: IngestRequest) -> None:
        if not UPLOADER.fullmatch(req.uploader):
            raise InvalidInput("invalid_uploader", "uploader (the uploader's account reference) is required: 1-64 "
                               "ASCII letters, digits or . _ - : / + =")
        if req.title is not None and (len(req.title) > 500 or _TITLE_CONTROL.search(req.title)):
            raise InvalidInput("invalid_title", "title must be at most 500 characters, without control characters")
        registry_urls.parse_all(req.hosting_urls)

    def precheck(self, media: Media, req: IngestRequest, platform: Account | None,
                 content_id: str) -> list[registry_urls.HostingUrl]:
        """The refusals that need no look at the bytes' content (also before a large upload is queued)."""
        self.validate(req)
        urls = registry_urls.parse_all(req.hosting_urls)
        with self.db.read() as conn:
            registry.refuse_blocked(conn, [media.sha256], "it cannot be published again")
            registry_urls.check(conn, content_id, platform.id if platform else None, urls)
        return urls

    def ingest(self, media: Media, req: IngestRequest, platform: Account | None, work: Path,
               content_id: str | None = None, on_commit: OnCommit | None = None) -> IngestResult:
        """Blocking; run it off the event loop. `work` is a scratch directory the caller removes. `content_id`:
        chosen beforehand (a queued ingest's, so a second delivery cannot register the upload twice)."""
        content_id = content_id or registry.new_content_id()
        urls = self.precheck(media, req, platform, content_id)
        if self.signing.screen is not None:
            self.signing.screen(media)
        reading = implicit_label.read(media.path, media.mime)
        # detection only for what carries neither a manifest nor an implicit label
        analysis = self.verify.verify_media(media, detect=reading.status != "present")
        summary = analysis.get("manifest") or {}
        source_type = summary.get("digital_source_type")
        manifest_ai = self.data.is_synthetic_uri(source_type)
        record_label = (reading.record or {}).get("Label") if reading.status == "present" else None
        detection = analysis["detection"].get("verdict") if not (summary or reading.status == "present") else None
        tier = tiers.decide(manifest_ai=manifest_ai, record_label=record_label, declared_ai=req.declared_ai,
                            detection_verdict=detection)
        if tier is None and reading.status == "non_compliant":
            tier = Tier.SUSPECTED  # a malformed AIGC record is still a trace of AI labelling
        evidence = self._evidence(analysis, reading, summary, req, tier, manifest_ai, detection)
        record = self._record(reading, tier, platform, content_id)

        src = work / f"ingest.{media.extension}"
        shutil.copyfile(media.path, src)
        uri = source_type if manifest_ai else (
            self.data.source_uri("trainedAlgorithmicMedia") if tier == Tier.AI_GENERATED else None)
        if record is not None:
            src = self.signing.write_implicit_label(src, media, record, uri, work)
        evidence["implicit_label_written"] = record is not None and implicit_label.supported(media.mime)
        evidence["c2pa_manifest_embedded"] = c2pa_embeds(media.mime)
        signed = work / f"signed.{media.extension}"
        manifest_label: str | None = None
        if c2pa_embeds(media.mime):
            manifest_label = f"urn:c2pa:{uuid.uuid4()}"
            manifest = self._manifest(req, media, content_id, platform, manifest_label, record, uri, tier, evidence)
            parent = ({"title": _text(summary.get("title")) or "upload", "label": "upload"}, media.path)
            try:
                self.signing.signer.sign_file(manifest, media.mime, src, signed, parent)
            except c2pa.C2paError as exc:
                raise InvalidInput("bad_media", f"the media cannot be signed: {str(exc)[:300]}") from exc
        elif src == media.path:  # Matroska, Ogg: no manifest can be embedded; registered by hash as labelled
            shutil.copyfile(src, signed)
        else:
            os.replace(src, signed)
        sha = self.signing.checked_digest(signed, media.mime, record, manifest=c2pa_embeds(media.mime))
        stored = self.signing.media_dir / f"{content_id}.{media.extension}"
        self.signing.media_dir.mkdir(parents=True, exist_ok=True)
        result = IngestResult(content_id, sha, media.mime, stored, tier, record, evidence, manifest_label)
        self._insert(result, media, req, urls, platform, signed, summary, on_commit)
        if self.signing.registrar is not None:
            try:
                self.signing.registrar.register_signed(SignResult(content_id, sha, media.mime, stored,
                                                                  manifest_label or ""))
            except Exception:  # committed; the fingerprint list is a side registration
                log.exception("registering the ingested copy %s failed", content_id)
        return result

    def _evidence(self, analysis: dict[str, Any], reading: Reading, summary: dict[str, Any], req: IngestRequest,
                  tier: str | None, manifest_ai: bool, detection: str | None) -> dict[str, Any]:
        state = analysis.get("validation_state")
        if manifest_ai:
            source = "manifest"
        elif reading.status == "present" and tier is not None and (reading.record or {}).get("Label") in ("1", "2",
                                                                                                          "3"):
            source = "implicit_label"
        elif req.declared_ai:
            source = "declared"
        elif tier is not None:
            source = "detection" if detection else "implicit_label"
        else:
            source = "none"
        return {
            "source": source,
            "issuer": _text(summary.get("issuer")),
            "issuer_trust": tiers.issuer_trust(state),
            "integrity": tiers.integrity(state),
            "verdict": analysis.get("verdict"),
            "failure_codes": [_text(c) for c in (analysis.get("failure_codes") or [])][:20],
            "digital_source_type": _text(summary.get("digital_source_type")),
            "generator": _text(summary.get("generator")),
            "incoming_implicit_label": {"status": reading.status, "record": reading.record,
                                        "reasons": reading.reasons[:10]},
            "declared_ai": req.declared_ai,
            "detection_verdict": detection,
            "uploader": req.uploader,
        }

    def _record(self, reading: Reading, tier: str | None, platform: Account | None,
                content_id: str) -> dict[str, str] | None:
        """The record to write: the incoming one with the platform's propagation fields, or a new one."""
        if tier is None:
            return None
        old = reading.record or {}
        record = implicit_label.build_record(
            tiers.LABEL_BY_TIER[Tier(tier)], _annex(old.get("ContentProducer")), _annex(old.get("ProduceID")),
            f"avlabel:{platform.id if platform else 'cli'}", content_id, _annex(old.get("ReservedCode1")))
        if not self.signing.identity.alg.startswith("es"):
            return record
        return implicit_label.sign_record(record, self.signing.identity.sign)

    def _manifest(self, req: IngestRequest, media: Media, content_id: str, platform: Account | None, label: str,
                  record: dict[str, str] | None, source_uri: str | None, tier: str | None,
                  evidence: dict[str, Any]) -> dict[str, Any]:
        opened: dict[str, Any] = {"action": "c2pa.opened", "parameters": {"ingredientIds": ["upload"]}}
        if source_uri:
            opened["digitalSourceType"] = source_uri
        template = self.data.fresh_template()
        assertions: list[dict[str, Any]] = [
            {"label": "c2pa.actions", "data": {"actions": [
                opened, {"action": "c2pa.published", "softwareAgent": {"name": "avlabel"}}]}},
            {"label": "cn.avlabel.publisher", "data": {
                "name": platform.name if platform else CLI_NAME, "account_id": platform.id if platform else None,
                "identity_verified": bool(platform and platform.identity_verified),
                "verified_by": "avlabel", "uploader": req.uploader}},
            {"label": "cn.avlabel.ingest", "data": {"tier": tier, "evidence": evidence["source"],
                                                    "declared_ai": req.declared_ai}},
        ]
        if record is not None:
            assertions.append({"label": "cn.tc260.aigc", "data": {"AIGC": record}})
        return {"claim_generator_info": template["claim_generator_info"], "title": req.title or content_id,
                "format": media.mime, "label": label, "assertions": assertions}

    def _insert(self, result: IngestResult, media: Media, req: IngestRequest, urls: list[registry_urls.HostingUrl],
                platform: Account | None, signed: Path, summary: dict[str, Any], on_commit: OnCommit | None) -> None:
        content_id, sha, stored, tier, evidence = (result.content_id, result.sha256, result.path, result.tier,
                                                   result.evidence)
        manifest_label = result.manifest_label
        now = utcnow()
        pid = platform.id if platform else None
        try:
            with self.db.tx() as conn:
                registry.refuse_blocked(conn, [media.sha256], BLOCKED_SIGNING)
                registry.insert(conn, registry.NewContent(
                    content_id=content_id, sha256=sha, input_sha256=media.sha256, publisher_id=pid,
                    publisher_name=platform.name if platform else CLI_NAME,
                    generator=_text(summary.get("generator")) or "unknown",
                    source_type=_text(summary.get("digital_source_type")) or "", manifest_label=manifest_label,
                    mime=media.mime, title=req.title, issuer=self.signing.identity.issuer,
                    key_id=self.signing.identity.key_id, stored_path=str(stored), synthetic=tier is not None,
                    tier=tier, origin=ContentOrigin.INGESTED, evidence=evidence), now)
                registry_urls.register(conn, content_id, pid, urls, now)
                registry_urls.own_media(conn, content_id, media.extension, now)
                audit.append(conn, pid or "cli", "content.ingested", content_id,
                             {"sha256": sha, "input_sha256": media.sha256, "tier": tier, "uploader": req.uploader,
                              "evidence": evidence["source"], "manifest": manifest_label})
                if on_commit is not None:
                    on_commit(conn, result)
                with signed.open("rb+") as fh:
                    os.fsync(fh.fileno())
                shutil.move(str(signed), stored)
                _fsync_dir(stored.parent)
        except IntegrityError as exc:
            raise Conflict("content_id_taken", f"content id {content_id} is already registered") from exc

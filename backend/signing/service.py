"""The signing flow: labelled copy → manifest → c2pa signature → content registry + audit, in that order.

The registry row and its audit entry are committed before the caller answers, so an acknowledged
signing is never lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import c2pa
from sqlalchemy.exc import IntegrityError

from backend import audit, registry, registry_urls
from backend.accounts import Account
from backend.domain_errors import Conflict, InvalidInput
from backend.manifest_data import ManifestData
from backend.media import RASTER, Media, digest
from backend.media_checks import MediaChecks
from backend.signing.keys import SigningIdentity
from backend.signing.signer import ManifestSigner
from backend.signing.visible import can_reencode, label_image, xmp_packet
from backend.store.db import Database, utcnow
from backend.verification.provenance import ProvenanceReader

log = logging.getLogger(__name__)
# C0/C1 control characters (NUL breaks PostgreSQL text, escapes reach terminals); titles may keep tab/newline.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TITLE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BLOCKED_SIGNING = "it cannot be signed again, by any account"


@dataclass(frozen=True)
class Marked:
    """A marked copy of the labelled file and the manifest assertions that describe the mark."""

    path: Path
    assertions: list[dict[str, Any]]


class Marker(Protocol):
    """Marks the labelled copy before signing (the invisible watermark); None: this file is not marked."""

    def mark(self, path: Path, mime: str, content_id: str) -> Marked | None: ...


class SignedRegistrar(Protocol):
    """Told about each signing after its registry row is committed (the signed fingerprint list)."""

    def register_signed(self, result: SignResult) -> None: ...


@dataclass
class SignRequest:
    generator: str
    source_type: str = "trainedAlgorithmicMedia"
    title: str | None = None
    content_id: str | None = None
    visible_label: bool | None = None  # None: on for images
    hosting_urls: list[str] = field(default_factory=list)


@dataclass
class SignResult:
    content_id: str
    sha256: str
    mime: str
    path: Path
    manifest_label: str
    soft_binding: dict[str, Any] | None = None
    # "burned", "off", or "not_possible" (pixels kept as uploaded; the manifest still carries the labels)
    explicit_label: str = "off"


def split_generator(generator: str) -> tuple[str, str]:
    name, _, version = generator.strip().rpartition(" ")
    return (name, version) if name and any(c.isdigit() for c in version) else (generator.strip(), "")


class SigningService:
    def __init__(
        self,
        db: Database,
        identity: SigningIdentity,
        data: ManifestData,
        media_dir: Path,
        checks: MediaChecks,
        reader: ProvenanceReader | None,
        marker: Marker | None = None,
        registrar: SignedRegistrar | None = None,
        screen: Callable[[Media], None] | None = None,
    ) -> None:
        self.db = db
        self.identity = identity
        self.signer = ManifestSigner(identity)
        self.data = data
        self.media_dir = media_dir
        self.checks = checks
        self.reader = reader  # reads each signed file back before it is recorded (None: not checked)
        self.marker = marker
        self.registrar = registrar  # a failure there is logged only: the signing is already committed
        self.screen = screen  # refuses media on the prohibited fingerprint list (signing/prohibited.py)

    def validate(self, req: SignRequest) -> None:
        if not req.generator.strip() or len(req.generator) > 200 or _CONTROL.search(req.generator):
            raise InvalidInput("invalid_generator",
                               "generator (model name and version) is required, ≤200 chars, no control characters")
        if req.source_type not in self.data.signable:
            raise InvalidInput(
                "invalid_source_type", f"source_type must be one of {', '.join(self.data.signable)}"
            )
        if req.content_id is not None and not registry.valid_content_id(req.content_id):
            raise InvalidInput("invalid_content_id", "content_id must be 3-40 letters, digits, '_', '-' or '.'")
        if req.title is not None and (len(req.title) > 500 or _TITLE_CONTROL.search(req.title)):
            raise InvalidInput("invalid_title", "title must be at most 500 characters, without control characters")
        registry_urls.parse_all(req.hosting_urls)

    def build_manifest(
        self, req: SignRequest, media: Media, content_id: str, publisher: Account | None, label: str,
        extra_assertions: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        manifest = self.data.fresh_template()
        manifest["label"] = label
        manifest["title"] = req.title or content_id
        manifest["format"] = media.mime
        gen_name, gen_version = split_generator(req.generator)
        for assertion in manifest["assertions"]:
            if assertion["label"] == "c2pa.actions":
                action = assertion["data"]["actions"][0]
                action["digitalSourceType"] = self.data.source_uri(req.source_type)
                action["softwareAgent"] = {"name": gen_name, "version": gen_version} if gen_version else {
                    "name": gen_name
                }
            elif assertion["label"] == "cn.avlabel.publisher":
                assertion["data"] = {
                    "name": publisher.name if publisher else "avlabel CLI operator",
                    "account_id": publisher.id if publisher else None,
                    "identity_verified": bool(publisher and publisher.identity_verified),
                    "verified_by": "avlabel",
                }
            elif assertion["label"] == "cn.tc260.aigc":
                assertion["data"] = {"AIGC": self.aigc_fields(content_id, publisher)}
        manifest["assertions"].extend(extra_assertions or [])
        return manifest

    def aigc_fields(self, content_id: str, publisher: Account | None) -> dict[str, str]:
        return {
            "Label": self.data.gb45438["label_codes"]["declared"],
            "ContentProducer": f"avlabel:{publisher.id if publisher else 'cli'}",
            "ProduceID": content_id,
            "ReservedCode1": self.identity.key_id,
            "ContentPropagator": "",
            "PropagateID": "",
            "ReservedCode2": "",
        }

    def sign(self, media: Media, req: SignRequest, publisher: Account | None, work: Path,
             out: Path | None = None) -> SignResult:
        """Blocking; run it off the event loop. `work` is a scratch directory the caller removes."""
        self.validate(req)
        content_id = req.content_id or registry.new_content_id()
        urls = registry_urls.parse_all(req.hosting_urls)
        with self.db.read() as conn:
            if registry.exists(conn, content_id):
                raise Conflict("content_id_taken", f"content id {content_id} is already registered")
            registry.refuse_blocked(conn, [media.sha256], BLOCKED_SIGNING)
            registry_urls.check(conn, content_id, publisher.id if publisher else None, urls)
        if self.screen is not None:
            self.screen(media)
        src = media.path
        burn = req.visible_label if req.visible_label is not None else media.kind == "image"
        explicit = "burned" if burn and media.mime in RASTER else "off"
        if media.mime in RASTER and not can_reencode(src, media.mime):
            if req.visible_label:
                raise InvalidInput(
                    "explicit_label_impossible",
                    "this HEIC/HEIF exceeds HEVC's largest single picture, so a burned-in label cannot be "
                    "encoded; send it downscaled, or with visible_label=false")
            explicit = "not_possible"
        elif media.mime in RASTER and (burn or media.mime != "image/gif"):
            labelled = work / f"labelled.{media.extension}"
            xmp = xmp_packet(self.aigc_fields(content_id, publisher), self.data.source_uri(req.source_type))
            label_image(src, labelled, media.mime, self.data.labels["burned_in"], xmp, burn)
            src = labelled
        marked = self.marker.mark(src, media.mime, content_id) if self.marker is not None else None
        if marked is not None:
            src = marked.path
        manifest_label = f"urn:c2pa:{uuid.uuid4()}"
        manifest = self.build_manifest(req, media, content_id, publisher, manifest_label,
                                       marked.assertions if marked is not None else None)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        stored = self.media_dir / f"{content_id}.{media.extension}"
        signed_tmp = work / f"signed.{media.extension}"
        try:
            self.signer.sign_file(manifest, media.mime, src, signed_tmp)
        except c2pa.C2paError as exc:
            raise InvalidInput("bad_media", f"the media cannot be signed: {str(exc)[:300]}") from exc
        self._check_signed(signed_tmp, media.mime)
        sha = digest(signed_tmp)
        self._record(content_id, sha, media, req, urls, publisher, manifest_label, signed_tmp, stored)
        if out is not None:
            shutil.copyfile(stored, out)
        soft = next((a["data"] for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding"), None)
        result = SignResult(content_id, sha, media.mime, stored, manifest_label, soft, explicit)
        if self.registrar is not None:
            try:
                self.registrar.register_signed(result)
            except Exception:  # the signing is committed; a side registration must not undo the answer
                log.exception("registering the signed copy %s failed", content_id)
        return result

    def _check_signed(self, path: Path, mime: str) -> None:
        """Never hand out (or record) a file whose own manifest does not verify: damaged input that c2pa
        signs without complaint can still come out with hashes that do not match (found by fuzzing MP3s)."""
        if self.reader is None:
            return
        prov = self.reader.read(path, mime)
        if prov.state not in ("Trusted", "Valid"):
            detail = ", ".join(prov.failure_codes) or prov.error_message or "unreadable"
            raise InvalidInput("bad_media",
                               f"the media is too damaged to carry a verifiable manifest ({detail[:200]})")

    def _record(self, content_id: str, sha: str, media: Media, req: SignRequest,
                urls: list[registry_urls.HostingUrl], publisher: Account | None, manifest_label: str, signed: Path,
                stored: Path) -> None:
        """Commit the registry row and audit entry; the file moves into the store inside the transaction,
        so a conflict never overwrites another content's file and a committed row always has its file."""
        now = utcnow()
        actor = publisher.id if publisher else "cli"
        try:
            self._insert(content_id, sha, media, req, urls, publisher, manifest_label, signed, stored, now, actor)
        except IntegrityError as exc:
            raise Conflict("content_id_taken", f"content id {content_id} is already registered") from exc

    def _insert(self, content_id: str, sha: str, media: Media, req: SignRequest,
                urls: list[registry_urls.HostingUrl], publisher: Account | None, manifest_label: str,
                signed: Path, stored: Path, now: dt.datetime, actor: str) -> None:
        with self.db.tx() as conn:
            # Again in the write transaction: a block may have landed meanwhile.
            registry.refuse_blocked(conn, [media.sha256], BLOCKED_SIGNING)
            registry.insert(conn, registry.NewContent(
                content_id=content_id, sha256=sha, input_sha256=media.sha256,
                publisher_id=publisher.id if publisher else None,
                publisher_name=publisher.name if publisher else "avlabel CLI operator",
                generator=req.generator.strip(), source_type=self.data.source_uri(req.source_type),
                manifest_label=manifest_label, mime=media.mime, title=req.title, issuer=self.identity.issuer,
                key_id=self.identity.key_id, stored_path=str(stored)), now)
            registry_urls.register(conn, content_id, publisher.id if publisher else None, urls, now)
            registry_urls.own_media(conn, content_id, media.extension, now)
            audit.append(
                conn,
                actor,
                "content.signed",
                content_id,
                {"sha256": sha, "generator": req.generator, "manifest": manifest_label, "key_id": self.identity.key_id},
            )
            with signed.open("rb+") as fh:
                os.fsync(fh.fileno())
            shutil.move(str(signed), stored)
            _fsync_dir(stored.parent)

    def inspect(self, path: Path, sha256: str | None = None) -> Media:
        return self.checks.inspect(path, sha256)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

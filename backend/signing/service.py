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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import c2pa
from sqlalchemy.exc import IntegrityError

from backend import audit, implicit_label, registry, registry_urls
from backend.accounts import Account
from backend.domain_errors import Conflict, InvalidInput, UnsupportedMediaType
from backend.manifest_data import ManifestData
from backend.media import NO_C2PA_REASON, RASTER, Media, c2pa_embeds, digest
from backend.media_checks import MediaChecks
from backend.signing.explicit import LabelOptions, label_file
from backend.signing.explicit_video import LumaMark
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


@dataclass(frozen=True)
class LumaMarking:
    """The invisible mark as a per-frame function, for the one video pass (signing/explicit_video.py)."""

    embed: LumaMark
    assertions: list[dict[str, Any]]


class Marker(Protocol):
    """Marks the labelled copy before signing (the invisible watermark); None: this file is not marked."""

    def mark(self, path: Path, mime: str, content_id: str) -> Marked | None: ...

    def luma_mark(self, path: Path, mime: str, content_id: str) -> LumaMarking | None: ...


class SignedRegistrar(Protocol):
    """Told about each signing after its registry row is committed (the signed fingerprint list)."""

    def register_signed(self, result: SignResult) -> None: ...


@dataclass
class SignRequest:
    generator: str
    source_type: str = "trainedAlgorithmicMedia"
    title: str | None = None
    content_id: str | None = None
    visible_label: bool | None = None  # None: on (generated media is labelled unless opted out)
    corner_mark: bool = False  # video: a persistent corner mark after the first seconds' large label
    prompt_at_end: bool = False  # audio: the rhythm prompt at the end too
    hosting_urls: list[str] = field(default_factory=list)


@dataclass
class SignResult:
    content_id: str
    sha256: str
    mime: str
    path: Path
    manifest_label: str
    soft_binding: dict[str, Any] | None = None
    # "burned", "video:first-2s[+corner]", "audio:rhythm-start[+end]", "off", or "not_possible" (pixels kept
    # as uploaded; the manifest still carries the labels)
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
        self.signer = ManifestSigner(identity, (lambda: reader.context) if reader is not None else None)
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
        extra_assertions: list[dict[str, Any]] | None = None, record: dict[str, str] | None = None,
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
                assertion["data"] = {"AIGC": record or self.aigc_fields(content_id, publisher)}
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

    def implicit_record(self, content_id: str, publisher: Account | None, label: str | None = None,
                        propagator: str = "", propagate_id: str = "") -> dict[str, str]:
        """The GB 45438 record this service writes, signed in `ReservedCode2` (ECDSA keys; see
        implicit_label/record.py for how to check it)."""
        fields = self.aigc_fields(content_id, publisher)
        record = implicit_label.build_record(label or fields["Label"], fields["ContentProducer"], fields["ProduceID"],
                                             propagator, propagate_id, fields["ReservedCode1"])
        if not self.identity.alg.startswith("es"):  # an RSA/Ed25519 signature is not what the field holds
            return record
        return implicit_label.sign_record(record, self.identity.sign)

    def write_implicit_label(self, src: Path, media: Media, record: dict[str, str], source_uri: str | None,
                             work: Path, in_place: bool = False) -> Path:
        """The AIGC record in the format's standard place, before c2pa signs (so the hard binding covers it),
        read back: exactly one record, the one written. Formats avlabel does not write itself (TIFF, AVIF,
        HEIF: Pillow's XMP above) are read back where avlabel can read them. `in_place`: the upload is a scratch
        file nothing reads again, so it may be edited itself (an MP4 whose `moov` is last: only `moov` is
        rewritten); otherwise the record goes into a copy."""
        if not implicit_label.supported(media.mime):
            reading = implicit_label.read(src, media.mime)
            if reading.status == "non_compliant" or (reading.status == "present" and reading.record != record):
                raise InvalidInput("bad_media", "the file's AIGC record did not read back after labelling")
            return src
        out, copy_from = src, None
        if src == media.path and not in_place:  # the caller's file (the CLI's input, ingest's upload): a copy
            out, copy_from = work / f"aigc.{media.extension}", src
        try:
            implicit_label.write_checked(out, media.mime, record, source_uri, copy_from)
        except (ValueError, OSError) as exc:  # RecordError is a ValueError; a broken container too
            raise InvalidInput("bad_media", f"the implicit label cannot be written into this file: {str(exc)[:200]}"
                               ) from exc
        return out

    def sign(self, media: Media, req: SignRequest, publisher: Account | None, work: Path,
             out: Path | None = None) -> SignResult:
        """Blocking; run it off the event loop. `work` is a scratch directory the caller removes."""
        self.validate(req)
        if not c2pa_embeds(media.mime):
            raise UnsupportedMediaType("c2pa_unsupported_format", f"{media.mime} cannot be signed: {NO_C2PA_REASON}. "
                                       "POST it to /v1/ingest to write its AIGC record and register it by hash, "
                                       "or sign an MP4, MOV, M4A, MP3, WAV or FLAC rendition")
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
        record = self.implicit_record(content_id, publisher)
        burn = req.visible_label if req.visible_label is not None else media.kind in ("image", "video", "audio")
        explicit = "burned" if burn and media.mime in RASTER else "off"
        marked: Marked | None = None
        if media.mime in RASTER and not can_reencode(src, media.mime):
            if req.visible_label:
                raise InvalidInput(
                    "explicit_label_impossible",
                    "this HEIC/HEIF exceeds HEVC's largest single picture, so a burned-in label cannot be "
                    "encoded; send it downscaled, or with visible_label=false")
            explicit = "not_possible"
        elif media.mime in RASTER and (burn or media.mime != "image/gif"):
            labelled = work / f"labelled.{media.extension}"
            # Pillow's XMP: the record's place in TIFF/AVIF/HEIF (rewritten below where avlabel writes it)
            xmp = xmp_packet(record, self.data.source_uri(req.source_type))
            label_image(src, labelled, media.mime, self.data.labels["burned_in"], xmp, burn)
            src = labelled
        elif burn and media.kind in ("video", "audio"):
            src, explicit, marked = self._label_av(src, media, req, content_id, work)
        if self.marker is not None and not (burn and media.kind == "video"):  # video: marked in the label pass
            marked = self.marker.mark(src, media.mime, content_id)
        if marked is not None:
            src = marked.path
        # the upload in the caller's scratch directory is not read again (its hash was taken as it arrived)
        src = self.write_implicit_label(src, media, record, self.data.source_uri(req.source_type), work,
                                        in_place=media.path.is_relative_to(work))
        manifest_label = f"urn:c2pa:{uuid.uuid4()}"
        manifest = self.build_manifest(req, media, content_id, publisher, manifest_label,
                                       marked.assertions if marked is not None else None, record)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        stored = self.media_dir / f"{content_id}.{media.extension}"
        signed_tmp = work / f"signed.{media.extension}"
        try:
            self.signer.sign_file(manifest, media.mime, src, signed_tmp)
        except c2pa.C2paError as exc:
            raise InvalidInput("bad_media", f"the media cannot be signed: {str(exc)[:300]}") from exc
        sha = self.checked_digest(signed_tmp, media.mime, record)
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

    def _label_av(self, src: Path, media: Media, req: SignRequest, content_id: str,
                  work: Path) -> tuple[Path, str, Marked | None]:
        """Video: label and invisible mark in one decode/encode; audio: the rhythm prompt."""
        luma = (self.marker.luma_mark(src, media.mime, content_id)
                if self.marker is not None and media.kind == "video" else None)
        done = label_file(src, media.mime, LabelOptions(
            self.data.labels["burned_in"], corner_mark=req.corner_mark, prompt_at_end=req.prompt_at_end,
            luma_mark=luma.embed if luma else None), work)
        return done.path, done.done, Marked(done.path, luma.assertions) if luma else None

    def checked_digest(self, path: Path, mime: str, record: dict[str, str] | None, manifest: bool = True) -> str:
        """The read-back checks (the manifest verifies, exactly the record written is there), while two threads take
        the file's SHA-256 and flush it to disk: the three read the same page-cached bytes side by side instead of
        one after another. Returns the SHA-256; raises what the checks raise, after the threads are done."""
        with ThreadPoolExecutor(2, thread_name_prefix="signed-file") as pool:
            sha = pool.submit(digest, path)
            flushed = pool.submit(_fsync_file, path)
            if manifest:
                self._check_signed(path, mime)
            if record is not None:
                self._check_record(path, mime, record)
            flushed.result()
            return sha.result()

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

    @staticmethod
    def _check_record(path: Path, mime: str, record: dict[str, str]) -> None:
        """The signed file still carries exactly the one record written before signing."""
        if not implicit_label.supported(mime):
            return
        reading = implicit_label.read(path, mime)
        if reading.status != "present" or reading.record != record:
            raise InvalidInput("bad_media", "the AIGC record did not survive signing "
                               f"({'; '.join(reading.reasons)[:200] or reading.status})")

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
                key_id=self.identity.key_id, stored_path=str(stored), tier="ai_generated", origin="signed"), now)
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


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

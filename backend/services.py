"""The composition root: every service a request handler needs, built by constructor injection in
`Services.open` (called from the app's lifespan, the CLI and the job child) and closed after it.

Background loops (job workers, webhook delivery, the fingerprint index's first sync) are started and
stopped by the route modules' setup/teardown in the app lifespan (backend/app.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.detection.pipeline import Detection
from backend.detection.stores import FingerprintStore
from backend.detection.wiring import build_detection
from backend.labels import LabelService
from backend.manifest_data import ManifestData
from backend.media import register_codecs
from backend.media_checks import MediaChecks
from backend.settings import Settings
from backend.signing.keys import SigningIdentity, ensure_dev_identity, load_pem_identity
from backend.signing.service import SigningService
from backend.store.cache import Cache
from backend.store.db import Database
from backend.store.migrate import prepare as prepare_database
from backend.store.sweep import sweep_data_dir
from backend.verification.provenance import ProvenanceReader
from backend.verification.service import VerifyService, registry_by_id
from backend.web.state import WebState
from backend.webhooks import Webhooks

if TYPE_CHECKING:
    from backend.jobs.service import JobService

log = logging.getLogger(__name__)


def load_identity(settings: Settings) -> SigningIdentity:
    anchors = b"".join(p.read_bytes() for p in settings.trust_anchors)
    if settings.signing_key and settings.signing_chain:
        return load_pem_identity(settings.signing_key, settings.signing_chain, anchors)
    ident = ensure_dev_identity(settings.data_dir / "keys")
    ident.trust_anchors_pem += anchors
    return ident


@dataclass
class Services:
    settings: Settings
    db: Database
    cache: Cache
    data: ManifestData
    identity: SigningIdentity
    media: MediaChecks
    reader: ProvenanceReader
    detection: Detection
    fingerprints: FingerprintStore
    signing: SigningService
    verify: VerifyService
    labels: LabelService
    webhooks: Webhooks
    web: WebState
    # The job service queues on these services' database and verify pipeline: built from them.
    jobs: JobService = field(init=False)

    def __post_init__(self) -> None:
        from backend.jobs.service import JobService  # it types its argument as Services

        self.jobs = JobService(self)

    @classmethod
    def open(cls, settings: Settings) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        register_codecs()
        identity = load_identity(settings)
        db = Database(settings.sqlalchemy_url)
        prepare_database(db, settings.audit_retention_days)  # refuses an outdated schema; creates an empty one
        sweep_data_dir(db, settings.data_dir, settings.sweep_age_seconds)  # leftovers of a killed process
        cache = Cache(settings.redis_url, settings.redis_prefix)
        data = ManifestData.load()
        checks = MediaChecks(settings.max_image_pixels)
        reader = ProvenanceReader(identity.trust_anchors_pem.decode())
        parts = build_detection(settings, db, lambda content_id: registry_by_id(db, content_id))
        signing = SigningService(db, identity, data, settings.data_dir / "media", checks, reader,
                                 parts.marker, parts.registrar)
        verify = VerifyService(db, reader, data, parts.detection)
        labels = LabelService(db, cache, data, settings.label_cache_seconds, settings.complaint_contact)
        webhooks = Webhooks(db, settings.webhook_timeout_seconds, settings.webhook_max_attempts,
                            settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds,
                            settings.webhook_poll_seconds)
        log.info("signing as %s (key %s, %s)", identity.issuer, identity.key_id,
                 "development CA" if identity.development else "configured key")
        return cls(settings, db, cache, data, identity, checks, reader, parts.detection, parts.fingerprints,
                   signing, verify, labels, webhooks, WebState())

    async def close(self) -> None:
        await self.webhooks.close()  # idempotent: the lifespan's teardown stopped its loop already
        self.fingerprints.close()
        await self.cache.close()
        self.db.close()

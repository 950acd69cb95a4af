"""Everything a request handler needs, opened in the app's lifespan and closed after it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from backend.labels import LabelService
from backend.manifest_data import ManifestData
from backend.media import register_codecs
from backend.records import install_guards
from backend.settings import Settings
from backend.signing.keys import SigningIdentity, ensure_dev_identity, load_pem_identity
from backend.signing.prohibited import prohibited_screen
from backend.signing.service import SigningService
from backend.store.cache import Cache
from backend.store.db import Database
from backend.store.sweep import sweep_data_dir
from backend.verification.provenance import ProvenanceReader
from backend.verification.service import VerifyService
from detectors.wiring import install_detection

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
    signing: SigningService
    verify: VerifyService
    labels: LabelService
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        register_codecs()
        identity = load_identity(settings)
        db = Database(settings.sqlalchemy_url)
        db.create_schema()
        install_guards(db, settings.audit_retention_days)  # retention enforced by the database
        sweep_data_dir(db, settings.data_dir, settings.sweep_age_seconds)  # leftovers of a killed process
        cache = Cache(settings.redis_url, settings.redis_prefix)
        data = ManifestData.load()
        signing = SigningService(db, identity, data, settings.data_dir / "media", settings.max_image_pixels)
        verify = VerifyService(db, ProvenanceReader(identity.trust_anchors_pem.decode()), data)
        signing.reader = verify.reader
        labels = LabelService(db, cache, data, settings.label_cache_seconds, settings.complaint_contact)
        log.info("signing as %s (key %s, %s)", identity.issuer, identity.key_id,
                 "development CA" if identity.development else "configured key")
        services = cls(settings, db, cache, data, identity, signing, verify, labels)
        install_detection(services)
        fingerprints = services.extras.get("fingerprints")
        if fingerprints is not None:
            signing.screen = prohibited_screen(fingerprints)  # blocks stick for re-encoded copies too
        return services

    async def close(self) -> None:
        fingerprints = self.extras.get("fingerprints")
        if fingerprints is not None:
            fingerprints.close()
        await self.cache.close()
        self.db.close()

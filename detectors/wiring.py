"""Installs detection into the services: the verify hook, the signing hooks and `extras` entries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detectors.base import MediaInput
from detectors.fingerprint import FingerprintDetector, FingerprintStore
from detectors.metadata import MetadataDetector, Rules
from detectors.pipeline import Pipeline, load_onnx_detectors
from detectors.watermark import SoftBinding, SoftBindingDetector, StableDiffusionWatermarkDetector
from detectors.working_copy import working_copy

if TYPE_CHECKING:
    from backend.media import Media
    from backend.services import Services
    from backend.signing.service import SignResult
    from backend.verification.provenance import Provenance

log = logging.getLogger(__name__)
MODELS_DIR = Path(__file__).resolve().parent / "models"


class DetectionHook:
    """VerifyService.detect: `(media, provenance, progress=None) -> detection`; `version` names the
    detectors and the state of the moderated lists, so the job system's cached results are redone when
    either changes (a cached "no signal" must not outlive a moderator adding the item as prohibited)."""

    def __init__(self, pipeline: Pipeline, store: FingerprintStore) -> None:
        self.pipeline = pipeline
        self.store = store

    @property
    def version(self) -> str:
        return f"{self.pipeline.version};lists/{self.store.moderated_seq()}"

    def __call__(self, media: Media, provenance: Provenance,
                 progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
        return self.pipeline.run(MediaInput(media.path, media.mime, media.sha256), provenance, progress)


def install_detection(services: Services) -> Pipeline:
    settings = services.settings
    binding = SoftBinding(services.db)
    store = FingerprintStore(services.db, settings.redis_url, settings.redis_prefix)
    rules = Rules.load()
    pipeline = Pipeline(
        [MetadataDetector(rules), SoftBindingDetector(binding), StableDiffusionWatermarkDetector(),
         FingerprintDetector(store), *load_onnx_detectors(MODELS_DIR)],
        services.db, services.verify.registry_by_id, rules,
    )

    def register_signed(result: SignResult) -> None:
        # Perceptual hashes of a very large image come from its working copy (memory stays bounded).
        with working_copy(MediaInput(result.path, result.mime, "")) as small:
            src = small or MediaInput(result.path, result.mime, "")
            store.add_file(src.path, src.mime, "signed", result.content_id, {"content_id": result.content_id},
                           actor="signing")

    services.verify.detect = DetectionHook(pipeline, store)
    services.signing.pre_sign_hooks.append(binding.pre_sign)
    services.signing.assertion_hooks.append(binding.assertions)
    services.signing.post_sign_hooks.append(register_signed)
    services.extras["fingerprints"] = store
    services.extras["soft_binding"] = binding
    services.extras["detection"] = pipeline
    return pipeline

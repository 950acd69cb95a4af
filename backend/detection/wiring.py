"""Builds detection for the composition root (backend/services.py): the stores, the detector suite and
the collaborators signing receives (the soft-binding marker, the signed-list registrar)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av

from backend.detection.pipeline import Detection
from backend.detection.policy import ResolveContent
from backend.detection.stores import FingerprintStore, SoftBindingKeys
from backend.settings import Settings
from backend.signing.explicit_video import one_pass
from backend.signing.service import LumaMarking, Marked, SignResult
from backend.store.db import Database
from detectors import watermark
from detectors.base import MediaInput
from detectors.fingerprint import FingerprintDetector
from detectors.metadata import MetadataDetector, Rules
from detectors.pipeline import DetectorSuite, load_onnx_detectors
from detectors.watermark import SoftBindingDetector, StableDiffusionWatermarkDetector
from detectors.watermark_codec import Embedder
from detectors.working_copy import working_copy

log = logging.getLogger(__name__)


class SoftBindingMarker:
    """signing's Marker: allocates a key, embeds it, names it in a c2pa.soft-binding assertion."""

    def __init__(self, keys: SoftBindingKeys) -> None:
        self.keys = keys

    def luma_mark(self, path: Path, mime: str, content_id: str) -> LumaMarking | None:
        """The mark for the one video pass that also burns the explicit label; None: not markable."""
        if mime not in watermark.VIDEO_TYPES or not _video_big_enough(path):
            return None
        key = self.keys.allocate(content_id)
        return LumaMarking(Embedder(key).embed_luma, [watermark.soft_binding_assertion(key)])

    def mark(self, path: Path, mime: str, content_id: str) -> Marked | None:
        if not watermark.markable(mime):
            return None
        key = self.keys.allocate(content_id)
        dst = path.with_name(f"marked-{path.name}")
        try:
            if mime in watermark.VIDEO_TYPES:  # the source's codec, resolution and rate kept
                one_pass(path, dst, mime, None, Embedder(key).embed_luma)
            elif not watermark.mark_copy(path, dst, mime, key):
                log.info("no watermark embedded for %s (%s): nothing to mark", content_id, mime)
                return None
        except Exception:  # noqa: BLE001 — an unmarkable file is still signed, just without the soft binding
            log.warning("no watermark embedded for %s (%s)", content_id, mime, exc_info=True)
            return None
        return Marked(dst, [watermark.soft_binding_assertion(key)])


def _video_big_enough(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return False
            ctx = container.streams.video[0].codec_context
            return min(ctx.width, ctx.height) >= watermark.MIN_SIDE
    except av.FFmpegError:
        return False  # the label pass reports the damage


class SignedFingerprints:
    """signing's SignedRegistrar: each signed file joins the `signed` fingerprint list."""

    def __init__(self, store: FingerprintStore) -> None:
        self.store = store

    def register_signed(self, result: SignResult) -> None:
        # Perceptual hashes of a very large image come from its working copy (memory stays bounded); a
        # picture also registers its cropped views, which is what lets its watermark verify on a cropped copy.
        with working_copy(MediaInput(result.path, result.mime, "")) as small:
            src = small or MediaInput(result.path, result.mime, "")
            self.store.add_file(src.path, src.mime, "signed", result.content_id,
                                {"content_id": result.content_id}, actor="signing",
                                crop_views=True)


@dataclass(frozen=True)
class DetectionParts:
    detection: Detection
    fingerprints: FingerprintStore
    marker: SoftBindingMarker
    registrar: SignedFingerprints


def build_detection(settings: Settings, db: Database, resolve_content: ResolveContent) -> DetectionParts:
    keys = SoftBindingKeys(db)
    store = FingerprintStore(db, settings.redis_url, settings.redis_prefix)
    rules = Rules.load()
    suite = DetectorSuite([MetadataDetector(rules), SoftBindingDetector(keys), StableDiffusionWatermarkDetector(),
                           FingerprintDetector(store), *load_onnx_detectors(settings.models_dir)])
    detection = Detection(suite, rules, resolve_content, db, store.moderated_seq)
    return DetectionParts(detection, store, SoftBindingMarker(keys), SignedFingerprints(store))

"""Signing refuses still images on the prohibited fingerprint list: a re-encoded or stripped copy of
blocked media must not come out with a fresh, clean label (exact bytes of any kind are refused by the
registry's block check). Images only: a PDQ match on a still image is a well-calibrated near-duplicate
test, while keyframe PDQ and audio fingerprints of unrelated synthetic clips can sit inside the match
threshold, and refusing a signing on such a match would be a false block rather than evidence."""

from __future__ import annotations

import logging
from collections.abc import Callable

from backend.detection.stores import FingerprintStore
from backend.domain_errors import Forbidden
from backend.media import Media
from detectors.base import MediaInput
from detectors.working_copy import working_copy

log = logging.getLogger(__name__)

Screen = Callable[[Media], None]


def prohibited_screen(store: FingerprintStore) -> Screen:
    def screen(media: Media) -> None:
        if media.kind != "image":
            return
        original = MediaInput(media.path, media.mime, media.sha256)
        try:
            with working_copy(original) as small:  # perceptual hashes of a bounded copy (memory stays flat)
                matches = store.lookup(small or original)
        except Exception:  # noqa: BLE001 - unreadable for the fingerprinter: signing's own checks judge the bytes
            log.warning("prohibited-list check skipped for %s: no fingerprint", media.sha256, exc_info=True)
            return
        hit = next((m for m in matches if m["list"] == "prohibited"), None)
        if hit is not None:
            case = (hit.get("note") or {}).get("case_id")
            raise Forbidden("prohibited_media", "this media matches the prohibited list (item "
                           f"{hit['ref']}{f', case {case}' if case else ''}); it cannot be signed")

    return screen

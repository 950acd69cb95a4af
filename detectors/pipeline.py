"""Runs every available detector on a file and collects their signals.

One detector's crash never fails the run: it becomes an entry in `errors`. What the signals mean for a
verdict or a label is not decided here but by the service's policy (backend/detection/policy.py).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from detectors.base import Detector, DetectorError, MediaInput, Signal
from detectors.working_copy import PIXEL_DETECTORS, working_copy

log = logging.getLogger(__name__)
MODELS_DIR = Path(__file__).resolve().parent / "models"

Progress = Callable[[float, str], None]


def load_onnx_detectors(models_dir: Path) -> list[Detector]:
    """The learned detectors, when their module is present (built by another part of the project)."""
    try:
        module = importlib.import_module("detectors.onnx_models")
    except ImportError:
        return []
    loader = getattr(module, "load_detectors", None)
    if loader is None:
        return []
    try:
        return list(loader(models_dir))
    except Exception:  # a broken model must not stop the service; it is logged and skipped
        log.exception("the ONNX detectors could not be loaded")
        return []


@dataclass
class Findings:
    signals: list[Signal] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


class DetectorSuite:
    def __init__(self, detectors: list[Detector]) -> None:
        self.detectors = list(detectors)

    def add(self, detector: Detector) -> None:
        self.detectors.append(detector)

    @property
    def version(self) -> str:
        return "+".join(f"{d.name}/{d.version}" for d in self.detectors)

    def run(self, media: MediaInput, progress: Progress | None = None) -> Findings:
        """Each detector in turn; `progress(fraction, detector name)` before each one."""
        found = Findings()
        with working_copy(media) as small:
            for i, det in enumerate(self.detectors):
                if progress is not None:
                    progress(i / max(1, len(self.detectors)), det.name)
                found.ran.append(det.name)
                target = small if small is not None and det.name in PIXEL_DETECTORS else media
                signal = self._analyse(det, target, found.errors)
                if signal is not None:
                    found.signals.append(signal)
        return found

    @staticmethod
    def _analyse(det: Detector, media: MediaInput, errors: list[dict[str, str]]) -> Signal | None:
        try:
            return det.analyse(media)
        except DetectorError as exc:
            errors.append({"detector": det.name, "code": "bad_media", "message": str(exc)[:300]})
        except Exception as exc:  # noqa: BLE001 — one detector's bug must not fail the answer
            log.exception("detector %s failed on %s", det.name, media.sha256)
            errors.append({"detector": det.name, "code": "detector_failed",
                           "message": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return None

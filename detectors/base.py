"""The one small interface every detector implements.

A detector takes media and answers a `Signal` (or None when it has nothing to say about this kind of
media). `score` is the detector's calibrated probability that the media is synthetic (or, for
`kind == "fingerprint"`, the strength of a match); `evidence` says what produced it, in plain JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

SignalKind = Literal["metadata", "watermark", "fingerprint", "model"]


@dataclass(frozen=True)
class MediaInput:
    path: Path
    mime: str
    sha256: str

    @property
    def kind(self) -> str:
        return self.mime.split("/", 1)[0]


@dataclass(frozen=True)
class Signal:
    detector: str
    version: str
    score: float
    kind: SignalKind
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"{self.detector}: score {self.score} outside [0, 1]")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class DetectorError(Exception):
    """The media could not be analysed (corrupt stream, no samples, no frames…); said in the answer."""


class Detector(Protocol):
    name: str
    version: str

    def analyse(self, media: MediaInput) -> Signal | None: ...

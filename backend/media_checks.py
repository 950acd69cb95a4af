"""The checks every uploaded file passes before it is signed, verified or fingerprinted: its type judged
by its bytes, its SHA-256, and the pixel limit that refuses decompression bombs before any pixel is
decoded (the checks themselves are in backend/media.py). Shared by signing, verify and the lists."""

from __future__ import annotations

from pathlib import Path

from backend.media import Media, inspect


class MediaChecks:
    def __init__(self, max_image_pixels: int) -> None:
        self.max_image_pixels = max_image_pixels

    def inspect(self, path: Path, sha256: str | None = None) -> Media:
        """Blocking. Raises MediaError (4xx) for what avlabel cannot take. `sha256`: the hash taken while an
        upload was received; without it the file is read to hash it."""
        return inspect(path, self.max_image_pixels, sha256)

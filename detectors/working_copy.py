"""A downscaled working copy of very large images for the pixel-reading detectors.

A 200 kB PNG of 80 megapixels (inside the upload pixel limit) made each pixel detector decode it into
arrays of several hundred megabytes to gigabytes (3 GB peak in one verify, found by tests/hostile); they
analyse a copy of at most WORKING_PIXELS instead. The watermark, PDQ fingerprint and patch model are
meant to survive downscaling; metadata detectors keep reading the original file.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from detectors.base import MediaInput

# Enough for every reader (the watermark's canonical grid is 512 px, PDQ works at 64x64, the model on
# patches) and small enough that a verify of an 80 MP upload stays well under 1 GB.
WORKING_PIXELS = 4_000_000
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F"})  # modes Image.reduce takes
PIXEL_DETECTORS = frozenset({"avlabel-soft-binding", "sd-invisible-watermark", "fingerprint", "onnx-image-synthetic"})


@contextmanager
def working_copy(media: MediaInput) -> Iterator[MediaInput | None]:
    """Yields a downscaled PNG copy of a large still image, or None when the original is small enough
    (or not an image, or unreadable: the detectors then report on the original as before)."""
    if not media.mime.startswith("image/") or media.mime == "image/gif":
        yield None
        return
    try:
        with Image.open(media.path) as img:
            width, height = img.size
            if width * height <= WORKING_PIXELS:
                small = None
            else:
                factor = math.ceil(math.sqrt(width * height / WORKING_PIXELS))
                img.draft("RGB", (width // factor, height // factor))  # JPEG decodes at reduced size
                img.load()
                # Reduce first, convert after: a full-size converted copy would double the peak.
                left = math.ceil(math.sqrt(img.width * img.height / WORKING_PIXELS))
                reduced = img.reduce(left) if left > 1 and img.mode in _REDUCIBLE else img
                small = reduced.convert("RGB")
                del reduced
                if small.width * small.height > WORKING_PIXELS:
                    small = small.reduce(math.ceil(math.sqrt(small.width * small.height / WORKING_PIXELS)))
    except (OSError, ValueError, SyntaxError, EOFError, RuntimeError, Image.DecompressionBombError):
        small = None
    if small is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="avlabel-detect-") as tmp:
        path = Path(tmp) / "working.png"
        small.save(path, format="PNG", compress_level=1)
        del small
        yield MediaInput(path=path, mime="image/png", sha256=media.sha256)

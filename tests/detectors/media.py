"""Media made for the detector tests: generator metadata, marks, natural-looking pictures."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import av
import numpy as np
from PIL import Image, PngImagePlugin
from sklearn.datasets import load_sample_image

from backend.signing.visible import xmp_packet

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ENHANCED = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicallyEnhanced"
AIGC = {"Label": "1", "ContentProducer": "91110000MA00000000", "ProduceID": "gen-42", "ReservedCode1": "",
        "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}


def photo_rgb(box: tuple[int, int, int, int] | None = None, name: str = "china.jpg") -> np.ndarray:
    """A real photograph (scikit-learn's sample images, 640×427), upscaled ×2 to 1280×854."""
    img = Image.fromarray(load_sample_image(name))
    img = img.resize((img.width * 2, img.height * 2), Image.Resampling.LANCZOS)
    return np.asarray(img.crop(box) if box else img)


def photo_file(path: Path, name: str = "china.jpg", quality: int = 92) -> Path:
    Image.fromarray(photo_rgb(name=name)).save(path, quality=quality)
    return path


def camera_like(path: Path, seed: int = 0, size: tuple[int, int] = (640, 480)) -> Path:
    """A picture with natural 1/f statistics and no metadata at all."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    f = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.rfftfreq(w)[None, :] ** 2)
    f[0, 0] = 1
    planes = []
    for _ in range(3):
        spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f
        planes.append(np.fft.irfft2(spec, s=(h, w)))
    arr = np.stack(planes, axis=2)
    arr = (arr - arr.mean()) / arr.std() * 40 + 120
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def png_with_text(path: Path, chunks: dict[str, str], seed: int = 3) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path, pnginfo=info)
    return path


SD_PARAMETERS = ("a lighthouse at dusk, oil painting\nNegative prompt: blurry\nSteps: 28, Sampler: DPM++ 2M Karras, "
                 "CFG scale: 6.5, Seed: 1234, Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly")
COMFY_PROMPT = json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20}},
                           "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}}})
COMFY_WORKFLOW = json.dumps({"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}]})


def jpeg_with_xmp(path: Path, aigc: dict[str, str] | None, source_uri: str) -> Path:
    packet = xmp_packet(aigc or {}, source_uri)
    if aigc is None:
        packet = packet.replace(b'TC260:AIGC="{}" ', b"")
    Image.fromarray(photo_rgb((0, 0, 320, 240))).save(path, quality=90, xmp=packet)
    return path


def png_with_xmp(path: Path, aigc: dict[str, str], source_uri: str) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(aigc, source_uri).decode())
    Image.fromarray(photo_rgb((0, 0, 320, 240))).save(path, pnginfo=info)
    return path


def jpeg_with_user_comment(path: Path, aigc: dict[str, str], software: str | None = None) -> Path:
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + json.dumps({"AIGC": aigc}, ensure_ascii=False).encode("utf-16-be")
    Image.fromarray(photo_rgb((0, 0, 320, 240))).save(path, quality=90, exif=exif)
    return path


def jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decode(blob: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im.convert("RGB"))


def downscale(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    img = Image.fromarray(rgb).resize((round(w * factor), round(h * factor)), Image.Resampling.BICUBIC)
    return np.asarray(img)


def crop_corner(rgb: np.ndarray, frac: float = 0.1) -> np.ndarray:
    """Removes `frac` of the width and of the height (top and left)."""
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[int(h * frac):, int(w * frac):])


def photo_video(path: Path, seconds: int = 2, size: tuple[int, int] = (640, 360), offset: int = 0,
                name: str = "china.jpg") -> Path:
    """A panning shot over a photo, H.264 + AAC."""
    photo = photo_rgb(name=name)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        for i in range(seconds * 25):
            x = offset + i * 2
            frame = np.ascontiguousarray(photo[100 : 100 + size[1], x : x + size[0]])
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode(None))
        t = np.arange(16000 * seconds) / 16000
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        aframe.sample_rate = 16000
        out.mux(audio.encode(aframe))
        out.mux(audio.encode(None))
    return path


def ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), *args, str(dst)], check=True, timeout=120)
    return dst


def music(path: Path, seconds: float = 8.0, seed: int = 0) -> Path:
    """A few seconds of notes with harmonics and a noise floor: enough structure for Chromaprint."""
    rng = np.random.default_rng(seed)
    rate = 22050
    out = np.zeros(int(seconds * rate), np.float32)
    step = int(0.25 * rate)
    for start in range(0, len(out) - step, step):
        freq = 110 * 2 ** (rng.integers(0, 36) / 12)
        t = np.arange(step) / rate
        env = np.exp(-3 * t)
        out[start : start + step] += sum(0.2 / k * np.sin(2 * np.pi * freq * k * t) for k in (1, 2, 3)) * env
    out += 0.01 * rng.normal(size=len(out)).astype(np.float32)
    import soundfile

    soundfile.write(str(path), out, rate)
    return path


def pattern_video(path: Path, pattern: str, soundtrack: Path, seconds: int = 8) -> Path:
    """An ffmpeg test pattern (testsrc, testsrc2, smptebars…) as the picture, `soundtrack` as the audio
    (Chromaprint needs a few seconds of it to say anything)."""
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"{pattern}=size=640x360:rate=25",
                    "-i", str(soundtrack), "-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", str(path)],
                   check=True, timeout=120)
    return path

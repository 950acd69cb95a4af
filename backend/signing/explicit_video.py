"""The one video pass: decode each frame once, burn the explicit label, apply the invisible mark, encode
once with the source's codec, resolution and frame rate; audio packets are copied untouched.

The label (GB 45438-2025 §5 explicit label for video) is the same plate as images' (signing/visible.py):
every glyph's ink at least 6% of the shortest side, for the first `seconds` of the video, lower-left;
optionally a smaller persistent corner mark (upper right) for the whole video. It is blended straight into
the decoded YUV planes, so a frame costs one blend of the plate's box, not an RGB round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.codec.codec import Codec

from backend.domain_errors import InvalidInput
from backend.signing.visible import find_font, render_plate, target_ink_px

LumaMark = Callable[[np.ndarray], np.ndarray]  # H×W uint8 luma in, marked luma out (the soft binding)
CORNER_RATIO = 0.035  # the persistent corner mark: smaller, it stays on screen the whole time
THREADS = "AUTO"  # frame and slice threads in decoder and encoder (libx264: frame threads, not slices)
CONTAINERS = {"video/mp4": "mp4", "video/quicktime": "mov", "video/x-msvideo": "avi"}


@dataclass(frozen=True)
class Encoder:
    """The encoder for a source codec, with settings chosen to keep the picture visually unchanged."""

    name: str
    options: dict[str, str]
    codec_tag: str | None = None


ENCODERS: dict[str, Encoder] = {
    "h264": Encoder("libx264", {"crf": "18", "preset": "veryfast"}),
    "hevc": Encoder("libx265", {"crf": "20", "preset": "fast", "x265-params": "log-level=error"}, "hvc1"),
    "vp9": Encoder("libvpx-vp9", {"crf": "30", "b": "0", "deadline": "good", "cpu-used": "4"}),
    "vp8": Encoder("libvpx", {"crf": "10", "b": "2M"}),
    "av1": Encoder("libsvtav1", {"crf": "32", "preset": "8"}),
    "mpeg4": Encoder("mpeg4", {"qscale": "3"}),
    "mjpeg": Encoder("mjpeg", {"qscale": "3"}),
    "prores": Encoder("prores_ks", {"profile": "2"}),
}


class Overlay:
    """A label plate prepared for blending into yuv420p planes at a fixed place."""

    def __init__(self, width: int, height: int, text: str, ratio: float, corner: str) -> None:
        ink = target_ink_px(width, height, ratio) if ratio >= 0.05 else max(10, round(min(width, height) * ratio))
        plate = np.asarray(render_plate(text, find_font(), ink), dtype=np.float32) / 255.0
        pad = max(2, ink // 4) // 2 * 2
        ph, pw = min(plate.shape[0], height - 2 * pad) // 2 * 2, min(plate.shape[1], width - 2 * pad) // 2 * 2
        plate = plate[:ph, :pw]
        x = pad if corner == "lower-left" else (width - pw - pad) // 2 * 2
        y = (height - ph - 2 * pad) // 2 * 2 if corner == "lower-left" else pad
        self.x, self.y, self.w, self.h = x, y, pw, ph
        rgb, alpha = plate[:, :, :3], plate[:, :, 3]
        # BT.601 limited range, what yuv420p from RGB uses by default.
        self.luma = 16 + 219 * (0.299 * rgb[:, :, 0] + 0.587 * rgb[:, :, 1] + 0.114 * rgb[:, :, 2])
        self.alpha = alpha
        self.alpha_c = alpha.reshape(ph // 2, 2, pw // 2, 2).mean(axis=(1, 3))  # the plate is grey: U = V = 128

    def blend(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """Blend in place into the Y, U and V planes of a yuv420p frame."""
        box = y[self.y:self.y + self.h, self.x:self.x + self.w]
        ys = box.astype(np.float32)
        box[:] = np.rint(ys + self.alpha * (self.luma - ys))
        cy, cx, h, w = self.y // 2, self.x // 2, self.h // 2, self.w // 2
        for plane in (u, v):
            part = plane[cy:cy + h, cx:cx + w]
            pf = part.astype(np.float32)
            part[:] = np.rint(pf + self.alpha_c * (128 - pf))


@dataclass(frozen=True)
class VideoLabel:
    text: str
    seconds: float = 2.0  # the large label shows for at least this long from the first frame
    corner_mark: bool = False


def encoder_for(codec_name: str) -> Encoder | None:
    enc = ENCODERS.get(codec_name)
    if enc is None:
        try:
            Codec(codec_name, "w")
        except Exception:  # noqa: BLE001 — PyAV raises several types for an unknown encoder
            return None
        return Encoder(codec_name, {})
    return enc


def one_pass(src: Path, dst: Path, mime: str, label: VideoLabel | None = None,
             luma_mark: LumaMark | None = None) -> None:
    """Re-encode `src` into `dst` once: the label on the first seconds, the mark on every frame.

    With neither, it is the plain re-encode with the same settings (the benchmark's baseline).
    Raises InvalidInput("explicit_label_impossible") when the source codec has no encoder here."""
    fmt = CONTAINERS.get(mime)
    if fmt is None:
        raise InvalidInput("explicit_label_impossible", f"no burned-in label for {mime}")
    try:
        with av.open(str(src)) as inp:
            if not inp.streams.video:
                raise InvalidInput("explicit_label_impossible", "the file has no video stream to label")
            _pass(inp, dst, fmt, label, luma_mark)
    except av.FFmpegError as exc:
        raise InvalidInput("bad_media", f"the video cannot be decoded: {str(exc)[:200]}") from exc


def _pass(inp: Any, dst: Path, fmt: str, label: VideoLabel | None, luma_mark: LumaMark | None) -> None:
    vin = inp.streams.video[0]
    vin.codec_context.thread_type = THREADS  # the plain re-encode gets the same
    enc = encoder_for(vin.codec_context.name)
    if enc is None:
        raise InvalidInput("explicit_label_impossible",
                           f"video in {vin.codec_context.name} cannot be re-encoded here to carry the label; "
                           "send H.264, HEVC, VP9, AV1 or MPEG-4, or sign with visible_label=false")
    width, height = vin.codec_context.width // 2 * 2, vin.codec_context.height // 2 * 2
    big = Overlay(width, height, label.text, 0.06, "lower-left") if label else None
    corner = Overlay(width, height, label.text, CORNER_RATIO, "upper-right") if label and label.corner_mark else None
    with av.open(str(dst), "w", format=fmt) as out:
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        vout: Any = out.add_stream(enc.name, rate=rate, options=dict(enc.options))
        vout.width, vout.height = width, height
        vout.codec_context.thread_type = THREADS
        src_fmt = vin.codec_context.pix_fmt or "yuv420p"
        supported = [f.name for f in (vout.codec.video_formats or [])]
        vout.pix_fmt = src_fmt if src_fmt in supported else "yuv420p"
        vout.time_base = vin.time_base
        if enc.codec_tag and fmt in ("mp4", "mov"):
            vout.codec_tag = enc.codec_tag
        if vin.bit_rate and enc.name in ("mpeg4", "libvpx"):
            vout.bit_rate = vin.bit_rate
        out.metadata.update(inp.metadata)
        audio = [(s, _audio_out(out, s, fmt)) for s in inp.streams.audio]
        amap = {s.index: o for s, o in audio}
        # AVI (and some damaged files) carry no presentation times: number such frames on from the last.
        step = max(1, round(1 / (rate * vin.time_base))) if vin.time_base else 1
        first: int | None = None
        last: int | None = None
        for packet in inp.demux(vin, *[s for s, _ in audio]):
            if packet.stream.index in amap:
                _audio_packet(out, packet, amap[packet.stream.index])
                continue
            for frame in packet.decode():
                pts = frame.pts
                if pts is None or (last is not None and pts <= last):
                    pts = 0 if last is None else last + step
                frame.pts, frame.time_base, last = pts, vin.time_base, pts
                first = pts if first is None else first
                if big is None and luma_mark is None and frame.width == width and frame.height == height:
                    out.mux(vout.encode(frame))  # the plain re-encode: no pixels touched
                    continue
                on = big is not None and label is not None and (pts - first) * vin.time_base < label.seconds
                out.mux(vout.encode(_process(frame, width, height, big if on else None, corner, luma_mark,
                                             vout.pix_fmt)))
        out.mux(vout.encode(None))
        for _, aout in audio:
            if aout.codec_context.is_encoder:
                out.mux(aout.encode(None))


def _audio_out(out: Any, stream: Any, fmt: str) -> Any:
    """The output audio stream: a copy of the source's, except ADTS AAC in AVI, which PyAV's stream copy
    cannot mux (the AVI tag 0x00FF is not carried over); that soundtrack is re-encoded as AAC."""
    ctx = stream.codec_context
    if fmt == "avi" and ctx.name == "aac" and not ctx.extradata:
        aout = out.add_stream("aac", rate=ctx.sample_rate)
        aout.layout = ctx.layout.name
        if stream.bit_rate:
            aout.bit_rate = stream.bit_rate
        return aout
    return out.add_stream_from_template(stream)


def _audio_packet(out: Any, packet: Any, aout: Any) -> None:
    if not aout.codec_context.is_encoder:
        if packet.dts is not None:
            packet.stream = aout
            out.mux(packet)
        return
    for frame in packet.decode():
        frame.pts = None
        out.mux(aout.encode(frame))


def _process(frame: Any, width: int, height: int, big: Overlay | None, corner: Overlay | None,
             luma_mark: LumaMark | None, out_fmt: str) -> Any:
    pts, time_base = frame.pts, frame.time_base
    if frame.format.name != "yuv420p" or frame.width != width or frame.height != height:
        frame = frame.reformat(width=width, height=height, format="yuv420p")
    # A fresh frame, written plane by plane: the decoded one may still be a reference picture of the
    # decoder, and a to_ndarray/from_ndarray round trip would copy all three planes twice.
    new = av.VideoFrame(width, height, "yuv420p")
    src, dst = _planes(frame), _planes(new)
    overlays = [o for o in (big, corner) if o is not None]
    for i in (1, 2):
        dst[i][:] = src[i]
    if overlays or luma_mark is None:
        dst[0][:] = src[0]
        for overlay in overlays:
            overlay.blend(*dst)
    if luma_mark is not None:
        dst[0][:] = luma_mark(dst[0] if overlays else src[0])
    if out_fmt != "yuv420p":
        new = new.reformat(format=out_fmt)
    new.pts, new.time_base = pts, time_base
    return new


def _planes(frame: Any) -> list[np.ndarray]:
    """(height × width) uint8 views of a yuv420p frame's planes; rows are line_size apart."""
    views = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8)[:plane.height * plane.line_size].reshape(plane.height, -1)
        views.append(rows[:, :plane.width])
    return views


def describe(label: VideoLabel) -> str:
    """The X-Explicit-Label value for a labelled video."""
    first = f"video:first-{label.seconds:g}s"
    return f"{first}+corner" if label.corner_mark else first

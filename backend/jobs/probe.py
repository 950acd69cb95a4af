"""A structural check of queued media before any analysis: corrupt streams, video with no frames,
audio with no samples, unsupported codecs and enormous frames end the job with a clear error.

Only the header and the first decodable frame are read; the job's memory and time limits still apply.
"""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from backend.domain_errors import BadMedia, MediaError
from backend.media import RASTER, Media

_MAX_PACKETS = 2000  # demuxed before giving up on finding a decodable frame


def probe(media: Media, max_pixels: int) -> dict[str, object]:
    """What the container holds; raises MediaError when the media cannot be analysed."""
    if media.mime in RASTER:
        return _probe_image(media.path)
    try:
        with av.open(str(media.path), metadata_errors="ignore") as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is not None:
                return _probe_video(container, video, max_pixels)
            if audio is not None:
                return _probe_audio(container, audio)
    except MediaError:
        raise
    except av.error.DecoderNotFoundError as exc:
        raise BadMedia("unsupported_codec", f"no decoder for this stream: {_reason(exc, media.path)}") from exc
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        reason = _reason(exc, media.path)
        raise BadMedia("bad_media", f"the {media.kind} stream cannot be read: {reason}") from exc
    if media.kind == "video":
        raise BadMedia("no_frames", "the video has no video stream")
    raise BadMedia("no_samples", "the audio has no audio stream")


def _reason(exc: Exception, path: Path) -> str:
    """The library's words without our file path."""
    return str(getattr(exc, "strerror", None) or exc).replace(str(path), "the upload")


def _probe_image(path: Path) -> dict[str, object]:
    try:
        with Image.open(path) as im:
            size = im.size
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadMedia("bad_media", f"the image is damaged: {_reason(exc, path)}") from exc
    return {"width": size[0], "height": size[1]}


def _probe_video(container: av.container.InputContainer, stream: av.VideoStream, max_pixels: int) -> dict[str, object]:
    ctx = stream.codec_context
    if ctx is None or not ctx.codec:
        raise BadMedia("unsupported_codec", "the video codec is not supported")
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width * height > max_pixels:
        raise BadMedia("frame_too_large",
                       f"video frames of {width}x{height} pixels exceed the limit of {max_pixels} pixels")
    for n, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            if frame.width * frame.height > max_pixels:
                raise BadMedia("frame_too_large", "a video frame exceeds the pixel limit")
            return {"codec": ctx.codec.name, "width": frame.width, "height": frame.height,
                    "duration_seconds": _duration(container)}
        if n >= _MAX_PACKETS:
            break
    raise BadMedia("no_frames", "the video has no decodable frames")


def _probe_audio(container: av.container.InputContainer, stream: av.AudioStream) -> dict[str, object]:
    ctx = stream.codec_context
    if ctx is None or not ctx.codec:
        raise BadMedia("unsupported_codec", "the audio codec is not supported")
    for n, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            if frame.samples > 0:
                return {"codec": ctx.codec.name, "sample_rate": frame.sample_rate,
                        "duration_seconds": _duration(container)}
        if n >= _MAX_PACKETS:
            break
    raise BadMedia("no_samples", "the audio has no decodable samples")


def _duration(container: av.container.InputContainer) -> float | None:
    return round(container.duration / 1_000_000, 3) if container.duration else None

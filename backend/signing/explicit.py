"""The explicit label (GB 45438-2025 §5) of any signable file, in one call for signing and ingest.

`label_file(src, mime, options, work)` returns the labelled copy and what was done, which is the
`X-Explicit-Label` value: "burned" (image), "video:first-2s" (+"+corner"), "audio:rhythm-start"
(+"+end"). A file that cannot carry the label raises InvalidInput("explicit_label_impossible"): the
caller answers 400, never a silent "off". Video takes the soft-binding mark in the same pass (`luma_mark`),
so the picture is decoded and encoded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.domain_errors import InvalidInput
from backend.media import EXTENSIONS, RASTER
from backend.signing import explicit_audio, explicit_video
from backend.signing.visible import can_reencode, label_image

DEFAULT_TEXT = "AI生成"


@dataclass(frozen=True)
class LabelOptions:
    text: str = DEFAULT_TEXT
    video_seconds: float = 2.0  # the large label's time on screen, from the first frame
    corner_mark: bool = False  # video: a small persistent mark in the upper right, the whole video
    prompt_at_end: bool = False  # audio: the rhythm prompt closes the file too
    luma_mark: explicit_video.LumaMark | None = None  # video: the invisible mark, in the same pass


@dataclass(frozen=True)
class Labelled:
    path: Path
    done: str  # the X-Explicit-Label value
    marked: bool = False  # `luma_mark` was applied to every frame


def label_file(src: Path, mime: str, options: LabelOptions, work: Path) -> Labelled:
    kind = mime.split("/", 1)[0]
    dst = work / f"explicit.{EXTENSIONS.get(mime, 'bin')}"
    if mime in RASTER:
        if not can_reencode(src, mime):
            raise InvalidInput("explicit_label_impossible",
                               "this HEIC/HEIF exceeds HEVC's largest single picture, so a burned-in label "
                               "cannot be encoded; send it downscaled, or with visible_label=false")
        label_image(src, dst, mime, options.text, None, True)
        return Labelled(dst, "burned")
    if kind == "video":
        label = explicit_video.VideoLabel(options.text, options.video_seconds, options.corner_mark)
        explicit_video.one_pass(src, dst, mime, label, options.luma_mark)
        return Labelled(dst, explicit_video.describe(label), options.luma_mark is not None)
    if kind == "audio":
        audio = explicit_audio.AudioLabel(at_end=options.prompt_at_end)
        explicit_audio.prepend_prompt(src, dst, mime, audio)
        return Labelled(dst, explicit_audio.describe(audio))
    raise InvalidInput("explicit_label_impossible", f"no explicit label is defined for {mime}")

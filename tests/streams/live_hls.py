"""Live HLS streams made by ffmpeg and served on loopback, for the monitor's tests and bench/live.py.

ffmpeg cuts the programme into 2 s segments (MPEG-TS, or fragmented MP4 with an init section); the
server then publishes the playlist as a live one: a segment becomes visible every `segment_seconds` of
wall time, the playlist grows (no #EXT-X-ENDLIST until the programme is over, when `end` is set). A test
can stall the playlist (it stops growing) and make given segments answer 404.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SEGMENT_SECONDS = 2
HLS_JS = Path(__file__).resolve().parents[2] / "player_plugin" / "node_modules" / "hls.js" / "dist" / "hls.min.js"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=300)


def innocent_clip(path: Path, seconds: float, size: str = "320x240", rate: int = 25) -> Path:
    """A moving test pattern with a tone: nothing any list holds."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-f", "lavfi", "-i",
           "sine=frequency=523:sample_rate=44100", "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
           "-pix_fmt", "yuv420p", "-g", str(rate * SEGMENT_SECONDS), "-c:a", "aac", "-b:a", "64k", str(path))
    return path


def still_clip(path: Path, picture: Path, seconds: float, size: str = "320x240", rate: int = 25) -> Path:
    """A still picture held for `seconds` (with silence): the 'prohibited clip' of the tests."""
    ffmpeg("-loop", "1", "-i", str(picture), "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", str(seconds),
           "-vf", f"scale={size.replace('x', ':')},format=yuv420p", "-r", str(rate), "-c:v", "libx264",
           "-preset", "veryfast", "-g", str(rate * SEGMENT_SECONDS), "-c:a", "aac", "-b:a", "64k", str(path))
    return path


def segment(programme: list[Path], out: Path, fmp4: bool = False) -> list[float]:
    """Cuts the clips, one after the other, into `out`/seg-N.ts (or .m4s + init.mp4); the durations."""
    out.mkdir(parents=True, exist_ok=True)
    listing = out / "programme.txt"
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in programme))
    kind = ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", str(out / "seg-%d.m4s")] if fmp4 else [
        "-hls_segment_filename", str(out / "seg-%d.ts")]
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c:v", "libx264", "-preset", "veryfast", "-g", "50",
           "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", "-f", "hls",
           "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0", "-hls_playlist_type", "vod", *kind,
           str(out / "vod.m3u8"))
    durations = []
    for line in (out / "vod.m3u8").read_text().splitlines():
        if line.startswith("#EXTINF:"):
            durations.append(float(line.split(":", 1)[1].split(",", 1)[0]))
    return durations


def segment_dash(programme: list[Path], out: Path) -> list[float]:
    """The same programme as DASH (fMP4, SegmentTemplate + SegmentTimeline, 2 s): init-0.m4s and
    chunk-0-NNNNN.m4s for the video; the video segments' durations."""
    from backend.streams import manifests

    out.mkdir(parents=True, exist_ok=True)
    listing = out / "programme.txt"
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in programme))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c:v", "libx264", "-preset", "veryfast", "-g", "50",
           "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", "-f", "dash",
           "-seg_duration", str(SEGMENT_SECONDS), "-use_template", "1", "-use_timeline", "1",
           "-init_seg_name", "init-$RepresentationID$.m4s",
           "-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s", str(out / "vod.mpd"))
    vod = manifests.parse((out / "vod.mpd").read_text(), "http://127.0.0.1/vod.mpd")
    return [s.duration for s in vod.segments]


@dataclass
class LiveStream:
    """One stream's publishing state (what the playlist shows now)."""

    folder: Path
    durations: list[float]
    segment_seconds: float = SEGMENT_SECONDS
    end: bool = True
    fmp4: bool = False
    dash: bool = False
    missing: set[int] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    stalled_at: int | None = None  # segments visible when the playlist stalled

    def visible(self) -> int:
        shown = 1 + int((time.monotonic() - self.started) / self.segment_seconds)
        if self.stalled_at is not None:
            shown = min(shown, self.stalled_at)
        return min(len(self.durations), shown)

    def stall(self) -> None:
        self.stalled_at = self.visible()

    def manifest(self) -> str:
        """A dynamic MPD whose SegmentTimeline lists the visible video segments (static once it is over)."""
        shown = self.visible()
        over = self.end and shown == len(self.durations)
        timeline = "".join(f'<S t="{round(sum(self.durations[:i]) * 1000)}" d="{round(d * 1000)}"/>'
                           for i, d in enumerate(self.durations[:shown]))
        kind = 'type="static"' if over else ('type="dynamic" minimumUpdatePeriod="PT1S" '
                                             'availabilityStartTime="1970-01-01T00:00:00Z"')
        return ('<?xml version="1.0" encoding="utf-8"?>'
                f'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" {kind}>'
                '<Period id="0" start="PT0S"><AdaptationSet id="0" contentType="video" segmentAlignment="true">'
                '<Representation id="0" mimeType="video/mp4" codecs="avc1.64000d" bandwidth="250000" width="320" '
                'height="240"><SegmentTemplate timescale="1000" initialization="init-$RepresentationID$.m4s" '
                'media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">'
                f'<SegmentTimeline>{timeline}</SegmentTimeline></SegmentTemplate></Representation></AdaptationSet>'
                '</Period></MPD>')

    def playlist(self) -> str:
        shown = self.visible()
        ext = "m4s" if self.fmp4 else "ts"
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
                 "#EXT-X-MEDIA-SEQUENCE:0"]
        if self.fmp4:
            lines.append('#EXT-X-MAP:URI="init.mp4"')
        for i in range(shown):
            lines += [f"#EXTINF:{self.durations[i]:.3f},", f"seg-{i}.{ext}"]
        if self.end and shown == len(self.durations):
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


class LiveServer:
    """A loopback HTTP server for any number of LiveStreams: /<name>/index.m3u8 and its segments."""

    def __init__(self) -> None:
        self.streams: dict[str, LiveStream] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.requests.append(self.path)
                if self.path == "/vendor/hls.min.js":  # the player library the browser tests load
                    return self._answer(200, HLS_JS.read_bytes(), "text/javascript")
                name, _, rest = self.path.lstrip("/").split("?", 1)[0].partition("/")
                live = owner.streams.get(name)
                if live is None:
                    return self._answer(404, b"no such stream", "text/plain")
                if rest == "index.m3u8":
                    return self._answer(200, live.playlist().encode(), "application/vnd.apple.mpegurl")
                if rest == "manifest.mpd":
                    return self._answer(200, live.manifest().encode(), "application/dash+xml")
                index = -1
                if rest.startswith("seg-"):
                    index = int(rest.split("-", 1)[1].split(".", 1)[0])
                elif rest.startswith("chunk-0-"):
                    index = int(rest.rsplit("-", 1)[1].split(".", 1)[0]) - 1
                if index >= 0 and (index >= live.visible() or index in live.missing):
                    return self._answer(404, b"not found", "text/plain")
                path = live.folder / rest
                if "/" in rest or not path.is_file():
                    return self._answer(404, b"not found", "text/plain")
                ctype = "video/mp2t" if rest.endswith(".ts") else "video/mp4"
                return self._answer(200, path.read_bytes(), ctype)

            def _answer(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, name: str, live: LiveStream) -> str:
        self.streams[name] = live
        return f"{self.origin}/{name}/" + ("manifest.mpd" if live.dash else "index.m3u8")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

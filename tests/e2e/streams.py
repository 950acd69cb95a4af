"""HLS and DASH made locally with ffmpeg from a signed MP4, served from loopback (issue 12, item 5).

Tiny on purpose: 320×240, H.264 + AAC (Debian's Chromium plays both through Media Source Extensions and
natively), a keyframe every second so every segment is 1 s. On-demand streams are segmented once; a
live stream is an `ffmpeg -re -stream_loop -1` process writing a growing playlist (or a dynamic MPD)
for as long as the test runs. The same loopback server serves the players (hls.js, dash.js, Shaka,
video.js) from player_plugin/node_modules: no CDN, no network.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.conftest import ROOT, Server

MODULES = ROOT / "player_plugin" / "node_modules"
# URL path under /vendor/ → the player library file that page loads.
VENDOR = {
    "hls.min.js": MODULES / "hls.js/dist/hls.min.js",
    "dash.all.min.js": MODULES / "dashjs/dist/modern/umd/dash.all.min.js",
    "shaka-player.compiled.js": MODULES / "shaka-player/dist/shaka-player.compiled.js",
    "video.min.js": MODULES / "video.js/dist/video.min.js",
    "video-js.min.css": MODULES / "video.js/dist/video-js.min.css",
}
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml", ".m4s": "video/iso.segment",
         ".mp4": "video/mp4", ".js": "text/javascript", ".css": "text/css"}


def ffmpeg(*args: str) -> None:
    subprocess.run(["nice", "-n", "10", "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


def source_clip(path: Path, seconds: float, seed: int) -> Path:
    """A test pattern with a tone; `seed` shifts the pattern and pitch so each clip has bytes of its own."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency={300 + 40 * seed}:duration={seconds}",
           "-vf", f"hue=h={seed * 37 % 360}", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
           "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "48k", "-shortest", "-movflags", "+faststart", str(path))
    return path


def keyframed(signed: Path) -> Path:
    """The signed MP4 with a keyframe every second (signing re-encodes the video with one GOP), audio as is:
    what a packager does before cutting 1 s segments. The burnt-in visible label stays."""
    out = signed.with_name(signed.stem + "-1s.mp4")
    ffmpeg("-i", str(signed), "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25",
           "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "copy", str(out))
    return out


def hls_vod(signed: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    ffmpeg("-i", str(signed), "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
           "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
           "-hls_segment_filename", str(out / "seg%03d.m4s"), str(out / "index.m3u8"))
    return out / "index.m3u8"


def dash_vod(signed: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    ffmpeg("-i", str(signed), "-c", "copy", "-f", "dash", "-seg_duration", "1", "-use_template", "1",
           "-use_timeline", "1", "-init_seg_name", "init-$RepresentationID$.m4s",
           "-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s", str(out / "manifest.mpd"))
    return out / "manifest.mpd"


@contextmanager
def live(signed: Path, out: Path, kind: str) -> Iterator[Path]:
    """A live stream for the duration of the block: the signed clip looped in real time."""
    out.mkdir(parents=True, exist_ok=True)
    if kind == "hls":
        target = out / "live.m3u8"
        muxer = ["-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_segment_type", "fmp4",
                 "-hls_fmp4_init_filename", "init.mp4", "-hls_flags", "delete_segments+omit_endlist+temp_file",
                 "-hls_segment_filename", str(out / "live%05d.m4s")]
    else:
        target = out / "live.mpd"
        muxer = ["-f", "dash", "-seg_duration", "1", "-window_size", "6", "-extra_window_size", "4",
                 "-streaming", "0", "-use_template", "1", "-use_timeline", "1",
                 "-init_seg_name", "init-$RepresentationID$.m4s",
                 "-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s"]
    proc = subprocess.Popen(["nice", "-n", "10", "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
                             "-stream_loop", "-1", "-i", str(signed), "-c", "copy", *muxer, str(target)],
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield target
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        return

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return TYPES.get(Path(path).suffix, "application/octet-stream")

    def translate_path(self, path: str) -> str:
        name = path.split("?", 1)[0]
        if name.startswith("/vendor/") and name[len("/vendor/"):] in VENDOR:
            return str(VENDOR[name[len("/vendor/"):]])
        return super().translate_path(path)


@dataclass
class StreamHost:
    """A loopback HTTP server over `root`: streams at /<path>, player libraries at /vendor/<file>."""

    root: Path
    server: ThreadingHTTPServer

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: Path) -> str:
        return f"{self.origin}/{path.relative_to(self.root).as_posix()}"

    def csp(self) -> str:
        """The test pages' strict CSP, widened to this origin and to the players' blob: media."""
        o = self.origin
        return (f"default-src 'self'; script-src 'self' {o}; style-src 'self' 'unsafe-inline' {o}; "
                f"img-src 'self' data: blob:; media-src 'self' {o} blob:; connect-src 'self' {o}; "
                f"worker-src 'self' blob:; font-src 'self' data: {o}; object-src 'none'; base-uri 'none'")


@contextmanager
def serve(root: Path) -> Iterator[StreamHost]:
    missing = [str(p) for p in VENDOR.values() if not p.is_file()]
    assert not missing, f"player libraries missing (npm ci in player_plugin): {missing}"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield StreamHost(root, httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()


def download_signed(srv: Server, content_id: str, path: Path) -> Path:
    """The signed MP4 as the service serves it (the stream is segmented from these bytes)."""
    with srv.client() as http:
        resp = http.get(f"/media/{content_id}.mp4")
        assert resp.status_code == 200, resp.text
    path.write_bytes(resp.content)
    return path


def register_urls(srv: Server, content_id: str, *urls: str) -> None:
    """The publisher registers stream URLs as hosting URLs (the admin assigns the loopback origin first)."""
    key = srv.keys["publisher"]
    with srv.client() as http:
        origins = {httpx.URL(u).scheme + "://" + httpx.URL(u).netloc.decode() for u in urls}
        for origin in origins:
            resp = http.post(f"/v1/accounts/{srv.account_ids[key]}/origins", json={"origin": origin},
                             headers={"Authorization": f"Bearer {srv.keys['admin']}"})
            assert resp.status_code in (200, 201), resp.text
        resp = http.post(f"/v1/contents/{content_id}/urls", json={"urls": list(urls)},
                         headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code == 201, resp.text


def live_segments(path: Path) -> int:
    """How many media segments the live playlist or MPD lists now (0 before the muxer wrote it)."""
    import re

    try:
        text = path.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return 0
    if path.suffix == ".m3u8":
        return text.count("#EXTINF:")
    repeats = (re.search(r'\br="(\d+)"', tag) for tag in re.findall(r"<S\b[^>]*>", text))
    return sum(1 + (int(r.group(1)) if r else 0) for r in repeats)


def wait_live(path: Path, segments: int = 3, timeout: float = 30.0) -> Path:
    """Until the live muxer lists `segments` segments: a player joins a live stream some target durations
    from its end (RFC 8216 6.3.3), and Chromium's own HLS player fails to parse a playlist of one."""
    import time

    deadline = time.monotonic() + timeout
    while live_segments(path) < segments:
        assert time.monotonic() < deadline, f"ffmpeg listed {live_segments(path)} segments in {path.name} " \
                                            f"in {timeout} s"
        time.sleep(0.1)
    return path

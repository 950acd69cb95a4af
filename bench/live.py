"""The stream monitor's budget: CPU seconds per minute of 720p stream, and streams per core, at the
default sampling rate (settings: monitor_sample_seconds, monitor_audio_window_seconds,
monitor_detectors_every_seconds).

N simulated live HLS streams are made locally with ffmpeg (1280×720, 25 fps, H.264 + AAC, 2 s segments)
and published on loopback as growing playlists (tests/streams/live_hls.py); one `avlabel monitor` process
(embedded SQLite + the local Redis) watches all of them from start to end. Its CPU time (user + system,
from the moment the streams are registered) divided by the minutes of stream it checked is the figure.
The in-run baseline is decoding every frame of the same segments with PyAV: what a monitor that looked at
every picture would pay at least.

    python -m bench.live                # 4 streams × 60 s, published in real time
    python -m bench.live --quick        # 2 streams × 20 s, published at 4× speed
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import psutil

from bench.common import Row

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("AVLABEL_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _make_programme(work: Path, seconds: int) -> tuple[Path, list[float]]:
    from tests.streams import live_hls

    clip = work / "programme.mp4"
    subprocess.run(["nice", "-n", "10", "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i",
                    "sine=frequency=523:sample_rate=44100", "-t", str(seconds), "-c:v", "libx264",
                    "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "50", "-keyint_min", "50",
                    "-sc_threshold", "0", "-c:a", "aac", "-b:a", "96k", "-f", "hls", "-hls_time", "2",
                    "-hls_list_size", "0", "-hls_playlist_type", "vod", "-hls_segment_filename",
                    str(work / "seg-%d.ts"), str(work / "vod.m3u8")], check=True, timeout=900)
    durations = [float(line.split(":", 1)[1].split(",", 1)[0])
                 for line in (work / "vod.m3u8").read_text().splitlines() if line.startswith("#EXTINF:")]
    assert live_hls.SEGMENT_SECONDS == 2
    return clip, durations


def _full_decode_cpu(folder: Path, count: int) -> float:
    start = time.process_time()
    for i in range(count):
        with av.open(str(folder / f"seg-{i}.ts")) as media:
            for _frame in media.decode(*media.streams.video, *media.streams.audio):
                pass
    return time.process_time() - start


def _parts_cpu(services: object, folder: Path, durations: list[float]) -> tuple[float, float]:
    """The monitor's two costs apart, in this process: sampling (CPU s per minute of stream) and one run of
    the detector suite (without its fingerprint detector) on a 720p segment."""
    import hashlib

    from backend.settings import Settings
    from backend.streams.sampling import Sampler
    from detectors.base import MediaInput
    from detectors.pipeline import DetectorSuite

    defaults = Settings()
    sampler = Sampler(defaults.monitor_sample_seconds, defaults.monitor_audio_window_seconds)
    start, t = time.process_time(), 0.0
    for i, d in enumerate(durations):
        sampler.segment(folder / f"seg-{i}.ts", t)
        t += d
    sampling = (time.process_time() - start) / (sum(durations) / 60)
    detection = services.detection  # type: ignore[attr-defined]
    suite = DetectorSuite([d for d in detection.suite.detectors if d.name != "fingerprint"])
    seg = folder / "seg-1.ts"
    start = time.process_time()
    suite.run(MediaInput(seg, "video/mp4", hashlib.sha256(seg.read_bytes()).hexdigest()))
    return sampling, time.process_time() - start


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def measure(streams: int, seconds: int, speed: float) -> dict[str, float]:
    from backend import accounts, registry_urls
    from backend.services import Services
    from backend.settings import Settings
    from backend.store.db import utcnow
    from backend.streams import registration
    from backend.streams.queue import MonitorQueue
    from tests.streams.live_hls import LiveServer, LiveStream

    work = Path(tempfile.mkdtemp(prefix="avlabel-bench-live-"))
    live = LiveServer()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AVLABEL_") and k != "DATABASE_URL"},
           "AVLABEL_DATA_DIR": str(work / "data"), "REDIS_URL": REDIS_URL,
           "AVLABEL_REDIS_PREFIX": f"avlbench:{secrets.token_hex(4)}:", "AVLABEL_MONITOR_ALLOW_PRIVATE": "true",
           "PYTHONPATH": str(ROOT)}
    proc = None
    try:
        folder = work / "segments"
        folder.mkdir()
        _clip, durations = _make_programme(folder, seconds)
        settings = Settings(data_dir=work / "data", redis_url=REDIS_URL, redis_prefix=env["AVLABEL_REDIS_PREFIX"],
                            DATABASE_URL="")
        services = Services.open(settings)
        with services.db.tx() as conn:
            pub = accounts.create_account(conn, "Bench Live", "publisher", actor="bench")
            registry_urls.assign(conn, pub.id, live.origin, None, "bench", utcnow())
        log = (work / "monitor.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "monitor", "--concurrency", str(streams)],
                                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        while b"watching for streams" not in (work / "monitor.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the monitor did not start: " + (work / "monitor.log").read_text()[-2000:])
            time.sleep(0.2)
        cpu_before = _cpu(ps)
        queue = MonitorQueue(settings)
        ids = []
        for n in range(streams):
            url = live.add(f"b{n}", LiveStream(folder, durations, segment_seconds=2 / speed))
            with services.db.tx() as conn:
                req = registration.parse({"playlist_url": url, "declaration": "ai_presenter"})
                ids.append(registration.create(conn, req, pub.id, pub.name, "", utcnow())["content_id"])
            queue.dispatch(ids[-1])
        queue.close()
        wall = time.monotonic()
        deadline = wall + seconds / speed * 3 + 120
        while True:
            with services.db.read() as conn:
                views = [registration.view(conn, c)["monitor"] for c in ids]
            if all(v["status"] == "ended" for v in views):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the monitor did not finish: " + (work / "monitor.log").read_text()[-2000:])
            time.sleep(0.5)
        cpu = _cpu(ps) - cpu_before
        wall = time.monotonic() - wall
        checked = sum(v["checked_segments"] for v in views)
        stream_minutes = streams * sum(durations) / 60
        base = _full_decode_cpu(folder, len(durations))
        sampling, suite = _parts_cpu(services, folder, durations)
        services.db.close()
        return {"sampling_cpu_per_min": sampling, "suite_cpu_per_run": suite, "cpu_s": cpu,
                "stream_minutes": stream_minutes, "checked": checked, "segments": len(durations),
                "wall_s": wall, "full_decode_cpu_per_min": base / (sum(durations) / 60)}
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        live.close()
        shutil.rmtree(work, ignore_errors=True)


def run(quick: bool) -> list[Row]:
    streams, seconds, speed = (2, 20, 4.0) if quick else (4, 60, 1.0)
    m = measure(streams, seconds, speed)
    per_min = m["cpu_s"] / m["stream_minutes"]
    base = m["full_decode_cpu_per_min"]
    note = (f"{streams} streams × {seconds} s of 1280×720 H.264 + AAC in 2 s segments, published at {speed:g}× "
            f"real time on loopback; {m['checked']} of {streams * m['segments']} segments checked")
    return [
        Row(case="monitor CPU per minute of 720p stream (default sampling)", value=round(per_min, 2),
            unit="CPU s/min", baseline="full decode of every frame (PyAV)", baseline_value=round(base, 2),
            ratio=round(per_min / base, 2) if base else None, n=streams, note=note),
        Row(case="streams per core at the default sampling rate", value=round(60 / per_min, 1), unit="streams",
            n=streams, note="60 CPU s per minute of wall time / CPU s per minute of stream"),
        Row(case="of which: keyframe + audio sampling alone", value=round(m["sampling_cpu_per_min"], 2),
            unit="CPU s/min", baseline="full decode of every frame (PyAV)", baseline_value=round(base, 2),
            ratio=round(m["sampling_cpu_per_min"] / base, 2) if base else None,
            note="one keyframe per 2 s (PDQ), audio in 10 s windows (Chromaprint), in-process"),
        Row(case="of which: one detector-suite run on a 2 s 720p segment", value=round(m["suite_cpu_per_run"], 2),
            unit="CPU s", note="once per monitor_detectors_every_seconds (30 s) of stream"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        extra = f" (baseline {row.baseline}: {row.baseline_value}, ratio {row.ratio})" if row.baseline else ""
        print(f"{row.case}: {row.value} {row.unit}{extra} — {row.note}")


if __name__ == "__main__":
    main()

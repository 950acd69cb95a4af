"""Explicit labels in video (issue 11, "Speed"), side by side with anchors measured in the same run:

1. The one video pass (signing/explicit_video.one_pass: decode once, burn "AI生成" on the first 2 s, embed
   the soft-binding mark on every frame, encode once with the source's codec) against a plain re-encode of
   the same file by the same function with the same encoder settings and nothing drawn (PyAV alone),
   on a 60 s 720p H.264 + AAC file (quick: 6 s) and, in the full run, the 200 MB MP4 of bench.signing.
   Also output size / input size.
2. The signing core without re-encode (visible_label=false, no watermark: sniff + hash, the AIGC record,
   c2pa sign, read-back check, output hash, registry + audit + fsync) against raw c2pa `Builder.sign`
   with the same manifest and signer, on the 200 MB MP4 (quick: 20 MB).

    python -m bench.explicit_label [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backend import implicit_label
from backend.media import digest, scratch_dir
from backend.signing import service as signing_service
from backend.signing.explicit_video import VideoLabel, one_pass
from backend.signing.service import SigningService, SignRequest
from backend.signing.signer import IO_BUFFER
from bench.common import Row, peak_rss, ratio
from bench.fixtures import CACHE, mp4_of_size, open_services
from bench.signing import GENERATOR, raw_manifest, raw_sign
from detectors.watermark_codec import Embedder

PASS_TARGET = 1.2
CORE_TARGET = 1.15
KEY = 0x5A17AB1E1234


def clip_720p(seconds: int) -> Path:
    """A 720p30 H.264 (CRF 23, veryfast) + AAC clip with moving detail, made once under bench/.cache/."""
    CACHE.mkdir(exist_ok=True)
    out = CACHE / f"clip-720p-{seconds}s.mp4"
    if not out.exists():
        tmp = out.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t", "-f", "lavfi", "-i",
                        "sine=frequency=440:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                        str(tmp)], check=True, timeout=900)
        tmp.rename(out)
    return out


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pass_rows(src: Path, label: str, runs: int, tmp: Path) -> list[Row]:
    plain, labelled = tmp / "plain.mp4", tmp / "labelled.mp4"
    embed = Embedder(KEY).embed_luma
    plain_s: list[float] = []
    one_s: list[float] = []
    with peak_rss() as rss:
        for _ in range(runs):  # interleaved, so drifting machine load touches both alike
            plain_s.append(_time(lambda: one_pass(src, plain, "video/mp4")))
            one_s.append(_time(lambda: one_pass(src, labelled, "video/mp4", VideoLabel("AI生成"), embed)))
    size_in = src.stat().st_size
    base, value = statistics.median(plain_s), statistics.median(one_s)
    r = ratio(value, base)
    rows = [
        Row(case=f"{label}: plain re-encode, same encoder settings (anchor)", value=round(base, 2), unit="s", n=runs,
            extra={"output_over_input": round(plain.stat().st_size / size_in, 3)},
            note=f"output/input size {plain.stat().st_size / size_in:.3f}"),
        Row(case=f"{label}: one pass, label (first 2 s) + watermark (every frame)", value=round(value, 2), unit="s",
            baseline="plain re-encode", baseline_value=round(base, 2), ratio=_r(r),
            target=f"ratio <= {PASS_TARGET}", met=bool(r is not None and r <= PASS_TARGET), peak_rss_mb=rss.mb,
            n=runs, note=f"output/input size {labelled.stat().st_size / size_in:.3f} "
                         f"(input {size_in / 1e6:.0f} MB); peak RSS covers both contenders",
            extra={"output_over_input": round(labelled.stat().st_size / size_in, 3), "samples_s": one_s,
                   "anchor_samples_s": plain_s}),
    ]
    plain.unlink(missing_ok=True)
    labelled.unlink(missing_ok=True)
    return rows


def core_rows(quick: bool, tmp: Path) -> list[Row]:
    mp4 = mp4_of_size(20 if quick else 200)
    runs = 2 if quick else 3
    mb = mp4.stat().st_size / 1e6
    services, publisher = open_services(tmp / "svc")
    full = services.signing
    reader = full.reader
    assert reader is not None  # the floor row times the read-back; a service without one has no floor to show
    core = SigningService(full.db, full.identity, full.data, full.media_dir, full.checks, reader)
    # The AIGC record goes in before signing; when the service does not write it itself yet, the bench
    # writes it (implicit_label.write, an ffmpeg stream-copy remux for MP4) inside the timed part.
    service_writes_record = "implicit_label" in Path(signing_service.__file__).read_text()
    record = full.aigc_fields("bench-core", publisher)
    manifest = raw_manifest(services, publisher, mp4, "video/mp4")
    raw_out, landing = tmp / "raw.mp4", tmp / "upload-raw.mp4"
    raw_s: list[float] = []
    buffered_s: list[float] = []
    readback_s: list[float] = []
    core_s: list[float] = []
    record_s: list[float] = []
    for _ in range(runs):
        # Every contender signs its own freshly landed copy of the upload (copied, hashed and flushed untimed):
        # signing a just-written 200 MB file swung between 0.48 and 1.0 s on this machine while signing the
        # long-cached fixture did not, so anchors and core start from the same state.
        _landed(mp4, landing)
        raw_s.append(_time(lambda: raw_sign(services, manifest, landing, "video/mp4", raw_out)))
        raw_out.unlink()
        _landed(mp4, landing)
        # The same raw sign with the service's file buffers: how much of the gap is c2pa's I/O, not ours.
        buffered_s.append(_time(lambda: raw_sign(services, manifest, landing, "video/mp4", raw_out, IO_BUFFER)))
        # The service's read-back of that output on its own: a core that validates what it signed cannot go
        # below sign + this (c2pa's Reader seeks to the end and walks the boxes first, so it cannot run beside
        # the sign on the other core).
        readback_s.append(_time(lambda: reader.read(raw_out, "video/mp4")))
        raw_out.unlink()
        landing.unlink()
        with scratch_dir(services.settings.data_dir / "tmp") as work:
            copy = work / "upload.mp4"
            received = _landed(mp4, copy)  # the route hashes the upload as it arrives (uploads.read_form)
            start = time.perf_counter()
            if not service_writes_record:
                implicit_label.write(copy, "video/mp4", record)
                record_s.append(time.perf_counter() - start)
            media = core.inspect(copy, received)
            result = core.sign(media, SignRequest(GENERATOR, visible_label=False), publisher, work)
            core_s.append(time.perf_counter() - start)
            result.path.unlink(missing_ok=True)
    services.db.close()
    base, value = statistics.median(raw_s), statistics.median(core_s)
    buffered = statistics.median(buffered_s)
    floor = buffered + statistics.median(readback_s)
    rf = ratio(floor, buffered)
    rb = ratio(value, buffered)  # the target is read against this anchor: the same c2pa I/O on both sides
    r = ratio(value, base)
    scope = f"{mb:.0f} MB MP4" + (" (quick: the full run uses 200 MB)" if quick else "")
    steps = ("AIGC record written by the service" if service_writes_record else
             f"AIGC record (implicit_label.write, stream-copy remux) {statistics.median(record_s):.2f} s of it")
    return [
        Row(case=f"sign {scope}: raw c2pa Builder.sign (anchor)", value=round(base, 3), unit="s", n=runs),
        Row(case=f"sign {scope}: signing core without re-encode", value=round(value, 3), unit="s",
            baseline="raw Builder.sign", baseline_value=round(base, 3), ratio=_r(r), n=runs,
            note=f"sniff + metadata + c2pa sign + read-back + output hash + registry/audit/fsync (the upload's own "
                 f"hash is taken as it arrives, as the route does); {steps}",
            extra={"record_s": record_s, "samples_s": core_s, "anchor_samples_s": raw_s}),
        Row(case=f"sign {scope}: signing core vs raw Builder.sign with the same 1 MiB file buffers",
            value=round(value, 3), unit="s", baseline="raw Builder.sign, 1 MiB buffers",
            baseline_value=round(buffered, 3), ratio=_r(rb), target=f"ratio <= {CORE_TARGET}",
            met=bool(rb is not None and rb <= CORE_TARGET), n=runs,
            note="the service opens c2pa's streams with 1 MiB buffers (c2pa reads and writes 8 KiB at a time); "
                 "against a raw sign that does the same, what is left is the service's own work (mostly the "
                 "read-back)", extra={"anchor_samples_s": buffered_s}),
        Row(case=f"sign {scope}: floor, raw Builder.sign with 1 MiB buffers + the read-back validation alone",
            value=round(floor, 3), unit="s", baseline="raw Builder.sign, 1 MiB buffers",
            baseline_value=round(buffered, 3), ratio=_r(rf), n=runs,
            note=f"the least any core that validates its signed output can take; above {CORE_TARGET} the target "
                 f"cannot be met while the read-back is kept (read-back median "
                 f"{statistics.median(readback_s):.3f} s; the core is {value / floor:.2f}x this floor)",
            extra={"readback_samples_s": readback_s, "core_over_floor": round(value / floor, 3)}),
    ]


def _landed(fixture: Path, dst: Path) -> str:
    """The upload as it lands in scratch (untimed): a fresh copy, hashed once (the route hashes it as it
    arrives) and flushed, so no contender pays for another's writeback. Returns the SHA-256."""
    shutil.copyfile(fixture, dst)
    sha = digest(dst)
    os.sync()
    return sha


def _r(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def run(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="avlabel-bench-explicit-") as d:
        tmp = Path(d)
        rows = pass_rows(clip_720p(6 if quick else 60), f"720p {'6' if quick else '60'} s H.264 + AAC"
                         + (" (quick: the full run uses 60 s)" if quick else ""), 2 if quick else 1, tmp)
        if not quick:
            big = mp4_of_size(200)
            rows += pass_rows(big, f"{big.stat().st_size / 1e6:.0f} MB 720p H.264 (noise, near-lossless)", 1, tmp)
        return rows + core_rows(quick, tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        print(f"{row.case}: {row.value} {row.unit}" + (f" ratio {row.ratio} ({row.target})" if row.ratio else "")
              + (f" — {row.note}" if row.note else ""))


if __name__ == "__main__":
    main()

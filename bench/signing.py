"""Signing: a 1 MP JPEG (SigningService, HTTP, raw c2pa Builder.sign) and a large MP4 against sha256sum.

Anchors measured in the same run: the raw c2pa-python `Builder.sign` on the same file with the same
manifest and signer (so the ratio is the service's own work: sniffing, bomb checks, the burned-in label,
hashing, the registry transaction with its audit entry and fsync), and `sha256sum` of the MP4.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import c2pa

from backend.accounts import Account
from backend.media import Media, digest, scratch_dir
from backend.services import Services
from backend.signing.service import SigningService, SignRequest
from bench.common import PeakRss, Row, latency_row, peak_rss, ratio, timed
from bench.fixtures import jpeg_1mp, mp4_of_size, open_services, running_server

GENERATOR = "bench-gen 1.0"
MP4_TARGET = 1.5


def raw_manifest(services: Services, publisher: Account, src: Path, mime: str) -> dict[str, Any]:
    """The manifest the service would write, built once outside the timed part."""
    media = Media(path=src, mime=mime, size=src.stat().st_size, sha256="0" * 64)
    return services.signing.build_manifest(SignRequest(GENERATOR), media, "raw", publisher,
                                           f"urn:c2pa:{uuid.uuid4()}")


def raw_sign(services: Services, manifest: dict[str, Any], src: Path, mime: str, dst: Path,
             buffering: int = -1) -> None:
    """What a c2pa-python user writes: the service's manifest and callback signer, nothing else
    (`buffering`: the files' buffer size, -1 for Python's default, as a user opens them)."""
    ident = services.identity
    signer = c2pa.Signer.from_callback(ident.sign, c2pa.C2paSigningAlg.ES256, ident.chain_pem.decode(), None)
    try:
        with c2pa.Builder(manifest) as builder, src.open("rb", buffering=buffering) as fin, \
                dst.open("w+b", buffering=buffering) as fout:
            builder.sign(signer, mime, fin, fout)
    finally:
        signer.close()


def service_sign(services: Services, publisher: Account, src: Path, signing: SigningService | None = None) -> None:
    signing = signing or services.signing
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        media = signing.inspect(src)
        signing.sign(media, SignRequest(GENERATOR), publisher, work)


def jpeg_rows(quick: bool, tmp: Path) -> list[Row]:
    n = 15 if quick else 100
    services, publisher = open_services(tmp / "svc")
    jpeg = jpeg_1mp(tmp / "1mp.jpg")
    out = tmp / "raw-out.jpg"
    with peak_rss() as raw_rss:
        manifest = raw_manifest(services, publisher, jpeg, "image/jpeg")
        raw = timed(lambda: raw_sign(services, manifest, jpeg, "image/jpeg", out), n, "raw Builder.sign 1MP")
    with peak_rss() as svc_rss:
        svc = timed(lambda: service_sign(services, publisher, jpeg), n, "SigningService 1MP")
    rows = [
        latency_row("sign 1 MP JPEG: raw c2pa Builder.sign (anchor)", raw, raw_rss,
                    note="same manifest and callback signer as the service"),
        latency_row("sign 1 MP JPEG: SigningService (in-process)", svc, svc_rss, raw,
                    "raw Builder.sign p50", note="sniff, bomb check, burned-in label, pre-sign hooks (soft-binding "
                    "watermark when installed), read-back check, registry + audit, fsync, fingerprint"),
    ]
    services_close(services)
    with running_server(tmp / "http") as srv, srv.client() as http:
        body = jpeg.read_bytes()
        headers = {"Authorization": f"Bearer {srv.keys['publisher']}"}

        def post() -> None:
            resp = http.post("/v1/sign", headers=headers, files={"file": ("1mp.jpg", body, "image/jpeg")},
                             data={"generator": GENERATOR})
            resp.raise_for_status()

        with PeakRss(srv.proc.pid if srv.proc else None) as http_rss:
            over_http = timed(post, n, "POST /v1/sign 1MP")
        rows.append(latency_row("sign 1 MP JPEG: POST /v1/sign over HTTP (embedded server)", over_http, http_rss,
                                raw, "raw Builder.sign p50", note="peak RSS is the server's"))
    return rows


def services_close(services: Services) -> None:
    services.db.close()


def _sha256sum(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    return time.perf_counter() - start


def mp4_rows(quick: bool, tmp: Path) -> list[Row]:
    size_mb = 20 if quick else 200
    runs = 2 if quick else 3
    mp4 = mp4_of_size(size_mb)
    actual_mb = mp4.stat().st_size / 1e6
    services, publisher = open_services(tmp / "svc-mp4")
    _sha256sum(mp4)  # page cache warm for every contender alike
    base = statistics.median(_sha256sum(mp4) for _ in range(3))
    out = tmp / "raw-out.mp4"
    raw_times: list[float] = []
    manifest = raw_manifest(services, publisher, mp4, "video/mp4")
    with peak_rss() as raw_rss:
        for _ in range(runs):
            start = time.perf_counter()
            raw_sign(services, manifest, mp4, "video/mp4", out)
            raw_times.append(time.perf_counter() - start)
    out.unlink(missing_ok=True)
    svc_times: list[float] = []
    with peak_rss() as svc_rss:
        for _ in range(runs):
            start = time.perf_counter()
            service_sign(services, publisher, mp4)
            svc_times.append(time.perf_counter() - start)
    steps = step_times(services, publisher, mp4, tmp / "steps.mp4")
    bare_times = without_hooks(services, lambda bare: service_sign(services, publisher, mp4, bare), runs)
    services_close(services)
    raw_s, svc_s = statistics.median(raw_times), statistics.median(svc_times)
    scope = f"{actual_mb:.0f} MB MP4" + (" (quick mode: smaller file than the 200 MB of the full run)" if quick
                                         else "")
    svc_ratio = ratio(svc_s, base)
    return [
        Row(case=f"sha256sum of the {actual_mb:.0f} MB MP4 (anchor)", value=round(base, 3), unit="s", n=3,
            extra={"MB_per_s": round(actual_mb / base, 1)}),
        Row(case=f"sign {scope}: raw c2pa Builder.sign", value=round(raw_s, 3), unit="s",
            baseline="sha256sum", baseline_value=round(base, 3), ratio=_r(ratio(raw_s, base)),
            peak_rss_mb=raw_rss.mb, n=runs),
        Row(case=f"sign {scope}: SigningService (in-process)", value=round(svc_s, 3), unit="s",
            baseline="sha256sum", baseline_value=round(base, 3), ratio=_r(svc_ratio),
            target=f"ratio <= {MP4_TARGET}", met=bool(svc_ratio is not None and svc_ratio <= MP4_TARGET),
            peak_rss_mb=svc_rss.mb, n=runs,
            note=f"raw Builder.sign alone is {_r(ratio(raw_s, base))}x sha256sum; service / raw = "
                 f"{_r(ratio(svc_s, raw_s))}x; one run's steps (s): "
                 + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()), extra={"steps_s": steps}),
    ] + ([Row(case=f"sign {scope}: SigningService without the detection hooks (watermark, fingerprint)",
              value=round(statistics.median(bare_times), 3), unit="s", baseline="sha256sum",
              baseline_value=round(base, 3), ratio=_r(ratio(statistics.median(bare_times), base)), n=runs,
              note="the signing core alone: sniff, c2pa sign, read-back check, hashes, registry, fsync")]
         if bare_times else [])


def step_times(services: Services, publisher: Account, src: Path, out: Path) -> dict[str, float]:
    """Where the service's time goes on a large file, step by step (one run)."""
    marks = [time.perf_counter()]
    media = services.signing.inspect(src)  # libmagic sniff + SHA-256 of the input
    marks.append(time.perf_counter())
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        hooked = work / src.name
        shutil.copyfile(src, hooked)
        marker = services.signing.marker  # the soft-binding watermark (re-encodes video)
        if marker is not None:
            marker.mark(hooked, media.mime, f"bench-steps-{uuid.uuid4().hex[:8]}")
        marks.append(time.perf_counter())
    services.signing.signer.sign_file(raw_manifest(services, publisher, src, media.mime), media.mime, src, out)
    marks.append(time.perf_counter())
    services.signing._check_signed(out, media.mime)  # read back: c2pa verifies what it wrote
    marks.append(time.perf_counter())
    digest(out)
    marks.append(time.perf_counter())
    out.unlink()
    names = ("inspect", "pre-sign hooks", "c2pa sign", "read-back check", "output SHA-256")
    return {name: round(marks[i + 1] - marks[i], 3) for i, name in enumerate(names)}


def without_hooks(services: Services, fn: Callable[[SigningService], None], runs: int) -> list[float]:
    """Times `fn` with a signing service built without detection's collaborators (marker, registrar)."""
    full = services.signing
    if full.marker is None and full.registrar is None:
        return []
    bare = SigningService(full.db, full.identity, full.data, full.media_dir, full.checks, full.reader)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(bare)
        times.append(time.perf_counter() - start)
    return times


def _r(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def run(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="avlabel-bench-sign-") as d:
        tmp = Path(d)
        return jpeg_rows(quick, tmp) + mp4_rows(quick, tmp)

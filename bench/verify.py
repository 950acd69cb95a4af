"""Verification latency of signed and unsigned 1 MP JPEGs: VerifyService and POST /v1/verify against the raw
c2pa-python `Reader` on the same files with the same trust settings (the anchor)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import c2pa

from backend.media import scratch_dir
from backend.services import Services
from backend.signing.service import SignRequest
from bench.common import PeakRss, Row, latency_row, peak_rss, timed
from bench.fixtures import jpeg_1mp, open_services, running_server


def raw_read(services: Services, path: Path, mime: str) -> None:
    """The c2pa-python calls a user makes: a Reader with our trust anchors, state and manifest JSON."""
    settings = services.verify.reader.settings_dict
    with c2pa.Settings.from_dict(settings) as s, c2pa.Context(s) as ctx:
        try:
            with path.open("rb") as fh, c2pa.Reader(mime, fh, context=ctx) as reader:
                reader.get_validation_state()
                reader.json()
        except c2pa.C2paError:
            pass  # unsigned: ManifestNotFound is the answer


def service_verify(services: Services, path: Path) -> None:
    media = services.media.inspect(path)
    services.verify.verify_media(media)


def run(quick: bool) -> list[Row]:
    n = 30 if quick else 300
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="avlabel-bench-verify-") as d:
        tmp = Path(d)
        services, publisher = open_services(tmp / "svc")
        unsigned = jpeg_1mp(tmp / "unsigned.jpg", seed=2)
        with scratch_dir(tmp / "work") as work:
            result = services.signing.sign(services.signing.inspect(jpeg_1mp(tmp / "src.jpg", seed=3)),
                                           SignRequest("bench-gen 1.0"), publisher, work)
        signed = tmp / "signed.jpg"
        signed.write_bytes(result.path.read_bytes())
        files = {"signed": signed, "unsigned": unsigned}
        for kind, path in files.items():
            with peak_rss() as raw_rss:
                raw = timed(lambda p=path: raw_read(services, p, "image/jpeg"), n, f"raw Reader {kind}")
            with peak_rss() as svc_rss:
                svc = timed(lambda p=path: service_verify(services, p), n, f"VerifyService {kind}")
            rows.append(latency_row(f"verify {kind} 1 MP JPEG: raw c2pa Reader (anchor)", raw, raw_rss))
            note = "sniff, SHA-256, c2pa read, verdict, registry lookup"
            if kind == "unsigned" and services.verify.detection is not None:
                note += "; unsigned media then goes through every installed detector (most of the time)"
            rows.append(latency_row(f"verify {kind} 1 MP JPEG: VerifyService (in-process)", svc, svc_rss, raw,
                                    "raw Reader p50", note=note))
        services.db.close()
        with running_server(tmp / "http") as srv, srv.client() as http:
            for kind, path in files.items():
                body = path.read_bytes()

                def post(b: bytes = body) -> None:
                    resp = http.post("/v1/verify", files={"file": ("m.jpg", b, "image/jpeg")})
                    resp.raise_for_status()

                with PeakRss(srv.proc.pid if srv.proc else None) as http_rss:
                    over_http = timed(post, n, f"POST /v1/verify {kind}")
                raw_p50 = next(r for r in rows if r.case.startswith(f"verify {kind}") and "raw" in r.case).value
                row = latency_row(f"verify {kind} 1 MP JPEG: POST /v1/verify over HTTP (embedded server)",
                                  over_http, http_rss, note="peak RSS is the server's; one client, sequential")
                if raw_p50:
                    row.baseline, row.baseline_value = "raw Reader p50", raw_p50
                    row.ratio = round(row.value / raw_p50, 2) if row.value is not None else None
                rows.append(row)
    return rows

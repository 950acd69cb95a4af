"""Ingest of a 1 MP JPEG that carries another issuer's C2PA manifest (untrusted here) declaring AI generation.

Anchor measured in the same run: what a c2pa-python user writes for the same job, raw `Reader` (with the
service's trust settings) of the upload plus `Builder.sign` of a manifest with the upload as `parentOf`
ingredient, same callback signer. The service's extra work: sniffing and bomb checks, the verify pipeline
(no detection: the file is signed), the implicit-label read, the AIGC record write and its read-back, the
read-back of the signed file, the registry transaction with its audit entry and fsync, the fingerprint.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import c2pa

from backend.ingest import IngestRequest, IngestService
from backend.media import scratch_dir
from backend.signing.keys import ensure_dev_identity
from backend.signing.signer import ManifestSigner
from bench.common import Row, latency_row, peak_rss, timed
from bench.fixtures import jpeg_1mp, open_services

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def foreign_jpeg(folder: Path) -> Path:
    src = jpeg_1mp(folder / "plain.jpg", seed=3)
    identity = ensure_dev_identity(folder / "foreign-keys")
    manifest = {"claim_generator_info": [{"name": "other-gen", "version": "2.0"}], "title": "foreign",
                "format": "image/jpeg", "label": f"urn:c2pa:{uuid.uuid4()}",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": TRAINED}]}}]}
    out = folder / "foreign.jpg"
    ManifestSigner(identity).sign_file(manifest, "image/jpeg", src, out)
    return out


def run(quick: bool) -> list[Row]:
    n = 15 if quick else 100
    with tempfile.TemporaryDirectory(prefix="avlabel-bench-ingest-") as d:
        tmp = Path(d)
        services, platform = open_services(tmp / "svc")
        upload = foreign_jpeg(tmp)
        out = tmp / "raw-out.jpg"
        context = services.reader.context
        signer = ManifestSigner(services.identity)
        manifest = {"claim_generator_info": [{"name": "avlabel", "version": "0.1.0"}], "title": "raw",
                    "format": "image/jpeg", "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["upload"]},
                         "digitalSourceType": TRAINED}, {"action": "c2pa.published"}]}}]}

        def raw() -> None:
            with upload.open("rb") as fh, c2pa.Reader("image/jpeg", fh, context=context) as reader:
                reader.get_validation_state()
                reader.get_active_manifest()
            signer.sign_file(manifest, "image/jpeg", upload, out, ({"title": "upload", "label": "upload"}, upload))

        ingester = IngestService(services.signing, services.verify)

        def service() -> None:
            with scratch_dir(services.settings.data_dir / "tmp") as work:
                media = services.media.inspect(upload)
                result = ingester.ingest(media, IngestRequest("bench-user"), platform, work)
                assert result.tier == "ai_generated" and result.record is not None

        with peak_rss() as raw_rss:
            raw_samples = timed(raw, n, "raw c2pa read + sign 1MP")
        with peak_rss() as svc_rss:
            svc_samples = timed(service, n, "IngestService 1MP foreign")
        services.db.close()
    return [
        latency_row("ingest 1 MP JPEG, foreign manifest: raw c2pa Reader + Builder.sign with parent (anchor)",
                    raw_samples, raw_rss, note="same signer; the upload as parentOf ingredient"),
        latency_row("ingest 1 MP JPEG, foreign manifest: IngestService (in-process)", svc_samples, svc_rss,
                    raw_samples, "raw c2pa read + sign p50",
                    note="sniff, verify pipeline, AIGC read/write/read-back, re-sign, read-back, registry + "
                         "audit, fsync, fingerprint"),
    ]

"""Property-based fuzzing of the upload and manifest-reading paths with damaged real media.

CI runs a seed-corpus-sized run (a few hundred cases, derandomised so a failure reproduces); the
nightly-size run (AVLABEL_LONG=1, marked slow) runs over 10,000.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from backend.domain_errors import MediaError
from backend.manifest_data import ManifestData
from backend.media import sniff
from backend.verification.provenance import ProvenanceReader, summarise
from backend.verification.verdict import decide
from tests.conftest import Server
from tests.hostile.conftest import REQUEST_CPU_SECONDS, RSS_LIMIT, VERDICTS, Guard, record
from tests.hostile.mutations import Op, damage, seeds, steps


def _settings(examples: int) -> settings:
    # No shrinking: each case is a real request, and the first failing input is reported as it was.
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _verify_case(guard: Guard, corpus: list[tuple[str, bytes]], seed: int, plan: list[Op]) -> None:
    what, blob = damage(corpus, seed, plan)
    answer = guard.verify(blob, "upload")
    if answer.status == 200 and answer.body.get("verdict") in ("signed_synthetic", "signed_not_synthetic"):
        # A damaged file may still be whole where it matters (e.g. a flip in unhashed padding), but
        # then c2pa itself must have found it valid and trusted.
        assert answer.body.get("validation_state") == "Trusted", (what, answer.body)


def _sign_case(guard: Guard, corpus: list[tuple[str, bytes]], seed: int, plan: list[Op]) -> None:
    _what, blob = damage(corpus, seed, plan)
    answer = guard.sign(blob, "upload")
    if answer.status == 200:
        back = guard.verify(answer.raw, "signed")
        assert back.status == 200 and back.body["verdict"] == "signed_synthetic", back.body


Corpus = list[tuple[str, bytes]]


@given(seed=seeds, plan=steps)
@_settings(300)
def test_verify_upload_of_damaged_media(guard: Guard, corpus: Corpus, seed: int, plan: list[Op]) -> None:
    _verify_case(guard, corpus, seed, plan)


@given(seed=seeds, plan=steps)
@_settings(100)
def test_sign_upload_of_damaged_media(guard: Guard, corpus: Corpus, seed: int, plan: list[Op]) -> None:
    _sign_case(guard, corpus, seed, plan)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@given(seed=seeds, plan=steps)
@_settings(6000)
def test_verify_upload_of_damaged_media_long(guard: Guard, corpus: Corpus, seed: int, plan: list[Op]) -> None:
    _verify_case(guard, corpus, seed, plan)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@given(seed=seeds, plan=steps)
@_settings(2000)
def test_sign_upload_of_damaged_media_long(guard: Guard, corpus: Corpus, seed: int, plan: list[Op]) -> None:
    _sign_case(guard, corpus, seed, plan)


class ManifestReading:
    """The in-process manifest-reading path: c2pa Reader, summary and verdict on damaged signed files."""

    def __init__(self, srv: Server) -> None:
        anchors = (srv.data_dir / "keys" / "dev-ca.cert.pem").read_text()
        self.reader = ProvenanceReader(anchors)
        self.data = ManifestData.load()
        self.dir = Path(tempfile.mkdtemp(prefix="avlabel-fuzz-"))

    def check(self, corpus: Corpus, seed: int, plan: list[Op]) -> None:
        signed = [c for c in corpus if c[0].startswith(("signed-", "C", "files-for-reading"))]
        source = self.dir / "original"
        source.write_bytes(signed[seed % len(signed)][1])
        try:
            mime = sniff(source)  # the type the service would pass to c2pa for the undamaged file
        except MediaError:
            return
        _what, blob = damage(signed, seed, plan)
        path = self.dir / "case"
        path.write_bytes(blob)
        before = _reset_peak()
        start, cpu_start = time.monotonic(), time.process_time()
        prov = self.reader.read(path, mime)
        summary = summarise(prov.manifest)
        verdict = decide(prov, summary, self.data)
        cpu = time.process_time() - cpu_start
        record({"method": "read", "path": "in-process manifest reading", "upload": f"seed {seed}", "status": 0,
                "wall_seconds": round(time.monotonic() - start, 4), "cpu_seconds": round(cpu, 4),
                "peak_rss_mb": round(_peak() / 2**20, 1)})
        assert cpu < REQUEST_CPU_SECONDS, f"manifest reading took {cpu:.2f} s of CPU"
        assert verdict in VERDICTS
        assert prov.state in (None, "Valid", "Trusted", "Invalid"), prov.state
        assert all(isinstance(code, str) for code in prov.failure_codes)
        # The test process already holds whatever earlier tests loaded; what the reading adds is bounded.
        grown = _peak() - before
        assert grown < READ_GROWTH_LIMIT, f"manifest reading grew the process by {grown / 2**20:.0f} MiB"


# ru_maxrss is a high-water mark of the whole pytest run; /proc/self/clear_refs "5" resets VmHWM (Linux),
# so each reading's own peak can be measured.
READ_GROWTH_LIMIT = RSS_LIMIT // 2


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _peak() -> int:
    return _status("VmHWM")


@pytest.fixture(scope="module")
def manifest_reading(hostile_server: Server) -> ManifestReading:
    return ManifestReading(hostile_server)


@given(seed=seeds, plan=steps)
@_settings(300)
def test_manifest_reading_of_damaged_signed_media(manifest_reading: ManifestReading, corpus: Corpus, seed: int,
                                                  plan: list[Op]) -> None:
    manifest_reading.check(corpus, seed, plan)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@given(seed=seeds, plan=steps)
@_settings(4000)
def test_manifest_reading_of_damaged_signed_media_long(manifest_reading: ManifestReading, corpus: Corpus, seed: int,
                                                       plan: list[Op]) -> None:
    manifest_reading.check(corpus, seed, plan)

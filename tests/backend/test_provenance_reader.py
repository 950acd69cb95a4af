"""The in-process manifest reader: c2pa's typed errors become the error kinds c2pa's own expectations
name, and every read shares one c2pa Context, also from many threads at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend.domain_errors import MediaError
from backend.media import sniff
from backend.signing.keys import ensure_dev_identity
from backend.verification.provenance import Provenance, ProvenanceReader
from tests.conftest import FIXTURES

pytestmark = pytest.mark.needs_shared()


def _readable() -> list[tuple[str, str]]:
    """(fixture name, MIME type) for every fixture the service would hand to c2pa."""
    expected = json.loads((FIXTURES / "expected.json").read_text())
    items = []
    for name in sorted(expected):
        try:
            items.append((name, sniff(FIXTURES / name)))
        except MediaError:
            continue
    return items


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> ProvenanceReader:
    """A reader that trusts a development CA, as a fresh deployment's does."""
    identity = ensure_dev_identity(tmp_path_factory.mktemp("keys"))
    return ProvenanceReader(identity.trust_anchors_pem.decode())


def _outcome(prov: Provenance) -> tuple[str | None, str | None, list[str]]:
    return prov.state, prov.error, sorted(prov.failure_codes)


def test_error_kinds_come_from_c2pa_error_types(reader: ProvenanceReader) -> None:
    expected = json.loads((FIXTURES / "expected.json").read_text())
    seen = set()
    for name, mime in _readable():
        want = expected[name]
        prov = reader.read(FIXTURES / name, mime)
        assert prov.state == want["c2pa_state"], name
        if want["c2pa_state"] is None and want["error"] in ("ManifestNotFound", "NotSupported"):
            assert prov.error == want["error"], (name, prov.error, prov.error_message)
            seen.add(prov.error)
    assert "ManifestNotFound" in seen  # the fixtures exercise at least the commonest kind


def test_reads_share_one_context_and_agree_when_concurrent(reader: ProvenanceReader) -> None:
    items = _readable()
    context = reader.context
    one_by_one = [_outcome(reader.read(FIXTURES / name, mime)) for name, mime in items]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda item: _outcome(reader.read(FIXTURES / item[0], item[1])), items * 3))
    assert together == one_by_one * 3
    assert reader.context is context

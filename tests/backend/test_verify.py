"""POST /v1/verify: c2pa's own reading passes through; tampering and foreign CAs are caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import media_factory
from tests.backend.test_signing import sign, verify_bytes
from tests.conftest import FIXTURES, Api, Server, base_env, shared_params

# c2pa-python's own reading of its fixtures (empty on a clone without ../shared: the test then skips).
EXPECTED: dict[str, dict[str, object]] = (json.loads((FIXTURES / "expected.json").read_text())
                                          if (FIXTURES / "expected.json").is_file() else {})


@pytest.mark.needs_shared
@pytest.mark.parametrize("name", shared_params(sorted(EXPECTED)))
def test_fixture_reading_agrees_with_c2pa(embedded_server: Server, name: str) -> None:
    expected = EXPECTED[name]
    with embedded_server.client() as http:
        resp = http.post("/v1/verify", files={"file": (Path(name).name, (FIXTURES / name).read_bytes())})
    assert resp.status_code < 500, resp.text
    if resp.status_code != 200:
        # Only a kind c2pa itself cannot read may be refused, and then with a clear JSON error.
        assert expected["c2pa_state"] is None and expected["error"] == "NotSupported"
        assert resp.status_code == 415 and resp.json()["error"]["code"] == "unsupported_media_type"
        return
    answer = resp.json()
    assert answer["validation_state"] == expected["c2pa_state"]
    if expected["c2pa_state"] is None:
        error = expected["error"]
        if error == "ManifestNotFound":
            assert answer["verdict"] == "unsigned"
        else:
            assert answer["verdict"] == "unreadable"
            assert answer["c2pa_error"] in {"NotSupported", "Remote", "Other"}
    else:
        assert sorted(answer["failure_codes"]) == sorted(expected["failure_codes"])  # type: ignore[arg-type]
        verdict = {"Valid": "signed_untrusted", "Invalid": "tampered"}[str(expected["c2pa_state"])]
        assert answer["verdict"] == verdict


def _flip_media_byte(blob: bytes) -> bytes:
    data = bytearray(blob)
    # JPEG: the manifest sits in APP11 segments near the start; flip a byte of the scan data near the end.
    pos = len(data) - 200
    data[pos] ^= 0x01
    return bytes(data)


@pytest.mark.postgres
def test_one_flipped_byte_is_tampered(any_server: Server, tmp_path: Path) -> None:
    (tmp_path / "t.jpg").write_bytes(media_factory.jpeg_bytes(seed=3))
    status, body, _ = sign(any_server, tmp_path / "t.jpg")
    assert status == 200
    assert verify_bytes(any_server, body)["verdict"] == "signed_synthetic"
    answer = verify_bytes(any_server, _flip_media_byte(body))
    assert answer["verdict"] == "tampered"
    assert answer["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in answer["failure_codes"]  # type: ignore[operator]
    assert answer["label_state"] == "tampered"


def test_media_signed_by_a_foreign_ca_is_untrusted(embedded_server: Server, tmp_path: Path) -> None:
    foreign = Server(tmp_path / "foreign", base_env(tmp_path / "foreign"))
    src = tmp_path / "f.png"
    media_factory.png(src, seed=11)
    foreign.cli("sign", str(src), "-o", str(tmp_path / "f-signed.png"), "--generator", "other 1.0")
    answer = verify_bytes(embedded_server, (tmp_path / "f-signed.png").read_bytes())
    assert answer["verdict"] == "signed_untrusted"
    assert answer["validation_state"] == "Valid"
    assert "signingCredential.untrusted" in answer["failure_codes"]  # type: ignore[operator]


def test_unsigned_media_says_no_detector_ran_until_detection_exists(api: Api, tmp_path: Path) -> None:
    answer = verify_bytes(api, media_factory.png(tmp_path / "u.png", seed=12).read_bytes())
    assert answer["verdict"] == "unsigned"
    assert answer["validation_state"] is None
    assert answer["display"] is None or answer["label_state"] == "possibly_synthetic"


def test_registry_lookup_refusals(api: Api) -> None:
    with api.client() as http:
        assert http.post("/v1/verify", json={"sha256": "nothex"}).json()["error"]["code"] == "invalid_sha256"
        assert http.post("/v1/verify", json={}).status_code == 400
        assert http.post("/v1/verify", json={"sha256": "0" * 64}).status_code == 404
        bad = http.post("/v1/verify", content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"


def test_openapi_describes_every_endpoint(api: Api) -> None:
    with api.client() as http:
        doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/sign", "/v1/verify", "/v1/labels", "/v1/labels/{content_id}"):
        assert path in doc["paths"]

"""A viewer reports media by uploading their copy of it (`POST /v1/reports` as multipart): the file is kept
privately as the case's evidence, a moderator's decision reaches those very bytes everywhere, moderators
see the attachment in the console, and bad uploads are refused with nothing stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import media_factory
from tests.backend.casework import ORIGIN, act, auth, console_login
from tests.backend.test_bad_input import png_bomb
from tests.backend.test_signing import sign
from tests.conftest import Server, make_server

LIMIT = 1024 * 1024


def report_with_file(http: httpx.Client, blob: bytes | None, name: str = "seen.png",
                     **fields: str) -> httpx.Response:
    data = {"category": "deepfake_impersonation", "description": "a fake photo of a real person",
            "good_faith": "true", **fields}
    if blob is None:  # a multipart body of text parts only
        parts: list[tuple[str, tuple[str | None, str | bytes]]] = [(k, (None, v)) for k, v in data.items()]
        return http.post("/v1/reports", files=parts, headers={"Origin": ORIGIN})
    return http.post("/v1/reports", data=data, files={"file": (name, blob, "image/png")}, headers={"Origin": ORIGIN})


def evidence_files(srv: Server) -> list[Path]:
    store = srv.data_dir / "evidence"
    return sorted(p for p in store.iterdir() if p.is_file()) if store.is_dir() else []


def case_count(srv: Server) -> int:
    with srv.client() as http:
        listed = http.get("/v1/cases", params={"status": "all", "limit": 500}, headers=auth(srv, "moderator"))
    assert listed.status_code == 200, listed.text
    body: Any = listed.json()
    return len(body["cases"] if isinstance(body, dict) else body)


def test_a_reported_upload_is_blocked_and_its_bytes_are_refused_everywhere(any_server: Server,
                                                                           tmp_path: Path) -> None:
    srv = any_server
    path = media_factory.png(tmp_path / "unsigned.png", seed=hash(srv.url) % 10_000 + 9100)
    blob = path.read_bytes()
    sha = hashlib.sha256(blob).hexdigest()
    with srv.client() as http:
        sent = report_with_file(http, blob)
        assert sent.status_code == 201, sent.text
        receipt = sent.json()
        assert receipt["attachment"] == {"mime": "image/png", "size": len(blob), "sha256": sha}
        assert sent.headers["access-control-allow-origin"] == "*"
        mine = http.get(receipt["status_url"], headers={"Authorization": f"Bearer {receipt['secret']}"}).json()
        assert mine["sha256"] == sha and mine["attachment"]["sha256"] == sha
        case = http.get(f"/v1/cases/{receipt['case_id']}", headers=auth(srv, "moderator")).json()
        assert case["sha256"] == sha and case["content_id"] is None  # not registered yet
        assert case["reports"][0]["attachment"] == {"mime": "image/png", "size": len(blob), "sha256": sha}

        done = act(http, srv, receipt["case_id"], "block", public_statement="Removed: impersonation")
        assert done.status_code == 201, done.text
        case = http.get(f"/v1/cases/{receipt['case_id']}", headers=auth(srv, "moderator")).json()
        content_id = case["content_id"]
        assert case["content"]["origin"] == "reported" and case["content"]["mime"] == "image/png"
        assert case["content"]["has_media"] is True  # the entry keeps the reporter's file

        verified = http.post("/v1/verify", files={"file": ("again.png", blob)}).json()
        assert verified["label_state"] == "blocked" and verified["content_id"] == content_id
        label = http.get(f"/v1/labels/{content_id}")
        assert label.status_code == 200 and label.json()["state"] == "blocked"
        # The evidence is not public: no /media/ URL and no thumbnail on the public page.
        assert http.get(f"/verify/{content_id}/poster.jpg").status_code == 451
    status, body, _ = sign(srv, path)
    assert status == 403 and json.loads(body)["error"]["code"] == "blocked_media"


def test_labelling_a_reported_upload_labels_its_bytes(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    blob = media_factory.png(tmp_path / "ai.png", seed=9201).read_bytes()
    with srv.client() as http:
        receipt = report_with_file(http, blob, category="unlabelled_ai").json()
        assert act(http, srv, receipt["case_id"], "label").status_code == 201
        verified = http.post("/v1/verify", files={"file": ("ai.png", blob)}).json()
        assert verified["tier"] == "ai_generated", verified
        page = http.get(f"/verify/{verified['content_id']}")
        # The public page says labelled, but shows no picture: the file is the reporter's evidence.
        assert page.status_code == 200 and "poster.jpg" not in page.text


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("report-limits"), False, AVLABEL_MAX_UPLOAD_BYTES=str(LIMIT))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("blob, fields, status, code", [
    (None, {}, 400, "missing_media_reference"),
    (b"\0" * (LIMIT + 4096), {}, 413, "payload_too_large"),
    (b"%PDF-1.7 this is a document, not media\n" * 40, {}, 415, "unsupported_media_type"),
    (b"", {}, 400, "empty_file"),
    (png_bomb(), {}, 413, "image_too_large"),
    ("png", {"sha256": "ab" * 32}, 400, "sha256_mismatch"),
    ("png", {"good_faith": "false"}, 400, "good_faith_required"),
    ("png", {"time_range": "{not json"}, 400, "invalid_time_range"),
], ids=["no-file-no-reference", "oversize", "not-media", "empty", "pixel-bomb", "other-sha256", "no-good-faith",
        "bad-json-field"])
def test_bad_multipart_reports_are_refused_with_nothing_stored(small_server: Server, tmp_path: Path,
                                                               blob: bytes | str | None, fields: dict[str, str],
                                                               status: int, code: str) -> None:
    srv = small_server
    if blob == "png":
        blob = media_factory.png(tmp_path / "p.png", seed=9300).read_bytes()
    assert not isinstance(blob, str)
    cases_before, files_before = case_count(srv), evidence_files(srv)
    with srv.client() as http:
        got = report_with_file(http, blob, **fields)
    assert got.status_code == status, got.text
    assert got.json()["error"]["code"] == code
    assert case_count(srv) == cases_before and evidence_files(srv) == files_before
    assert list((srv.data_dir / "tmp").glob("*/upload")) == []  # no scratch copy left either


def test_a_lying_content_type_and_name_do_not_decide_the_type(small_server: Server, tmp_path: Path) -> None:
    srv = small_server
    blob = media_factory.jpeg_bytes()
    with srv.client() as http:
        got = http.post("/v1/reports", data={"category": "other", "description": "a copy", "good_faith": "true"},
                        files={"file": ("cat.png", blob, "video/mp4")})
    assert got.status_code == 201, got.text
    assert got.json()["attachment"]["mime"] == "image/jpeg"
    kept = [p for p in evidence_files(srv) if hashlib.sha256(p.read_bytes()).hexdigest()
            == hashlib.sha256(blob).hexdigest()]
    assert len(kept) == 1 and kept[0].suffix == ".jpg" and kept[0].stat().st_mode & 0o077 == 0


def test_the_json_report_still_works_and_a_start_up_sweep_keeps_only_named_evidence(small_server: Server,
                                                                                   tmp_path: Path) -> None:
    srv = small_server
    with srv.client() as http:
        plain = http.post("/v1/reports", json={"category": "other", "description": "json still works",
                                                "good_faith": True, "sha256": "cd" * 32})
        assert plain.status_code == 201 and plain.json()["attachment"] is None
        blob = media_factory.png(tmp_path / "kept.png", seed=9400).read_bytes()
        assert report_with_file(http, blob).status_code == 201
    before = evidence_files(srv)
    srv.stop()
    # What a process killed between moving a reporter's file in and committing its report leaves behind.
    unnamed = srv.data_dir / "evidence" / "ev_0123456789abcdef01234567.png"
    unnamed.write_bytes(b"a file whose report never committed")
    srv.env["AVLABEL_SWEEP_AGE_SECONDS"] = "0"  # everything counts as stale for this start
    try:
        srv.start()
    finally:
        srv.env.pop("AVLABEL_SWEEP_AGE_SECONDS")
    assert evidence_files(srv) == before and before
    assert (srv.data_dir / "orphans" / "evidence" / unnamed.name).read_bytes() == b"a file whose report never committed"


def test_the_console_shows_the_attachment_and_only_staff_get_the_file(embedded_server: Server,
                                                                      tmp_path: Path) -> None:
    srv = embedded_server
    blob = media_factory.png(tmp_path / "shown.png", seed=9500).read_bytes()
    sha = hashlib.sha256(blob).hexdigest()
    with srv.client() as http:
        receipt = report_with_file(http, blob, description="<script>alert(1)</script> a fake").json()
        case_id, report_id = receipt["case_id"], receipt["id"]
        base = f"/console/cases/{case_id}/reports/{report_id}"
        for anonymous in (http.get(f"{base}/preview.jpg"), http.get(f"{base}/file")):
            assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/json"
            assert blob not in anonymous.content
    client, _ = console_login(srv, "moderator")
    try:
        page = client.get(f"/console/cases/{case_id}")
        assert page.status_code == 200
        assert 'data-field="attachment_mime">image/png<' in page.text
        assert f'data-field="attachment_size">{len(blob)} bytes' in page.text
        assert f'data-field="attachment_sha256">{sha}<' in page.text
        assert f'src="{base}/preview.jpg"' in page.text and "<script>alert(1)" not in page.text
        thumb = client.get(f"{base}/preview.jpg")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert thumb.content.startswith(b"\xff\xd8\xff")
        raw = client.get(f"{base}/file")
        assert raw.status_code == 200 and raw.content == blob
        assert raw.headers["content-disposition"].startswith("attachment;")
        assert raw.headers["x-content-type-options"] == "nosniff"
        assert raw.headers["content-type"] == "application/octet-stream"
        assert "sandbox" in raw.headers["content-security-policy"]
        other = client.get(f"/console/cases/{case_id}/reports/r_nonexistent/file")
        assert other.status_code == 404
    finally:
        client.close()

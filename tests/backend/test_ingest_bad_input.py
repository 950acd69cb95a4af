"""The issue's bad-input list through the running server: two AIGC records, a record that is not JSON, a 1 MB
record, a record in the wrong box, an ID3 tag that lies about its size. `POST /v1/check` answers
`non_compliant` with reasons (or a 4xx), `POST /v1/ingest` either replaces the bad record with exactly one
compliant record or answers a 4xx; never a 5xx, and a refused ingest leaves no registry entry behind.
(Hostile strings in a foreign manifest: tests/backend/test_ingest.py.)"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from backend import implicit_label as il
from backend.implicit_label.images import _chunk
from tests.backend.test_ingest import ingest
from tests.backend.test_signed_implicit_label import independent_records, make
from tests.backend.test_signing import sign
from tests.conftest import Server

RECORD = il.build_record("1", "gen-co", "p-1")


def _png_with_text(folder: Path, *values: bytes) -> Path:
    path = make("png", folder)
    data = path.read_bytes()
    at = data.index(b"IDAT") - 4
    extra = b"".join(_chunk(b"tEXt", b"AIGC\x00" + v) for v in values)
    path.write_bytes(data[:at] + extra + data[at:])
    return path


def two_records(folder: Path) -> Path:
    path = make("png", folder)
    il.write(path, "image/png", RECORD)  # XMP
    data = path.read_bytes()
    at = data.index(b"IDAT") - 4
    other = json.dumps(il.build_record("2", "other-co", "p-2")).encode()
    path.write_bytes(data[:at] + _chunk(b"tEXt", b"AIGC\x00" + other) + data[at:])
    return path


def not_json(folder: Path) -> Path:
    return _png_with_text(folder, b"{Label: 1, ContentProducer: <b>x</b>")


def one_megabyte(folder: Path) -> Path:
    return _png_with_text(folder, json.dumps({**RECORD, "ReservedCode1": "A" * (1 << 20)}).encode())


def wrong_box(folder: Path) -> Path:
    path = make("mp4", folder)
    payload = b"\x00" * 16 + b'{"AIGC":' + json.dumps(RECORD).encode() + b"}"
    path.write_bytes(path.read_bytes() + struct.pack(">I4s", 8 + len(payload), b"uuid") + payload)
    return path


def lying_id3(folder: Path) -> Path:
    path = make("mp3", folder)
    data = path.read_bytes()
    body = data[10:] if data[:3] == b"ID3" else data
    size = 0x0FFFFFFF  # synchsafe maximum: far past the end of the file
    synchsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    frame = b"TXXX" + struct.pack(">I", 40) + b"\x00\x00" + b"\x03AIGC\x00" + json.dumps(RECORD).encode()[:34]
    path.write_bytes(b"ID3\x04\x00\x00" + synchsafe + frame + body)
    return path


BAD: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # name: (maker, kind, a phrase the check's reasons must contain, or "" when a 4xx is the answer)
    "two_records": (two_records, "png", "2 AIGC records"),
    "not_json": (not_json, "png", "not JSON"),
    "one_megabyte": (one_megabyte, "png", "over 4096"),
    "wrong_box": (wrong_box, "mp4", "outside the format's standard place"),
    "lying_id3": (lying_id3, "mp3", ""),
}


def _contents(srv: Server) -> list[str]:
    with srv.client() as http:
        rows = http.get("/v1/contents", headers={"Authorization": f"Bearer {srv.keys['admin']}"},
                        params={"limit": 500}).json()
    return sorted(json.dumps(rows, sort_keys=True).split("content_id"))


@pytest.mark.parametrize("name", list(BAD))
def test_bad_implicit_labels_get_a_clear_answer_and_nothing_half_recorded(embedded_server: Server, tmp_path: Path,
                                                                          name: str) -> None:
    maker, kind, phrase = BAD[name]
    path = maker(tmp_path)
    with embedded_server.client() as http:
        resp = http.post("/v1/check", files={"file": (path.name, path.read_bytes())})
    assert resp.status_code < 500, resp.text
    if resp.status_code == 200 and phrase:
        reading = resp.json()["implicit_label"]
        assert reading["status"] == "non_compliant" and any(phrase in r for r in reading["reasons"]), reading
        assert resp.json()["compliant"] is False
    elif phrase:
        pytest.fail(f"{name}: expected a non_compliant report, got {resp.status_code} {resp.text[:200]}")

    before = _contents(embedded_server)
    signed, body, _ = sign(embedded_server, path)  # signing writes the record too: the same clear answers
    assert signed in (200, 400, 415), body[:300]
    if signed != 200:
        assert _contents(embedded_server) == before
    before = _contents(embedded_server)
    status, answer = ingest(embedded_server, path)
    assert status < 500, answer
    if status == 201:
        # the bad record is replaced by exactly one compliant record carrying the platform's fields
        with embedded_server.client() as http:
            out = tmp_path / f"out.{kind}"
            out.write_bytes(http.get(answer["media_url"]).content)
        found = independent_records(kind, out)
        assert len(found) == 1, found
        assert json.loads(found[0])["PropagateID"] == answer["content_id"]
        assert il.read(out, answer["mime"]).status == "present"
        assert answer["evidence"]["incoming_implicit_label"]["status"] in ("non_compliant", "absent")
    else:
        assert 400 <= status < 500 and answer["error"]["code"]
        assert _contents(embedded_server) == before

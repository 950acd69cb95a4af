"""MKV/WebM and Ogg (Vorbis, Opus) through the running server. c2pa cannot embed a manifest in either, so:
`/v1/verify` reads the file's `AIGC` record (present / non_compliant with reasons / absent) and says the format
cannot carry C2PA; `/v1/ingest` writes exactly one record with the platform's propagation fields, registers the
file by hash and says no manifest was embedded; `/v1/sign` refuses with a 415 that says why. The records are
written (for verify) and read back (after ingest) by independent tools: ffmpeg/ffprobe for Matroska, mutagen
for Ogg. Damaged files get a 4xx JSON answer, never a 5xx."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import c2pa
import pytest
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from backend.media import NO_C2PA, inspect
from tests.backend.test_ingest import fetch, ingest
from tests.backend.test_signing import sign
from tests.conftest import Server
from tests.matroska_tags import append_tags, ffprobe_opens, simple_tag, tag

# kind -> (file name, ffmpeg output arguments, the MIME type avlabel must sniff)
KINDS: dict[str, tuple[str, list[str], str]] = {
    "mkv": ("in.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "matroska"],
            "video/x-matroska"),
    "webm": ("in.webm", ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-f", "webm"], "video/webm"),
    "webm_audio": ("in.webm", ["-vn", "-c:a", "libopus", "-f", "webm"], "audio/webm"),
    "mka": ("in.mka", ["-vn", "-c:a", "libvorbis", "-f", "matroska"], "audio/x-matroska"),
    "ogg_vorbis": ("in.ogg", ["-vn", "-c:a", "libvorbis", "-f", "ogg"], "audio/ogg"),
    "ogg_opus": ("in.opus", ["-vn", "-c:a", "libopus", "-f", "ogg"], "audio/ogg"),
}
SERVER_KINDS = ["mkv", "webm", "webm_audio", "ogg_vorbis", "ogg_opus"]
RECORD = {"Label": "1", "ContentProducer": "gen-co", "ProduceID": "prod-7", "ReservedCode1": "k1",
          "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}
PLAIN_PICTURE = {"mkv": "smptehdbars", "webm": "pal100bars"}  # a picture no other test registers
TIER_LABEL = {"ai_generated": "1", "declared_possibly": "2", "suspected": "3"}


def make_av(kind: str, folder: Path, picture: str = "testsrc2") -> Path:
    """One second of a test picture and/or tone, encoded by ffmpeg (no network, no fixtures). `picture`: another
    lavfi source, where the file must not be a copy of one an earlier test registered."""
    name, args, _mime = KINDS[kind]
    path = folder / name
    inputs = ["-f", "lavfi", "-i", "sine=f=440:d=1"]
    if "-vn" not in args:
        inputs = ["-f", "lavfi", "-i", f"{picture}=size=160x120:rate=10:d=1", *inputs]
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", *inputs, *args, "-y", str(path)], check=True, timeout=120)
    return path


def is_ogg(kind: str) -> bool:
    return kind.startswith("ogg")


def tag_independently(kind: str, path: Path, value: str) -> Path:
    """An `AIGC` tag put there without avlabel: ffmpeg's Matroska muxer (global SimpleTag), mutagen for Ogg."""
    if is_ogg(kind):
        audio = OggOpus(path) if kind == "ogg_opus" else OggVorbis(path)
        audio["AIGC"] = [value]
        audio.save()
        return path
    out = path.with_name("tagged" + path.suffix)
    fmt = "webm" if path.suffix == ".webm" else "matroska"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0", "-c", "copy",
                    "-metadata", f"AIGC={value}", "-f", fmt, "-y", str(out)], check=True, timeout=120)
    return out


def independent_records(kind: str, path: Path) -> list[str]:
    """Every `AIGC` value an independent reader finds: mutagen's Vorbis comments for Ogg; for Matroska every
    tag ffprobe shows, on the container and on each stream (a record in the wrong place is counted too)."""
    if is_ogg(kind):
        audio = OggOpus(path) if kind == "ogg_opus" else OggVorbis(path)
        return [str(v) for v in audio.get("AIGC", [])]
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    probe = json.loads(out)
    tag_sets = [probe["format"].get("tags", {})] + [s.get("tags", {}) for s in probe.get("streams", [])]
    return [str(v) for tags in tag_sets for k, v in tags.items() if k.upper() == "AIGC"]


def verify_file(srv: Server, path: Path) -> tuple[int, dict[str, Any]]:
    with srv.client() as http, path.open("rb") as fh:
        resp = http.post("/v1/verify", files={"file": (path.name, fh)})
    return resp.status_code, resp.json()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_ffmpeg_made_files_are_sniffed_by_their_bytes(tmp_path: Path, kind: str) -> None:
    path = make_av(kind, tmp_path)
    renamed = path.rename(tmp_path / "upload.bin")  # the name says nothing
    assert inspect(renamed, 10**8).mime == KINDS[kind][2]


def test_no_c2pa_formats_are_the_ones_c2pa_cannot_embed_in() -> None:
    """If a c2pa release learns Matroska or Ogg, this fails: then sign them instead of registering by hash."""
    supported = set(c2pa.Builder.get_supported_mime_types())
    assert not NO_C2PA & supported


@pytest.mark.parametrize("kind", SERVER_KINDS)
@pytest.mark.parametrize("state", ["present", "non_compliant", "absent"])
def test_verify_reads_the_record_and_says_c2pa_cannot_be_embedded(embedded_server: Server, tmp_path: Path,
                                                                  kind: str, state: str) -> None:
    path = make_av(kind, tmp_path)
    if state == "present":
        path = tag_independently(kind, path, json.dumps(RECORD))
    elif state == "non_compliant":  # a misspelt key and a Label outside "1"/"2"/"3"
        bad = {**{k: v for k, v in RECORD.items() if k != "ReservedCode1"}, "ReserveCode1": "k1", "Label": "AI"}
        path = tag_independently(kind, path, json.dumps(bad))
    status, answer = verify_file(embedded_server, path)
    assert status == 200, answer
    assert answer["mime"] == KINDS[kind][2]
    assert answer["verdict"] == "unsigned" and answer["c2pa_supported"] is False
    assert "cannot be embedded" in answer["c2pa_error_message"]
    reading = answer["implicit_label"]
    assert reading["status"] == state
    if state == "present":
        assert reading["record"] == RECORD
        assert answer["tier"] == "ai_generated"
        assert answer["display"]["zh"] == "本内容由人工智能生成"
    elif state == "non_compliant":
        reasons = " ".join(reading["reasons"])
        assert "ReserveCode1" in reasons and "Label" in reasons


@pytest.mark.parametrize("kind", SERVER_KINDS)
@pytest.mark.parametrize("case", ["record", "declared", "plain"])
def test_ingest_writes_one_record_with_propagation_fields_and_registers_by_hash(
        embedded_server: Server, tmp_path: Path, kind: str, case: str) -> None:
    # a plain upload's picture is its own: a copy of a registered file is (rightly) suspected
    path = make_av(kind, tmp_path, PLAIN_PICTURE.get(kind, "") if case == "plain" else "testsrc2")
    fields: dict[str, str] = {}
    if case == "record":
        path = tag_independently(kind, path, json.dumps(RECORD))
    elif case == "declared":
        fields["declared_ai"] = "true"
    status, answer = ingest(embedded_server, path, **fields)
    assert status == 201, answer
    expected_tier = {"record": "ai_generated", "declared": "declared_possibly", "plain": None}[case]
    assert answer["tier"] == expected_tier, answer["evidence"]
    assert answer["label"]["tier"] == expected_tier
    assert answer["mime"] == KINDS[kind][2]
    # no C2PA manifest: said in a field, with the reason
    manifest = answer["c2pa_manifest"]
    assert manifest["embedded"] is False and "cannot be embedded" in manifest["reason"]
    assert answer["evidence"]["c2pa_manifest_embedded"] is False
    out = fetch(embedded_server, answer["media_url"], tmp_path, "ingested" + path.suffix)
    found = independent_records(kind, out)
    if expected_tier is None:
        assert found == [] and answer["implicit_label"] is None
    else:
        assert len(found) == 1, found
        record = json.loads(found[0])
        assert record == answer["implicit_label"]
        platform = embedded_server.account_ids[embedded_server.keys["publisher"]]
        assert record["ContentPropagator"] == f"avlabel:{platform}"
        assert record["PropagateID"] == answer["content_id"]
        assert record["Label"] == TIER_LABEL[expected_tier]
        if case == "record":  # the producer's fields are kept
            assert (record["ContentProducer"], record["ProduceID"]) == ("gen-co", "prod-7")
    # registered by hash: the downloaded file verifies to the same content id and tier
    status, again = verify_file(embedded_server, out)
    assert status == 200, again
    assert again["content_id"] == answer["content_id"] and again["registry"]["origin"] == "ingested"
    assert again["tier"] == expected_tier
    assert again["implicit_label"]["status"] == ("absent" if expected_tier is None else "present")


@pytest.mark.parametrize("kind", ["mkv", "webm_audio", "ogg_opus"])
def test_sign_refuses_formats_c2pa_cannot_carry_with_the_reason(embedded_server: Server, tmp_path: Path,
                                                                kind: str) -> None:
    status, body, _ = sign(embedded_server, make_av(kind, tmp_path), visible_label="false")
    assert status == 415
    error = json.loads(body)["error"]
    assert error["code"] == "c2pa_unsupported_format"
    assert "cannot be embedded" in error["message"] and "/v1/ingest" in error["message"]


def _garbled_head(data: bytes) -> bytes:
    """The container's magic kept, its header overwritten."""
    keep = 4
    return data[:keep] + bytes((b ^ 0x5A) for b in data[keep:400]) + data[400:]


DAMAGE = {
    "garbled_head": _garbled_head,
    "magic_only": lambda data: data[:4],
    "truncated": lambda data: data[: len(data) // 3],
}


@pytest.mark.parametrize("kind", ["mkv", "ogg_vorbis"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_matroska_and_ogg_get_a_clear_answer_never_a_5xx(embedded_server: Server, tmp_path: Path,
                                                                 kind: str, damage: str) -> None:
    path = make_av(kind, tmp_path)
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    for status, answer in (verify_file(embedded_server, path), ingest(embedded_server, path)):
        assert status < 500, answer
        if status >= 400:
            assert answer["error"]["code"] in ("bad_media", "unsupported_media_type"), answer
            assert answer["error"]["message"]
    if damage != "truncated":  # a file cut short may still hold whole frames; these hold none
        status, answer = verify_file(embedded_server, path)
        assert status == 400 and answer["error"]["code"] == "bad_media", answer


def _post(srv: Server, route: str, path: Path) -> tuple[int, dict[str, Any]]:
    with srv.client() as http, path.open("rb") as fh:
        resp = http.post(route, files={"file": (path.name, fh)})
    return resp.status_code, resp.json()


def _registered(srv: Server) -> list[str]:
    """The newest registry entries' content ids, newest first."""
    with srv.client() as http:
        rows = http.get("/v1/contents", headers={"Authorization": f"Bearer {srv.keys['admin']}"},
                        params={"limit": 50}).json()["contents"]
    return [str(row["content_id"]) for row in rows]


def two_record_mkv(folder: Path, where: str) -> Path:
    """ffmpeg's global record, then a second one spliced in by the test's own EBML writer: another global Tag
    (libavformat merges the two names into one), or a Tag that targets the video track."""
    path = tag_independently("mkv", make_av("mkv", folder, "rgbtestsrc"), json.dumps(RECORD))
    other = json.dumps({**RECORD, "ProduceID": "prod-8"})
    append_tags(path, tag(simple_tag("AIGC", other), track_uid=1 if where == "track" else None))
    assert ffprobe_opens(path)
    return path


@pytest.mark.parametrize("where", ["global", "track"])
def test_two_matroska_records_are_reported_and_ingest_leaves_exactly_one(embedded_server: Server,
                                                                         tmp_path: Path, where: str) -> None:
    path = two_record_mkv(tmp_path, where)
    for route in ("/v1/check", "/v1/verify"):
        status, answer = _post(embedded_server, route, path)
        assert status == 200, answer
        reading = answer["implicit_label"]
        assert reading["status"] == "non_compliant" and "2 AIGC records" in reading["reasons"][0], reading
    assert _post(embedded_server, "/v1/check", path)[1]["compliant"] is False
    before = _registered(embedded_server)
    status, answer = ingest(embedded_server, path)
    assert status == 201, answer  # as for other formats: the bad records replaced by one compliant record
    assert answer["evidence"]["incoming_implicit_label"]["status"] == "non_compliant"
    out = fetch(embedded_server, answer["media_url"], tmp_path, "ingested.mkv")
    assert out.read_bytes().count(b"\x45\xa3\x84AIGC") == 1  # TagName, size 4, "AIGC": one SimpleTag in all
    found = independent_records("mkv", out)
    assert len(found) == 1 and json.loads(found[0])["PropagateID"] == answer["content_id"]
    assert _registered(embedded_server)[:2] == [answer["content_id"], *before[:1]]


def _lying_tags(data: bytes) -> bytes:
    return data + b"\x12\x54\xc3\x67\x01\x00\x00\x00\x7f\xff\xff\xff" + b"\x73\x73\x80"


def _huge_cluster(data: bytes) -> bytes:
    return data + b"\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xfe" + b"\xe7\x81\x00"


EBML_DAMAGE = {
    "cut_in_tags": lambda data: data[: len(data) - 20],
    "cut_at_half": lambda data: data[: len(data) // 2],
    "lying_tags_size": _lying_tags,
    "huge_cluster_size": _huge_cluster,
}


@pytest.mark.parametrize("damage", sorted(EBML_DAMAGE))
def test_truncated_or_lying_matroska_tags_are_answered_never_a_5xx(embedded_server: Server, tmp_path: Path,
                                                                   damage: str) -> None:
    path = two_record_mkv(tmp_path, "global")
    path.write_bytes(EBML_DAMAGE[damage](path.read_bytes()))
    for route in ("/v1/check", "/v1/verify"):
        status, answer = _post(embedded_server, route, path)
        assert status < 500, answer
        if status == 200:  # cut at half: only ffmpeg's record, near the start, is left
            expected = ("present", "non_compliant", "absent") if damage == "cut_at_half" else ("non_compliant",)
            assert answer["implicit_label"]["status"] in expected, answer["implicit_label"]
        else:
            assert answer["error"]["code"] in ("bad_media", "unsupported_media_type"), answer
    before = _registered(embedded_server)
    status, answer = ingest(embedded_server, path)
    assert status < 500, answer
    if status != 201:
        assert 400 <= status < 500 and answer["error"]["code"] and _registered(embedded_server) == before

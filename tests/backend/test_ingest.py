"""POST /v1/ingest over a running server: every upload is read, tiered, labelled with the platform's
propagation fields (exactly one AIGC record), re-signed with the upload as parent ingredient, and registered."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import c2pa
import pytest

from backend import implicit_label as il
from backend.signing.keys import ensure_dev_identity
from backend.signing.signer import ManifestSigner
from backend.verification.provenance import ProvenanceReader
from tests import media_factory
from tests.backend.test_signed_implicit_label import independent_records, make
from tests.backend.test_signing import verify_bytes
from tests.conftest import Server
from tests.detectors import media as detector_media

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ENHANCED = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicallyEnhanced"


def foreign_signed(folder: Path, kind: str = "jpg", source_type: str = TRAINED, title: str = "foreign") -> Path:
    """A file signed by another issuer (its own development CA: valid, but not on the server's trust list)."""
    src = make(kind, folder)
    identity = ensure_dev_identity(folder / "foreign-keys")
    manifest = {"claim_generator_info": [{"name": "other-gen", "version": "2.0"}], "title": title,
                "format": "image/jpeg" if kind == "jpg" else "video/mp4", "label": f"urn:c2pa:{uuid.uuid4()}",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": source_type,
                     "softwareAgent": {"name": title[:200]}}]}}]}
    out = folder / f"foreign.{kind}"
    ManifestSigner(identity).sign_file(manifest, manifest["format"], src, out)
    return out


def ingest(srv: Server, path: Path, **fields: str) -> tuple[int, dict[str, Any]]:
    with srv.client() as http, path.open("rb") as fh:
        resp = http.post("/v1/ingest", headers={"Authorization": f"Bearer {srv.keys['publisher']}"},
                         files={"file": (path.name, fh)}, data={"uploader": "user-42", **fields})
    return resp.status_code, resp.json()


def fetch(srv: Server, url: str, folder: Path, name: str) -> Path:
    with srv.client() as http:
        resp = http.get(url)
    assert resp.status_code == 200
    out = folder / name
    out.write_bytes(resp.content)
    return out


def parent_ingredient(path: Path, mime: str) -> dict[str, Any]:
    with path.open("rb") as fh, c2pa.Reader(mime, fh) as reader:
        manifest = json.loads(reader.json())
    active = manifest["manifests"][manifest["active_manifest"]]
    parents = [i for i in active.get("ingredients", []) if i.get("relationship") == "parentOf"]
    assert len(parents) == 1
    actions = [a["action"] for s in active["assertions"] if s["label"].startswith("c2pa.actions")
               for a in s["data"]["actions"]]
    assert "c2pa.published" in actions
    parent: dict[str, Any] = parents[0]
    return parent


CASES = ["foreign_signed", "unsigned_with_record", "unsigned_declared", "unsigned_detected", "unsigned_plain"]
# a tone: no detector flags it (the noise pictures, rightly, look synthetic)
KIND = {"unsigned_plain": "wav", "unsigned_detected": "png"}


@pytest.mark.parametrize("case", CASES)
def test_ingest_propagates_one_record_and_tiers_by_evidence(embedded_server: Server, tmp_path: Path,
                                                            case: str) -> None:
    fields: dict[str, str] = {"hosting_urls": f"https://cdn.example.com/u/{case}-{uuid.uuid4().hex[:6]}.jpg"}
    if case == "foreign_signed":
        path = foreign_signed(tmp_path)
    elif case == "unsigned_with_record":
        path = make("jpg", tmp_path)
        il.write(path, "image/jpeg", il.build_record("1", "gen-co", "prod-7", reserved1="k1"))
    elif case == "unsigned_plain":
        path = make("wav", tmp_path)
    elif case == "unsigned_detected":  # a Stable Diffusion web UI's own metadata: a detection trace, not a label
        path = detector_media.png_with_text(tmp_path / "sd.png", {"parameters": detector_media.SD_PARAMETERS},
                                            seed=uuid.uuid4().int % 1000)
    else:  # a picture of its own: a copy of an earlier test's registered picture is (rightly) suspected
        path = tmp_path / "in.jpg"
        path.write_bytes(media_factory.jpeg_bytes((400, 300), seed=CASES.index(case) + 100))
        if case == "unsigned_declared":
            fields["declared_ai"] = "true"
    kind = KIND.get(case, "jpg")
    status, answer = ingest(embedded_server, path, **fields)
    assert status == 201, answer
    content_id = answer["content_id"]
    out = fetch(embedded_server, answer["media_url"], tmp_path, f"ingested.{kind}")
    found = independent_records(kind, out)
    expected_tier = {"foreign_signed": "ai_generated", "unsigned_with_record": "ai_generated",
                     "unsigned_declared": "declared_possibly", "unsigned_detected": "suspected",
                     "unsigned_plain": None}[case]
    assert answer["tier"] == expected_tier
    label = answer["label"]
    assert label["tier"] == expected_tier and label["content_id"] == content_id
    if expected_tier is None:
        # the annex has no "not AI" Label: a plain upload gets a content id and a manifest, no AIGC record
        assert found == [] and answer["implicit_label"] is None
        assert label["display"] is None
    else:
        assert len(found) == 1, found
        record = json.loads(found[0])
        platform = embedded_server.account_ids[embedded_server.keys["publisher"]]
        assert record["ContentPropagator"] == f"avlabel:{platform}"
        assert record["PropagateID"] == content_id
        assert record["Label"] == {"ai_generated": "1", "declared_possibly": "2", "suspected": "3"}[expected_tier]
        if case == "unsigned_with_record":  # the producer's fields are kept
            assert (record["ContentProducer"], record["ProduceID"]) == ("gen-co", "prod-7")
        wording = {"ai_generated": "本内容由人工智能生成", "declared_possibly": "作者声明：内容可能由AI生成",
                   "suspected": "疑似AI生成，请谨慎甄别"}
        assert label["display"]["zh"] == wording[expected_tier]
    parent = parent_ingredient(out, answer["mime"])
    assert ("active_manifest" in parent) == (case == "foreign_signed")  # the incoming manifest, kept as parent
    answer_v = verify_bytes(embedded_server, out.read_bytes(), out.name)
    assert answer_v["validation_state"] == "Trusted" and answer_v["content_id"] == content_id
    assert answer_v["tier"] == expected_tier
    with embedded_server.client() as http:
        by_url = http.get("/v1/labels", params={"src": fields["hosting_urls"]}).json()
    assert by_url["content_id"] == content_id


def test_foreign_untrusted_ai_manifest_is_ai_generated_with_untrusted_issuer_shown_apart(
        embedded_server: Server, tmp_path: Path) -> None:
    path = foreign_signed(tmp_path)
    answer = verify_bytes(embedded_server, path.read_bytes(), "foreign.jpg")
    assert answer["verdict"] == "signed_untrusted"
    assert answer["tier"] == "ai_generated" and answer["issuer_trust"] == "untrusted"
    assert answer["integrity"] == "intact"
    assert answer["display"]["zh"] == "本内容由人工智能生成"  # type: ignore[index]
    status, ingested = ingest(embedded_server, path)
    assert status == 201
    assert ingested["evidence"]["source"] == "manifest" and ingested["evidence"]["issuer_trust"] == "untrusted"
    assert ingested["label"]["evidence"]["issuer_trust"] == "untrusted"


def test_ai_enhanced_media_has_its_own_wording(embedded_server: Server, tmp_path: Path) -> None:
    status, ingested = ingest(embedded_server, foreign_signed(tmp_path, source_type=ENHANCED))
    assert status == 201
    assert ingested["tier"] == "ai_generated"
    assert ingested["label"]["display"] == {"zh": "AI辅助编辑", "en": "Edited with AI"}


def test_ingest_of_a_foreign_manifest_with_hostile_strings_is_plain_text(embedded_server: Server,
                                                                         tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script>\u202e\x07" + "A" * 5000
    status, ingested = ingest(embedded_server, foreign_signed(tmp_path, title=hostile))
    assert status == 201, ingested
    assert ingested["tier"] == "ai_generated"
    assert all(len(str(v)) <= 2000 for v in ingested["evidence"].values())
    assert "\x07" not in json.dumps(ingested["evidence"], ensure_ascii=False)


def test_ingest_refusals_record_nothing(embedded_server: Server, tmp_path: Path) -> None:
    path = make("jpg", tmp_path)
    with embedded_server.client() as http:
        before = http.get("/v1/contents", headers={"Authorization": f"Bearer {embedded_server.keys['admin']}"},
                          params={"limit": 500}).json()
    for fields, code in (({"uploader": "用户 42"}, "invalid_uploader"), ({"uploader": ""}, "invalid_uploader"),
                         ({"hosting_urls": "javascript:alert(1)"}, None)):
        with embedded_server.client() as http, path.open("rb") as fh:
            resp = http.post("/v1/ingest", headers={"Authorization": f"Bearer {embedded_server.keys['publisher']}"},
                             files={"file": ("x.jpg", fh)}, data={"uploader": "u1", **fields})
        assert 400 <= resp.status_code < 500, resp.text
        if code:
            assert resp.json()["error"]["code"] == code
    with embedded_server.client() as http:
        resp = http.post("/v1/ingest", headers={"Authorization": f"Bearer {embedded_server.keys['moderator']}"},
                         files={"file": ("x.jpg", path.read_bytes())}, data={"uploader": "u1"})
        assert resp.status_code == 403
        after = http.get("/v1/contents", headers={"Authorization": f"Bearer {embedded_server.keys['admin']}"},
                         params={"limit": 500}).json()
    assert after == before


def test_ingested_mp4_and_audio_carry_one_record_read_by_ffprobe_and_mutagen(embedded_server: Server,
                                                                             tmp_path: Path) -> None:
    for kind in ("mp4", "mp3", "flac", "wav"):
        path = make(kind, tmp_path)
        status, answer = ingest(embedded_server, path, declared_ai="true")
        assert status == 201, answer
        out = fetch(embedded_server, answer["media_url"], tmp_path, f"ingested.{kind}")
        found = independent_records(kind, out)
        assert len(found) == 1, (kind, found)
        record = json.loads(found[0])
        assert record["PropagateID"] == answer["content_id"] and record["Label"] == "2"
        reader = ProvenanceReader(ensure_dev_identity(embedded_server.data_dir / "keys").trust_anchors_pem.decode())
        assert reader.read(out, answer["mime"]).state == "Trusted"


def test_cli_ingest_with_declaration(embedded_server: Server, tmp_path: Path) -> None:
    path = media_factory.png(tmp_path / "cli.png", seed=11)
    out = tmp_path / "out.png"
    result = embedded_server.cli("ingest", str(path), "--declared-ai", "--uploader", "cli-user", "--out", str(out))
    answer = json.loads(result.stdout[result.stdout.index("{"):])
    assert answer["tier"] == "declared_possibly"
    found = independent_records("png", out)
    assert len(found) == 1 and json.loads(found[0])["PropagateID"] == answer["content_id"]

"""POST /v1/verify on unsigned media, through a running server on PostgreSQL + Redis."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import c2pa
import psycopg
import pytest
from PIL import Image, ImageEnhance

from backend.detection.stores import FingerprintStore
from backend.store.db import Database
from detectors import watermark
from tests import media_factory
from tests.backend.test_signing import sign
from tests.conftest import REDIS_URL, Server
from tests.detectors import media

pytestmark = pytest.mark.postgres


def verify(srv: Server, blob: bytes, name: str = "f") -> dict[str, Any]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (name, blob)})
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def small_edits(blob: bytes) -> bytes:
    """What a re-uploader does without trying hard: 90 % size, a little brighter, JPEG q75."""
    with Image.open(io.BytesIO(blob)) as im:
        img = im.convert("RGB")
    img = img.resize((round(img.width * 0.9), round(img.height * 0.9)), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    ImageEnhance.Brightness(img).enhance(1.05).save(buf, format="JPEG", quality=75)
    return buf.getvalue()


def test_stripped_reencoded_cropped_downscaled_copy_resolves_to_signed_content(server: Server,
                                                                                tmp_path: Path) -> None:
    status, signed, headers = sign(server, media.photo_file(tmp_path / "photo.jpg"))
    assert status == 200, signed[:300]
    content_id = headers["x-content-id"]
    with c2pa.Reader("image/jpeg", io.BytesIO(signed)) as reader:
        store_json = json.loads(reader.json())
    manifest = store_json["manifests"][store_json["active_manifest"]]
    binding = next(a for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding")
    assert binding["data"]["alg"] == "cn.avlabel.tiledss.1" and binding["data"]["blocks"][0]["value"]

    # Decoding and re-encoding drops the manifest; then JPEG q50, a 10 % crop and a 50 % downscale.
    pixels = media.decode(signed)
    copy = media.jpeg_bytes(media.crop_corner(media.downscale(media.decode(media.jpeg_bytes(pixels, 50)), 0.5)), 85)
    answer = verify(server, copy, "copy.jpg")
    assert answer["verdict"] == "unsigned" and answer["validation_state"] is None
    detection = answer["detection"]
    assert detection["verdict"] == "copy_of_signed", detection
    assert detection["match"]["content_id"] == content_id and detection["match"]["via"] == "watermark"
    assert detection["match"]["registry"]["generator"] == "demo-gen 1.0"
    assert detection["match"]["recovered_label"]["state"] == "signed_synthetic"
    assert answer["content_id"] == content_id
    # only detection says so: the `suspected` tier and its wording
    assert answer["label_state"] == "possibly_synthetic" and answer["tier"] == "suspected"
    assert answer["display"]["zh"] == "疑似AI生成，请谨慎甄别"


def test_prohibited_item_reuploaded_with_small_edits_is_blocked_and_recorded(server: Server,
                                                                             tmp_path: Path) -> None:
    original = media.photo_file(tmp_path / "flower.jpg", name="flower.jpg")
    auth = {"Authorization": f"Bearer {server.keys['moderator']}"}
    with server.client() as http:
        denied = http.post("/v1/fingerprints/prohibited", files={"file": ("x.jpg", original.read_bytes())},
                           headers={"Authorization": f"Bearer {server.keys['publisher']}"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
        assert http.get("/v1/fingerprints/prohibited").status_code == 401
        added = http.post("/v1/fingerprints/prohibited", headers=auth, data={"ref": "case-1001", "reason": "测试"},
                          files={"file": ("x.jpg", original.read_bytes())})
        assert added.status_code == 201, added.text
        listed = http.get("/v1/fingerprints/prohibited", headers=auth).json()["items"]
        assert any(i["ref"] == "case-1001" and i["note"]["reason"] == "测试" for i in listed)

    copy = small_edits(original.read_bytes())
    answer = verify(server, copy, "again.jpg")
    assert answer["detection"]["verdict"] == "matches_prohibited"
    assert answer["detection"]["match"]["ref"] == "case-1001"
    assert answer["label_state"] == "blocked" and answer["display"]["en"] == "This content has been removed"
    with psycopg.connect(server.env["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT subject, data FROM audit_log WHERE action = %s",
                            ("detection.prohibited_match",)).fetchall()
    assert any(subject == "case-1001" and data["sha256"] == answer["sha256"] for subject, data in rows)

    with server.client() as http:
        assert http.delete("/v1/fingerprints/prohibited/case-1001", headers=auth).status_code == 204
        assert http.delete("/v1/fingerprints/prohibited/case-1001", headers=auth).status_code == 404
    assert verify(server, copy, "again.jpg")["detection"]["verdict"] != "matches_prohibited"


def test_refuted_rumour_added_on_another_host_matches_with_its_refutation(server: Server, tmp_path: Path) -> None:
    rumour = media.camera_like(tmp_path / "rumour.jpg", seed=31)
    # The cases service adds to the list in its own process: same database, same Redis prefix.
    db = Database(server.env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    store = FingerprintStore(db, REDIS_URL, server.env["AVLABEL_REDIS_PREFIX"])
    refutation = {"zh": "该视频系伪造", "en": "This picture is fabricated", "url": "https://example.org/refute/7"}
    try:
        assert store.add_file(rumour, "image/jpeg", "refuted", "case-7", refutation) == 1
    finally:
        store.close()
        db.close()
    answer = verify(server, small_edits(rumour.read_bytes()), "rumour.jpg")
    assert answer["detection"]["verdict"] == "matches_refuted"
    assert answer["detection"]["match"]["refutation"] == refutation
    assert answer["label_state"] == "refuted"


@pytest.mark.parametrize("kind", ["sd_parameters", "comfyui", "xmp_source_type", "aigc_xmp", "aigc_exif"])
def test_generator_metadata_makes_a_possibly_synthetic_answer(server: Server, tmp_path: Path, kind: str) -> None:
    path = {
        "sd_parameters": lambda: media.png_with_text(tmp_path / "a.png", {"parameters": media.SD_PARAMETERS}),
        "comfyui": lambda: media.png_with_text(tmp_path / "b.png", {"prompt": media.COMFY_PROMPT,
                                                                    "workflow": media.COMFY_WORKFLOW}),
        "xmp_source_type": lambda: media.jpeg_with_xmp(tmp_path / "c.jpg", None, media.TRAINED),
        "aigc_xmp": lambda: media.png_with_xmp(tmp_path / "d.png", media.AIGC,
                                               "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"),
        "aigc_exif": lambda: media.jpeg_with_user_comment(tmp_path / "e.jpg", media.AIGC),
    }[kind]()
    answer = verify(server, path.read_bytes(), path.name)
    assert answer["verdict"] == "unsigned"
    assert answer["detection"]["verdict"] == "unsigned_likely_synthetic"
    assert answer["detection"]["signals"][0]["detector"] == "metadata"
    assert answer["label_state"] == "possibly_synthetic"
    if kind.startswith("aigc_"):  # a valid implicit label (Label 1) is the ai_generated tier, not a suspicion
        assert answer["tier"] == "ai_generated" and answer["display"]["zh"] == "本内容由人工智能生成"
    else:
        assert answer["tier"] == "suspected" and answer["display"]["zh"] == "疑似AI生成，请谨慎甄别"


def test_clean_camera_like_image_has_no_signal(server: Server, tmp_path: Path) -> None:
    answer = verify(server, media.camera_like(tmp_path / "cam.jpg", seed=41).read_bytes(), "cam.jpg")
    detection = answer["detection"]
    assert detection["verdict"] == "unsigned_no_signal"
    assert {"metadata", "avlabel-soft-binding", "sd-invisible-watermark", "fingerprint"} <= set(
        detection["detectors_ran"])
    # The learned image model always answers with a probability; a synthetic "camera" picture may score
    # high on it, but only metadata, watermarks or a viewer-facing model past its viewer threshold label.
    assert all(s["kind"] == "model" for s in detection["signals"])
    assert not any(s["evidence"].get("viewer_facing") and s["evidence"].get("above_threshold")
                   for s in detection["signals"])
    assert detection["errors"] == [] and detection["match"] is None
    assert answer["label_state"] == "unsigned"


def test_corrupted_media_gives_an_error_in_the_answer(server: Server, tmp_path: Path) -> None:
    whole = media.camera_like(tmp_path / "t.jpg", seed=42).read_bytes()
    answer = verify(server, whole[: len(whole) // 3], "truncated.jpg")
    assert answer["detection"]["errors"], answer["detection"]
    assert all(e["code"] == "bad_media" for e in answer["detection"]["errors"])
    broken_video = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x17" * 4000
    with server.client() as http:
        resp = http.post("/v1/verify", files={"file": ("broken.mp4", broken_video)})
    assert resp.status_code < 500, resp.text
    if resp.status_code == 200:
        assert resp.json()["detection"]["errors"]
    else:
        assert resp.json()["error"]["code"]


def test_openapi_lists_the_moderator_endpoints(server: Server) -> None:
    with server.client() as http:
        doc = http.get("/openapi.json").json()
    assert {"post", "get"} <= set(doc["paths"]["/v1/fingerprints/prohibited"])
    assert "delete" in doc["paths"]["/v1/fingerprints/prohibited/{ref}"]


def test_reencoded_copy_of_a_signed_video_resolves_to_it(server: Server, tmp_path: Path) -> None:
    status, signed, headers = sign(server, media.photo_video(tmp_path / "clip.mp4", seconds=2))
    assert status == 200, signed[:300]
    (tmp_path / "signed.mp4").write_bytes(signed)
    copy = media.ffmpeg(tmp_path / "signed.mp4", tmp_path / "copy.mp4", "-map_metadata", "-1", "-c:v", "libx264",
                        "-crf", "23", "-c:a", "aac")
    answer = verify(server, copy.read_bytes(), "copy.mp4")
    assert answer["verdict"] in ("unsigned", "unreadable")
    assert answer["detection"]["verdict"] == "copy_of_signed"
    assert answer["detection"]["match"]["content_id"] == headers["x-content-id"]


def test_tampered_media_still_shows_the_generation_its_manifest_declares(server: Server, tmp_path: Path) -> None:
    (tmp_path / "t.jpg").write_bytes(media_factory.jpeg_bytes(seed=8))
    status, body, _ = sign(server, tmp_path / "t.jpg")
    assert status == 200
    tampered = bytearray(body)
    tampered[len(tampered) - 300] ^= 0x01  # scan data, not the manifest
    answer = verify(server, bytes(tampered), "t.jpg")
    assert answer["verdict"] == "tampered" and answer["label_state"] == "tampered"
    declared = next(s for s in answer["detection"]["signals"] if s["detector"] == "c2pa-declared")
    assert "assertion.dataHash.mismatch" in declared["evidence"]["failure_codes"]
    assert declared["score"] >= 0.85 and answer["detection"]["verdict"] in (
        "unsigned_likely_synthetic", "copy_of_signed")


def test_a_video_sharing_only_the_soundtrack_of_a_blocked_video_is_not_blocked(server: Server,
                                                                                tmp_path: Path) -> None:
    song = media.music(tmp_path / "trending-sound.wav", seconds=8, seed=77)
    blocked = media.pattern_video(tmp_path / "blocked.mp4", "testsrc", song)
    unrelated = media.pattern_video(tmp_path / "unrelated.mp4", "smptebars", song)
    auth = {"Authorization": f"Bearer {server.keys['moderator']}"}
    with server.client() as http:
        added = http.post("/v1/fingerprints/prohibited", headers=auth, data={"ref": "case-sound-1"},
                          files={"file": ("blocked.mp4", blocked.read_bytes())})
    assert added.status_code == 201, added.text

    answer = verify(server, unrelated.read_bytes(), "unrelated.mp4")
    assert answer["detection"]["verdict"] not in ("matches_prohibited", "copy_of_signed")
    assert answer["detection"]["match"] is None
    # (a test pattern may well look synthetic to the learned detectors; it is just not blocked)
    display = answer["display"] or {}
    assert answer["label_state"] not in ("blocked", "refuted") and "removed" not in display.get("en", "")
    fingerprint = next(s for s in answer["detection"]["signals"] if s["detector"] == "fingerprint")
    assert fingerprint["evidence"]["matches"] == []
    assert [m["ref"] for m in fingerprint["evidence"]["same_soundtrack"]] == ["case-sound-1"]

    copy = media.ffmpeg(blocked, tmp_path / "copy.mp4", "-map_metadata", "-1", "-c:v", "libx264", "-crf", "28")
    again = verify(server, copy.read_bytes(), "copy.mp4")
    assert again["detection"]["verdict"] == "matches_prohibited" and again["label_state"] == "blocked"


def test_two_signed_videos_with_the_same_soundtrack_do_not_match_each_other(server: Server, tmp_path: Path) -> None:
    song = media.music(tmp_path / "jingle.wav", seconds=8, seed=78)
    status, _, headers = sign(server, media.pattern_video(tmp_path / "first.mp4", "testsrc2", song))
    assert status == 200
    second = media.pattern_video(tmp_path / "second.mp4", "smptehdbars", song)
    answer = verify(server, second.read_bytes(), "second.mp4")
    assert answer["detection"]["verdict"] != "copy_of_signed" and answer["content_id"] is None
    fingerprint = next(s for s in answer["detection"]["signals"] if s["detector"] == "fingerprint")
    assert headers["x-content-id"] in [m["ref"] for m in fingerprint["evidence"]["same_soundtrack"]]


def test_a_victims_watermark_key_forged_into_an_unrelated_picture_is_not_a_copy(server: Server,
                                                                               tmp_path: Path) -> None:
    """Issue 13: the key is public in every manifest and the embedder is open; the key alone must not
    attribute a stranger's picture to the victim's content."""
    status, signed, headers = sign(server, media.photo_file(tmp_path / "victim.jpg"))
    assert status == 200, signed[:300]
    victim = headers["x-content-id"]
    with c2pa.Reader("image/jpeg", io.BytesIO(signed)) as reader:
        store_json = json.loads(reader.json())
    manifest = store_json["manifests"][store_json["active_manifest"]]
    binding = next(a for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding")
    key = int.from_bytes(base64.b64decode(binding["data"]["blocks"][0]["value"]), "big")

    unrelated = media.camera_like(tmp_path / "stranger.jpg", seed=41, size=(800, 600))
    forged = tmp_path / "forged.jpg"
    watermark.embed_image(unrelated, forged, "image/jpeg", key)
    answer = verify(server, forged.read_bytes(), "forged.jpg")
    detection = answer["detection"]
    assert detection["verdict"] != "copy_of_signed" and detection["match"] is None, detection
    assert answer["content_id"] is None and answer["registry"] is None
    assert answer["label_state"] == "unsigned" and victim not in json.dumps(answer.get("display"))
    assert detection["watermark"] == {"key": f"{key:012x}", "content_id_claimed": victim, "verified": False}
    mark = next(s for s in detection["signals"] if s["detector"] == "avlabel-soft-binding")
    assert mark["score"] == 0 and mark["evidence"]["verified"] is False

    # The victim's own picture, stripped, JPEG q50 and halved, is still recognised as its copy.
    copy = media.jpeg_bytes(media.downscale(media.decode(media.jpeg_bytes(media.decode(signed), 50)), 0.5), 85)
    genuine = verify(server, copy, "copy.jpg")
    assert genuine["detection"]["verdict"] == "copy_of_signed" and genuine["content_id"] == victim
    assert genuine["detection"]["match"]["via"] == "watermark"
    assert genuine["detection"]["watermark"] == {"key": f"{key:012x}", "content_id_claimed": victim, "verified": True}

"""POST /v1/sign over real HTTP, on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.media import register_codecs
from tests import media_factory
from tests.conftest import FIXTURES, Api, Server, shared_names, shared_params
from tests.explicit_measure import glyph_ink_heights


@pytest.fixture(autouse=True, scope="module")
def _heif_codecs() -> None:
    register_codecs()  # so the tests can open the HEIC/HEIF the service answers


SIGNING_FIXTURES = shared_params(shared_names("files-for-signing-tests"))


def sign(srv: Server, path: Path, key: str = "publisher", **fields: str) -> tuple[int, bytes, dict[str, str]]:
    with srv.client() as http, path.open("rb") as fh:
        data = {"generator": "demo-gen 1.0", **fields}
        resp = http.post("/v1/sign", headers={"Authorization": f"Bearer {srv.keys[key]}"},
                         files={"file": (path.name, fh)}, data=data)
    return resp.status_code, resp.content, dict(resp.headers)


def verify_bytes(srv: Server, blob: bytes, name: str = "f") -> dict[str, object]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (name, blob)})
    assert resp.status_code == 200, resp.text
    answer: dict[str, object] = resp.json()
    return answer


@pytest.mark.postgres
@pytest.mark.needs_shared
@pytest.mark.parametrize("name", SIGNING_FIXTURES)
def test_every_fixture_signs_and_verifies(any_server: Server, name: str) -> None:
    status, body, headers = sign(any_server, FIXTURES / "files-for-signing-tests" / name)
    assert status == 200, body[:300]
    answer = verify_bytes(any_server, body, name)
    assert answer["verdict"] == "signed_synthetic"
    assert answer["validation_state"] == "Trusted"
    assert answer["content_id"] == headers["x-content-id"]
    manifest = answer["manifest"]
    assert isinstance(manifest, dict)
    assert manifest["generator"] == "demo-gen 1.0"
    assert manifest["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    aigc = manifest["aigc"]
    assert set(aigc) == {"Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
                         "PropagateID", "ReservedCode2"}
    assert aigc["ProduceID"] == headers["x-content-id"]
    assert answer["display"] == {"zh": "本内容由人工智能生成", "en": "AI-generated content"}
    if headers["content-type"].startswith("image/"):
        with Image.open(io.BytesIO(body)) as signed:  # what a viewer gets must still be a picture
            signed.load()
        assert headers["x-explicit-label"] in ("burned", "not_possible")


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["wav", "flac", "mov", "mp4"])
def test_generated_formats_sign_and_verify(any_server: Server, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"clip.{kind}"
    if kind == "wav":
        media_factory.wav(path)
    elif kind == "flac":
        media_factory.flac(path)
    else:
        media_factory.video(path, fmt="mov" if kind == "mov" else "mp4")
    status, body, headers = sign(any_server, path)
    assert status == 200, body[:300]
    assert headers["content-type"].split(";")[0] in {
        "audio/wav", "audio/flac", "video/quicktime", "video/mp4"}
    assert verify_bytes(any_server, body)["verdict"] == "signed_synthetic"


@pytest.mark.needs_shared
def test_oversize_heif_is_signed_without_reencoding(embedded_server: Server) -> None:
    """A 51 MP HEIF is beyond one HEVC picture: re-encoding it would give a file no decoder opens."""
    path = FIXTURES / "files-for-signing-tests" / "sample1.heif"
    status, body, headers = sign(embedded_server, path)
    assert status == 200, body[:300]
    assert headers["x-explicit-label"] == "not_possible"
    with Image.open(io.BytesIO(body)) as signed, Image.open(path) as original:
        signed.load()
        assert signed.size == original.size
    status, body, _ = sign(embedded_server, path, visible_label="true")
    assert status == 400
    assert json.loads(body)["error"]["code"] == "explicit_label_impossible"


@pytest.mark.parametrize("size", [(800, 500), (500, 800), (1920, 1080), (320, 240), (300, 300), (3000, 400)])
def test_every_burned_glyph_inks_five_percent_of_shortest_side(api: Api, tmp_path: Path,
                                                                size: tuple[int, int]) -> None:
    """Measured on the signed file's pixels: each glyph of "AI生成" (the Latin capitals too, which ink
    ~80% of a CJK glyph's height) is at least 5% of the shortest side tall."""
    src = media_factory.png(tmp_path / "gen.png", size=size)
    status, body, headers = sign(api, src)
    assert status == 200
    assert headers["x-explicit-label"] == "burned"
    before = np.asarray(Image.open(src).convert("RGB"))
    after = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    heights = glyph_ink_heights(before, after)
    assert len(heights) == 4, heights  # A, I, 生, 成
    assert min(heights) >= 0.05 * min(size), (heights, size)


def test_visible_label_can_be_turned_off(api: Api, tmp_path: Path) -> None:
    src = media_factory.png(tmp_path / "gen.png")
    status, body, _ = sign(api, src, visible_label="false")
    assert status == 200
    before = np.asarray(Image.open(src).convert("RGB")).astype(np.int16)
    after = np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(np.int16)
    # Only the invisible watermark (soft binding) changes pixels, by a few levels; a burned-in label
    # would put a dark plate with white text in the lower-left corner.
    assert np.abs(after - before).max() <= 16
    assert np.mean((after - before) ** 2) < 10  # PSNR above ~38 dB


def test_xmp_carries_the_gb45438_implicit_label(api: Api, tmp_path: Path) -> None:
    (tmp_path / "g.jpg").write_bytes(media_factory.jpeg_bytes())
    status, body, headers = sign(api, tmp_path / "g.jpg")
    assert status == 200
    xmp = Image.open(io.BytesIO(body)).info.get("xmp")
    assert xmp is not None
    text = xmp.decode() if isinstance(xmp, bytes) else str(xmp)
    assert "http://www.tc260.org.cn/ns/AIGC/1.0/" in text
    assert headers["x-content-id"] in text


def test_signing_is_recorded_and_labelled(server: Server, tmp_path: Path) -> None:
    src = media_factory.png(tmp_path / "reg.png", seed=5)
    status, body, headers = sign(server, src, content_id="reg-test-1", title="Registry test",
                                 hosting_urls="https://cdn.example.com/v/reg.png")
    assert status == 200
    with server.client() as http:
        label = http.get("/v1/labels/reg-test-1").json()
        by_src = http.get("/v1/labels", params={"src": "https://cdn.example.com/v/reg.png"}).json()
        lookup = http.post("/v1/verify", json={"sha256": headers["x-content-sha256"]}).json()
    assert label["state"] == "signed_synthetic" and label["publisher"] == "Test Studio 测试工作室"
    assert by_src["content_id"] == "reg-test-1"
    assert lookup["content_id"] == "reg-test-1"
    again, _, _ = sign(server, src, content_id="reg-test-1")
    assert again == 409


@pytest.mark.parametrize("key, status, code", [(None, 401, "unauthenticated"), ("bogus", 401, "invalid_api_key"),
                                              ("unverified", 403, "identity_not_verified"),
                                              ("moderator", 403, "not_a_publisher")])
def test_sign_refusals(api: Api, tmp_path: Path, key: str | None, status: int, code: str) -> None:
    src = media_factory.png(tmp_path / "x.png")
    headers = {}
    if key == "bogus":
        headers["Authorization"] = "Bearer avl_not-a-key"
    elif key:
        headers["Authorization"] = f"Bearer {api.keys[key]}"
    with api.client() as http, src.open("rb") as fh:
        resp = http.post("/v1/sign", headers=headers, files={"file": ("x.png", fh)}, data={"generator": "g 1"})
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code


@pytest.mark.parametrize("fields, code", [({"generator": ""}, "invalid_generator"),
                                           ({"source_type": "digitalCapture"}, "invalid_source_type"),
                                           ({"content_id": "../etc"}, "invalid_content_id")])
def test_sign_field_validation(api: Api, tmp_path: Path, fields: dict[str, str], code: str) -> None:
    status, body, _ = sign(api, media_factory.png(tmp_path / "v.png"), **fields)
    assert status == 400
    assert json.loads(body)["error"]["code"] == code


def test_cli_sign_and_verify_agree_with_api(embedded_server: Server, tmp_path: Path) -> None:
    src = media_factory.png(tmp_path / "cli.png", seed=9)
    out = tmp_path / "cli-signed.png"
    embedded_server.cli("sign", str(src), "-o", str(out), "--generator", "cli-gen 2.0")
    cli_answer = json.loads(embedded_server.cli("verify", str(out)).stdout)
    api_answer = verify_bytes(embedded_server, out.read_bytes())
    for field in ("verdict", "validation_state", "failure_codes", "sha256", "content_id", "display"):
        assert cli_answer[field] == api_answer[field]
    assert cli_answer["verdict"] == "signed_synthetic"


def test_batch_signing_of_a_folder_shows_progress(embedded_server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(3):
        media_factory.png(folder / f"{i}.png", seed=20 + i)
    result = embedded_server.cli("sign", str(folder), "-o", str(tmp_path / "batch-out"), "--generator", "g 1")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"signed": 3, "failed": 0}
    assert "3/3" in result.stderr
    assert len(list((tmp_path / "batch-out").iterdir())) == 3

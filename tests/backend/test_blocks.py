"""Issue 13, blocks that stick: no URL, re-signing or verify answer gets around a moderator's block,
blocked and paused media is not served, and the public sees the public statement, not the reasons."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import httpx
from PIL import Image

from tests import media_factory
from tests.backend.casework import act, auth, console_login, report
from tests.backend.test_url_ownership import assign, publisher, urls
from tests.conftest import Server

INTERNAL = "internal: matches case file 7 of the extremism ruleset"
PUBLIC = "Removed under the platform rules on violent content."


def sign_bytes(http: httpx.Client, headers: dict[str, str], blob: bytes, name: str = "m.png",
               **data: str) -> httpx.Response:
    return http.post("/v1/sign", headers=headers, files={"file": (name, blob)},
                     data={"generator": "block-gen 1.0", **data})


def block(http: httpx.Client, srv: Server, content_id: str, action: str = "block") -> str:
    case_id: str = report(http, content_id=content_id, category="illegal").json()["case_id"]
    done = act(http, srv, case_id, action, reasons=INTERNAL, public_statement=PUBLIC)
    assert done.status_code == 201, done.text
    return case_id


def test_blocked_media_cannot_be_re_signed_or_re_registered(server: Server, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    site = f"https://blocked-{tag}.example"
    source = media_factory.png(tmp_path / "b.png", seed=400).read_bytes()
    with server.client() as http:
        pid, pub = publisher(server, "Blocked Studio")
        other_id, other = publisher(server, "Copy Studio")
        assign(http, server, pid, site)
        first = sign_bytes(http, pub, source, hosting_urls=f"{site}/v/clip.png,{site}/v/parts/*")
        assert first.status_code == 200, first.text
        blocked, signed = first.headers["X-Content-Id"], first.content
        case_id = block(http, server, blocked)

        # Re-signing: the same input, the signed output, by its publisher or anyone else.
        for headers, blob in ((pub, source), (other, source), (other, signed)):
            again = sign_bytes(http, headers, blob)
            assert again.status_code == 403, again.text
            error = again.json()["error"]
            assert error["code"] == "blocked_media" and case_id in error["message"]
        # A re-encoded copy of the signed file matches the prohibited fingerprint list.
        jpeg = io.BytesIO()
        Image.open(io.BytesIO(signed)).convert("RGB").save(jpeg, format="JPEG", quality=85)
        copy = sign_bytes(http, other, jpeg.getvalue(), name="copy.jpg")
        assert copy.status_code == 403 and copy.json()["error"]["code"] == "prohibited_media", copy.text
        checked = http.post("/v1/verify", files={"file": ("copy.jpg", jpeg.getvalue())})
        assert checked.json()["label_state"] == "blocked"
        assert PUBLIC in checked.text and INTERNAL not in checked.text  # the match's note is public

        # Block evasion: the blocked media's URLs cannot be pointed at clean content.
        clean = sign_bytes(http, pub, media_factory.png(tmp_path / "c.png", seed=401).read_bytes())
        decoy = clean.headers["X-Content-Id"]
        for url in (f"{site}/v/clip.png", f"{site}/v/parts/1.png", f"{site}/v/parts/a/*"):
            moved = urls(http, decoy, pub, url)
            assert moved.status_code == 403 and moved.json()["error"]["code"] == "url_blocked", url
            assert case_id in moved.json()["error"]["message"]
        refused = sign_bytes(http, pub, media_factory.png(tmp_path / "d.png", seed=402).read_bytes(),
                             hosting_urls=f"{site}/v/clip.png")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "url_blocked"
        # …nor can the blocked content get new URLs.
        more = urls(http, blocked, pub, f"{site}/v/new.png")
        assert more.status_code == 403 and more.json()["error"]["code"] == "blocked_media"
        # Players and reporters still reach the blocked content at its URL.
        label = http.get("/v1/labels", params={"src": f"{site}/v/clip.png"}).json()
        assert (label["content_id"], label["state"]) == (blocked, "blocked")
        assert http.get("/v1/labels", params={"src": f"{site}/v/parts/9.png"}).json()["state"] == "blocked"
        new_report = report(http, media_url=f"{site}/v/clip.png", category="rumour").json()
        case = http.get(f"/v1/cases/{new_report['case_id']}", headers=auth(server, "moderator")).json()
        assert case["content_id"] == blocked
        assert other_id != pid


def test_verify_answers_blocked_for_blocked_bytes_signed_or_not(server: Server, tmp_path: Path) -> None:
    source = media_factory.png(tmp_path / "v.png", seed=410).read_bytes()
    with server.client() as http:
        first = sign_bytes(http, auth(server, "publisher"), source)
        content_id, signed, sha = first.headers["X-Content-Id"], first.content, first.headers["X-Content-Sha256"]
        before = http.post("/v1/verify", files={"file": ("s.png", signed)}).json()
        assert before["label_state"] == "signed_synthetic"
        block(http, server, content_id)
        for blob in (signed, source):  # the signed file, and the unsigned original it was made from
            answer = http.post("/v1/verify", files={"file": ("f.png", blob)}).json()
            assert answer["label_state"] == "blocked", answer
            assert answer["display"]["en"] == "This content has been removed"
        assert http.post("/v1/verify", json={"sha256": sha}).json()["label_state"] == "blocked"


def test_blocked_and_paused_media_is_not_served(server: Server, tmp_path: Path) -> None:
    with server.client() as http:
        ids = []
        for seed in (420, 421):
            resp = sign_bytes(http, auth(server, "publisher"), media_factory.png(tmp_path / f"{seed}.png",
                                                                                 seed=seed).read_bytes())
            ids.append(resp.headers["X-Content-Id"])
        served = http.get(f"/media/{ids[0]}.png")
        assert served.status_code == 200 and served.headers["cache-control"] == "public, max-age=60"
        block(http, server, ids[0])
        block(http, server, ids[1], action="stop_until_labelled")
        for content_id, code in zip(ids, ("content_blocked", "content_paused"), strict=True):
            gone = http.get(f"/media/{content_id}.png")
            assert gone.status_code == 451, gone.text
            assert gone.json()["error"]["code"] == code
            assert gone.headers["cache-control"] == "no-store"
        assert http.get("/media/not-registered-1.png").status_code == 404


def test_public_pages_show_the_public_statement_not_the_reasons(server: Server, tmp_path: Path) -> None:
    with server.client() as http:
        resp = sign_bytes(http, auth(server, "publisher"), media_factory.png(tmp_path / "p.png", seed=430).read_bytes())
        content_id = resp.headers["X-Content-Id"]
        case_id = block(http, server, content_id)
        doc = http.get(f"/v1/labels/{content_id}")
        assert doc.json()["block"]["reason"] == PUBLIC
        assert INTERNAL not in doc.text
        page = http.get(f"/verify/{content_id}").text
        assert PUBLIC in page and INTERNAL not in page
    console, _ = console_login(server, "moderator")
    try:
        case_page = console.get(f"/console/cases/{case_id}").text
        assert INTERNAL in case_page and PUBLIC in case_page
        assert "Internal reasons (not published)" in case_page and "Public statement (shown to viewers)" in case_page
        # Moderators still see the blocked media, from the console only.
        assert f'src="/console/cases/{case_id}/media"' in case_page
        preview = console.get(f"/console/cases/{case_id}/media")
        assert preview.status_code == 200 and preview.headers["cache-control"] == "no-store"
        assert preview.content[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        console.close()
    assert httpx.get(f"{server.url}/console/cases/{case_id}/media").status_code == 401


def test_an_untrusted_signer_cannot_claim_a_registered_content_id(server: Server, embedded_server: Server,
                                                                  tmp_path: Path) -> None:
    claimed = f"claimed-{secrets.token_hex(3)}"
    with server.client() as http:
        ok = sign_bytes(http, auth(server, "publisher"), media_factory.png(tmp_path / "o.png", seed=440).read_bytes(),
                        content_id=claimed)
        assert ok.status_code == 200
    # Another deployment (its own development CA, not trusted here) writes the same id into a manifest.
    with embedded_server.client() as other:
        forged = sign_bytes(other, auth(embedded_server, "publisher"),
                            media_factory.png(tmp_path / "f.png", seed=441).read_bytes(), content_id=claimed)
        assert forged.status_code == 200
    with server.client() as http:
        answer = http.post("/v1/verify", files={"file": ("f.png", forged.content)}).json()
    assert answer["verdict"] == "signed_untrusted"
    assert answer["manifest"]["content_id"] == claimed  # what the file says, shown as such
    assert answer["content_id"] is None and answer["registry"] is None

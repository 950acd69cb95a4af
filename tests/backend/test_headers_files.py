"""Every answer says `nosniff`, pages cannot be framed, and the reporter page's form keeps the access
code out of URLs (issue 13, item 8), through the running server."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.backend.casework import report, sign_png
from tests.conftest import Server


def test_nosniff_on_json_media_and_pages_and_no_framing(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    cid = sign_png(srv, tmp_path, 401)
    with srv.client() as http:
        label = http.get(f"/v1/labels/{cid}")
        media_url = label.json().get("media_url") or f"/media/{cid}.png"
        answers = {
            "json": label,
            "json error": http.post("/v1/verify", json={"content_id": 5}),
            "media": http.get(media_url),
            "openapi": http.get("/openapi.json"),
        }
        for name, resp in answers.items():
            assert resp.headers.get("x-content-type-options") == "nosniff", (name, resp.status_code)
        assert answers["media"].status_code == 200
        pages = {"verify page": http.get(f"/verify/{cid}"), "unknown verify page": http.get("/verify/c_nope"),
                 "console": http.get("/console/login"), "reporter": http.get("/reports/r_nope")}
        for name, resp in pages.items():
            assert resp.headers["content-type"].startswith("text/html"), name
            assert "frame-ancestors 'none'" in resp.headers["content-security-policy"], name
            assert resp.headers.get("x-content-type-options") == "nosniff", name
        # The verify page runs only its own static scripts, with framing refused on top.
        assert "script-src 'self'" in pages["verify page"].headers["content-security-policy"]


def test_reporter_page_form_posts_the_access_code(embedded_server: Server) -> None:
    srv = embedded_server
    with srv.client() as http:
        receipt = report(http, sha256=secrets.token_hex(32), description="the clip at 0:42 <b>is fake</b>").json()
        page = http.get(f"/reports/{receipt['id']}")
        assert 'method="post"' in page.text and 'method="get"' not in page.text
        shown = http.post(f"/reports/{receipt['id']}", data={"secret": receipt["secret"]})
        assert shown.status_code == 200 and "the clip at 0:42 &lt;b&gt;is fake&lt;/b&gt;" in shown.text
        assert receipt["secret"] not in str(shown.url)
        wrong = http.post(f"/reports/{receipt['id']}", data={"secret": "not-the-code"})
        assert wrong.status_code == 404 and "does not match" in wrong.text

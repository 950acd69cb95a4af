"""Issue 13, URL ownership: hosting URLs are origin + path under origins an admin assigned, one owner per
URL, exact beats pattern (longest pattern wins), and `?src=` never matches a path on another host."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests import media_factory
from tests.backend.casework import auth
from tests.conftest import Server


def publisher(srv: Server, name: str) -> tuple[str, dict[str, str]]:
    """A new verified publisher: (account id, its auth header)."""
    key = srv.create_account("publisher", f"{name} {secrets.token_hex(3)}")
    return srv.account_ids[key], {"Authorization": f"Bearer {key}"}


def assign(http: httpx.Client, srv: Server, account_id: str, origin: str, path_prefix: str | None = None) -> None:
    body = {"origin": origin, **({"path_prefix": path_prefix} if path_prefix else {})}
    resp = http.post(f"/v1/accounts/{account_id}/origins", json=body, headers=auth(srv, "admin"))
    assert resp.status_code == 201, resp.text


def signed(http: httpx.Client, tmp_path: Path, headers: dict[str, str], seed: int, **data: str) -> str:
    path = media_factory.png(tmp_path / f"own{seed}.png", seed=seed)
    resp = http.post("/v1/sign", headers=headers, files={"file": (path.name, path.read_bytes())},
                     data={"generator": "own-gen 1.0", **data})
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Content-Id"]


def urls(http: httpx.Client, content_id: str, headers: dict[str, str], *values: str) -> httpx.Response:
    return http.post(f"/v1/contents/{content_id}/urls", json={"urls": list(values)}, headers=headers)


def label_for(http: httpx.Client, src: str) -> str | None:
    resp = http.get("/v1/labels", params={"src": src})
    assert resp.status_code == 200, resp.text
    found: str | None = resp.json()["content_id"]
    return found


def test_the_label_hijack_sequence_is_refused(any_server: Server, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    site_a, site_b = f"https://news-a-{tag}.example", f"https://news-b-{tag}.example"
    clip = "/uploads/2026/12/01/clip.png"
    with any_server.client() as http:
        a_id, a = publisher(any_server, "Studio A")
        b_id, b = publisher(any_server, "Studio B")
        assign(http, any_server, a_id, site_a)
        assign(http, any_server, b_id, site_b)
        mine = signed(http, tmp_path, a, 300, hosting_urls=f"{site_a}{clip}")
        theirs = signed(http, tmp_path, b, 301)
        # A bare path would match that path on every site: refused.
        bare = urls(http, theirs, b, clip)
        assert bare.status_code == 400 and bare.json()["error"]["code"] == "invalid_hosting_url"
        # A path on an origin B was not assigned: refused, also at signing.
        foreign = urls(http, theirs, b, f"{site_a}{clip}")
        assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "origin_not_assigned"
        path = media_factory.png(tmp_path / "own302.png", seed=302)
        at_sign = http.post("/v1/sign", headers=b, files={"file": (path.name, path.read_bytes())},
                            data={"generator": "own-gen 1.0", "hosting_urls": f"{site_a}/x.png"})
        assert at_sign.status_code == 403 and at_sign.json()["error"]["code"] == "origin_not_assigned"
        # Even on a shared origin, A's exact URL has one owner.
        assign(http, any_server, b_id, site_a)
        taken = urls(http, theirs, b, f"{site_a}{clip}")
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "url_taken"
        # B's pattern over the whole folder does not beat A's exact URL; the longest pattern wins.
        assert urls(http, theirs, b, f"{site_a}/uploads/*").status_code == 201
        assert urls(http, mine, a, f"{site_a}/uploads/2026/*").status_code == 201
        assert label_for(http, f"{site_a}{clip}") == mine
        assert label_for(http, f"{site_a}{clip}?utm_source=feed&fbclid=abc&spm=1.2") == mine  # tracking dropped
        assert label_for(http, f"{site_a}/uploads/2026/other.png") == mine  # A's longer pattern
        assert label_for(http, f"{site_a}/uploads/2025/other.png") == theirs  # only B's pattern covers it
        # No host-less matching: the same path elsewhere, or bare, finds nothing.
        assert label_for(http, f"https://elsewhere-{tag}.example{clip}") is None
        assert label_for(http, clip) is None
        assert label_for(http, f"{site_b}{clip}") is None
        entry = http.get(f"/v1/contents/{theirs}", headers=b).json()
        assert f"{site_a}/uploads/*" in entry["hosting_urls"]


def test_origins_narrowed_to_a_path_prefix_and_the_admin_api(server: Server, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    shared = f"https://shared-cdn-{tag}.example"
    with server.client() as http:
        pid, pub = publisher(server, "Prefix Studio")
        assign(http, server, pid, shared + "/", path_prefix="/studio-p/")
        again = http.post(f"/v1/accounts/{pid}/origins", json={"origin": shared, "path_prefix": "/studio-p/"},
                          headers=auth(server, "admin"))
        assert again.status_code == 200  # already assigned: nothing new
        listed = http.get(f"/v1/accounts/{pid}/origins", headers=pub).json()["origins"]
        assert [(o["origin"], o["path_prefix"]) for o in listed] == [(shared, "/studio-p/")]
        cid = signed(http, tmp_path, pub, 310)
        assert urls(http, cid, pub, f"{shared}/studio-q/a.png").status_code == 403
        assert urls(http, cid, pub, f"{shared}/studio-p/a.png").status_code == 201
        assert label_for(http, f"{shared.upper().replace('HTTPS', 'https')}:443/studio-p/a.png#t=3") == cid
        # Only an admin assigns, only to publishers, and only real origins.
        assert http.post(f"/v1/accounts/{pid}/origins", json={"origin": shared}, headers=pub).status_code == 403
        for bad in ("/studio-p/", "ftp://x.example", f"{shared}/path", "https://"):
            resp = http.post(f"/v1/accounts/{pid}/origins", json={"origin": bad}, headers=auth(server, "admin"))
            assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_origin", bad
        moderator = http.get("/v1/accounts/me", headers=auth(server, "moderator")).json()["id"]
        staff = http.post(f"/v1/accounts/{moderator}/origins", json={"origin": shared}, headers=auth(server, "admin"))
        assert staff.status_code == 409 and staff.json()["error"]["code"] == "not_a_publisher"


def test_variants_resolve_like_a_cdn_and_candidates_in_order(any_server: Server, tmp_path: Path) -> None:
    """Issue 12, item 6: `?v=2` and cache-busting queries on a URL registered without a query find its
    label; a variant registered itself wins; one element's candidate URLs (`src` repeated) resolve in order."""
    tag = secrets.token_hex(3)
    site = f"https://img-{tag}.example"
    with any_server.client() as http:
        pid, pub = publisher(any_server, "Variant Studio")
        assign(http, any_server, pid, site)
        plain = signed(http, tmp_path, pub, 320, hosting_urls=f"{site}/a/pic.png")
        versioned = signed(http, tmp_path, pub, 321, hosting_urls=f"{site}/a/pic.png?v=9")
        assert label_for(http, f"{site}/a/pic.png?v=2") == plain
        assert label_for(http, f"{site}/a/pic.png?v=2&utm_source=feed&t=1700000000") == plain
        assert label_for(http, f"{site}/a/pic.png?v=9&fbclid=x") == versioned  # exact wins
        assert label_for(http, f"{site}/a/pic.png?") == plain
        assert label_for(http, f"{site}/a/pic@2x.png?v=2") is None  # another file
        # The 2x file of a srcset is not registered; the 1x one given as the next candidate is.
        found = http.get("/v1/labels", params=[("src", f"{site}/a/pic@2x.png"), ("src", f"{site}/a/pic.png")])
        assert found.status_code == 200 and found.json()["content_id"] == plain
        first = http.get("/v1/labels", params=[("src", f"{site}/a/pic.png?v=9"), ("src", f"{site}/a/pic.png")])
        assert first.json()["content_id"] == versioned
        too_many = http.get("/v1/labels", params=[("src", f"{site}/{i}.png") for i in range(9)])
        assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "invalid_src"
        empty = http.get("/v1/labels", params=[("src", f"{site}/a/pic.png"), ("src", "")])
        assert empty.status_code == 400

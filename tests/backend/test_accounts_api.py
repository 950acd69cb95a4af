"""Accounts and roles (Art. 8): admins create accounts, issue and revoke keys and verify identities;
an unverified publisher cannot sign; every endpoint refuses the wrong caller."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from tests import media_factory
from tests.backend.casework import auth, sign_png
from tests.conftest import ROOT, Api, Server

ID_NUMBER = "91350100M000100Y43"


def test_admin_onboards_a_publisher_who_may_sign_only_once_verified(server: Server, tmp_path: Path) -> None:
    admin = auth(server, "admin")
    with server.client() as http:
        created = http.post("/v1/accounts", headers=admin, json={"name": "Onboarded Studio", "role": "publisher",
                                                                  "complaint_contact": "abuse@onboarded.example"})
        assert created.status_code == 201, created.text
        account = created.json()
        assert account["identity_verified"] is False and account["status"] == "active"
        issued = http.post(f"/v1/accounts/{account['id']}/keys", headers=admin)
        assert issued.status_code == 201
        key = issued.json()["api_key"]
        server.keys["onboarded"] = key
        path = media_factory.png(tmp_path / "o.png", seed=95)
        with path.open("rb") as fh:
            refused = http.post("/v1/sign", headers={"Authorization": f"Bearer {key}"},
                                files={"file": ("o.png", fh)}, data={"generator": "g 1.0"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "identity_not_verified"
        assert "verif" in refused.json()["error"]["message"]

        verified = http.post(f"/v1/accounts/{account['id']}/identity", headers=admin,
                             json={"kind": "org_code", "number": ID_NUMBER})
        assert verified.status_code == 200
        body = verified.text
        assert ID_NUMBER not in body and verified.json()["identity_hint"] == "…43"
        assert verified.json()["identity_verified"] is True
        cid = sign_png(server, tmp_path, 96, key="onboarded")
        label = http.get(f"/v1/labels/{cid}").json()
        assert label["complaint_contact"] == "abuse@onboarded.example"

        # The raw identifier is nowhere: not in the database, not in the audit log, not in the server log.
        with psycopg.connect(server.env["DATABASE_URL"]) as conn:
            dump = str(conn.execute("SELECT * FROM accounts WHERE id = %s", (account["id"],)).fetchall())
            dump += str(conn.execute("SELECT data FROM audit_log").fetchall())
        assert ID_NUMBER not in dump and ID_NUMBER.lower() not in dump
        assert server.log_path is not None and ID_NUMBER not in server.log_path.read_text()

        # Revoking the key locks the publisher out at once.
        key_id = issued.json()["key"]["id"]
        assert http.delete(f"/v1/accounts/{account['id']}/keys/{key_id}", headers=admin).status_code == 204
        assert http.get("/v1/accounts/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
        assert http.delete(f"/v1/accounts/{account['id']}/keys/{key_id}", headers=admin).status_code == 404


def test_unverified_publisher_cannot_sign(any_server: Server, tmp_path: Path) -> None:
    path = media_factory.png(tmp_path / "u.png", seed=97)
    with any_server.client() as http, path.open("rb") as fh:
        resp = http.post("/v1/sign", headers=auth(any_server, "unverified"), files={"file": ("u.png", fh)},
                         data={"generator": "g 1.0"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "identity_not_verified"


def test_publishers_see_only_their_own_contents(server: Server, tmp_path: Path) -> None:
    server.keys["other-studio"] = server.create_account("publisher", "Other Studio")
    mine = sign_png(server, tmp_path, 98)
    theirs = sign_png(server, tmp_path, 99, key="other-studio")
    with server.client() as http:
        def listed(role: str) -> set[str]:
            return {c["content_id"] for c in http.get("/v1/contents", headers=auth(server, role)).json()["contents"]}

        assert mine in listed("publisher") and theirs not in listed("publisher")
        assert listed("other-studio") == {theirs}
        assert http.get(f"/v1/contents/{theirs}", headers=auth(server, "publisher")).status_code == 404
        assert http.post(f"/v1/contents/{theirs}/urls", headers=auth(server, "publisher"),
                         json={"urls": ["https://x.example/a.png"]}).status_code == 404
        staff = {c["content_id"] for c in http.get("/v1/contents", params={"limit": 500},
                                                     headers=auth(server, "auditor")).json()["contents"]}
        assert {mine, theirs} <= staff
        assert http.get("/v1/contents").status_code == 401


def test_account_endpoints_refuse_every_wrong_caller(api: Api) -> None:
    srv = api
    with srv.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(srv, "publisher")).json()
        admin_me = http.get("/v1/accounts/me", headers=auth(srv, "admin")).json()
        pid = me["id"]
        new = {"name": "X", "role": "publisher"}
        assert http.post("/v1/accounts", json=new).status_code == 401
        for role in ("publisher", "moderator", "auditor"):
            h = auth(srv, role)
            assert http.post("/v1/accounts", json=new, headers=h).status_code == 403
            assert http.post(f"/v1/accounts/{pid}/keys", headers=h).status_code == 403
            assert http.post(f"/v1/accounts/{pid}/identity", headers=h,
                             json={"kind": "mobile", "number": "13800000000"}).status_code == 403
            assert http.post(f"/v1/accounts/{admin_me['id']}/password", headers=h,
                             json={"password": "long enough password"}).status_code == 403
        assert http.get("/v1/accounts", headers=auth(srv, "publisher")).status_code == 403
        assert http.get("/v1/accounts", headers=auth(srv, "auditor")).status_code == 200
        # A publisher sees and edits only itself; others do not exist for it.
        assert http.get(f"/v1/accounts/{admin_me['id']}", headers=auth(srv, "publisher")).status_code == 404
        assert http.patch(f"/v1/accounts/{admin_me['id']}", headers=auth(srv, "publisher"),
                          json={"complaint_contact": "x"}).status_code == 404
        assert http.patch(f"/v1/accounts/{pid}", headers=auth(srv, "publisher"),
                          json={"complaint_contact": "abuse@me.example"}).json()["complaint_contact"] == \
            "abuse@me.example"
        assert http.patch(f"/v1/accounts/{pid}", headers=auth(srv, "publisher"),
                          json={"webhook_url": "http://169.254.169.254/latest"}).status_code == 403
        admin = auth(srv, "admin")
        assert http.post("/v1/accounts", json={"name": "X", "role": "king"}, headers=admin).status_code == 400
        assert http.post("/v1/accounts/acct_nope/keys", headers=admin).status_code == 404
        assert http.post(f"/v1/accounts/{pid}/identity", headers=admin,
                         json={"kind": "passport", "number": "123456"}).status_code == 400
        assert http.patch(f"/v1/accounts/{pid}", headers=admin,
                          json={"webhook_url": "ftp://x"}).status_code == 400
        assert http.post(f"/v1/accounts/{admin_me['id']}/password", headers=admin,
                         json={"password": "short"}).status_code == 400
        assert http.post(f"/v1/accounts/{pid}/password", headers=admin,
                         json={"password": "long enough password"}).status_code == 409
        listed = http.get("/v1/accounts", headers=admin).json()["accounts"]
        assert all("identity_digest" not in a and "password_hash" not in a and "webhook_secret" not in a
                   for a in listed)


def test_set_password_cli(embedded_server: Server) -> None:
    srv = embedded_server
    with srv.client() as http:
        mod = http.get("/v1/accounts/me", headers=auth(srv, "moderator")).json()
        pub = http.get("/v1/accounts/me", headers=auth(srv, "publisher")).json()

    def run(account: str) -> subprocess.CompletedProcess[str]:
        env = {**srv.env, "AVLABEL_PASSWORD": "correct horse battery"}
        return subprocess.run([sys.executable, "-m", "backend.cli", "--data-dir", str(srv.data_dir), "accounts",
                               "set-password", account], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    ok = run(mod["id"])
    assert ok.returncode == 0 and "password set" in ok.stdout
    assert "correct horse" not in ok.stdout + ok.stderr
    refused = run(pub["id"])
    assert refused.returncode != 0 and "not_a_console_role" in refused.stderr

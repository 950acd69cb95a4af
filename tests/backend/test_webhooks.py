"""Durable publisher webhooks: a webhook queued by a moderation action survives a server restart."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.backend.casework import act, auth, report, sign_png
from tests.backend.test_cases import Receiver
from tests.conftest import free_port, fresh_pg_database, make_server


def outbox(db: str, account_id: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(outbox rows as (status, attempts), recorded attempts as (status_code, error, attempt))."""
    queries = ("SELECT status, attempts FROM webhook_outbox WHERE account_id = ?",
               "SELECT status_code, error, attempt FROM webhook_deliveries WHERE account_id = ? ORDER BY id")
    if db.startswith("postgresql"):
        with psycopg.connect(db) as conn:
            rows = [conn.execute(q.replace("?", "%s"), (account_id,)).fetchall() for q in queries]
    else:
        with contextlib.closing(sqlite3.connect(db)) as lite:
            rows = [lite.execute(q, (account_id,)).fetchall() for q in queries]
    return [tuple(r) for r in rows[0]], [tuple(r) for r in rows[1]]


@contextlib.contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL for the server or "" for embedded SQLite, what `outbox` connects to)."""
    if kind == "shared":
        with fresh_pg_database() as url:
            yield url, url
    else:
        yield "", str(tmp_path / "srv" / "avlabel.sqlite3")


def wait_for(check: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


@pytest.mark.server
@pytest.mark.parametrize("kind", ["embedded", "shared"])
def test_a_pending_webhook_is_delivered_once_after_a_restart(kind: str, tmp_path: Path) -> None:
    port = free_port()  # the publisher's receiver: down at first
    with database(kind, tmp_path) as (pg_url, db_url):
        # Short backoff so the retries happen within the test; plenty of attempts left for after the restart.
        server = make_server(tmp_path / "srv", kind == "shared", pg_url, AVLABEL_WEBHOOK_RETRY_BASE_SECONDS="0.2",
                             AVLABEL_WEBHOOK_RETRY_MAX_SECONDS="0.5", AVLABEL_WEBHOOK_POLL_SECONDS="0.2",
                             AVLABEL_WEBHOOK_MAX_ATTEMPTS="1000", AVLABEL_WEBHOOK_TIMEOUT_SECONDS="1")
        server.keys["studio"] = server.create_account("publisher", "Restarted Studio")
        receiver: Receiver | None = None
        server.start()
        try:
            with server.client() as http:
                me = http.get("/v1/accounts/me", headers=auth(server, "studio")).json()
                secret = http.patch(f"/v1/accounts/{me['id']}", headers=auth(server, "admin"),
                                    json={"webhook_url": f"http://127.0.0.1:{port}/hook"}).json()["webhook_secret"]
                cid = sign_png(server, tmp_path, 91, key="studio")
                case_id = report(http, content_id=cid).json()["case_id"]
                assert act(http, server, case_id, "warn", reasons="unlabelled synthetic voice").status_code == 201
            # The receiver is down: attempts fail and are recorded, the webhook stays pending.
            failed = wait_for(lambda: len(outbox(db_url, me["id"])[1]) >= 2)
            assert failed, "no failed attempts recorded"
            server.kill()  # a crash, not a graceful shutdown
            queued, tried = outbox(db_url, me["id"])
            assert [q[0] for q in queued] == ["pending"]
            assert all(t[0] is None and t[1] == "ConnectError" for t in tried)

            receiver = Receiver(port)
            time.sleep(1.0)
            assert receiver.received == []  # nobody sends while the server is down
            # Shared: two worker processes, so two delivery loops compete for the one pending webhook.
            server.start(workers=2 if kind == "shared" else 1)
            got = receiver.wait(1, timeout=20)
            assert len(got) == 1
            headers, body = got[0]
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["x-avlabel-signature"], expected)
            event = json.loads(body)
            assert (event["event"], event["case_id"], event["content_id"]) == ("case.warn", case_id, cid)
            assert wait_for(lambda: outbox(db_url, me["id"])[0] == [("delivered", len(outbox(db_url, me["id"])[1]))])
            time.sleep(1.0)  # a few more polls: nothing is sent twice
            assert len(receiver.received) == 1
            queued, tried = outbox(db_url, me["id"])
            assert queued[0][0] == "delivered"
            assert [t[0] for t in tried].count(204) == 1 and tried[-1][0] == 204
            assert [t[2] for t in tried] == list(range(1, len(tried) + 1))  # each attempt recorded once
        finally:
            server.stop()
            if receiver is not None:
                receiver.close()

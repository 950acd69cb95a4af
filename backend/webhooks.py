"""Signed webhooks to publishers about actions on their content and account (Art. 14 notices).

The body is signed with HMAC-SHA256 under the account's webhook secret
(`X-Avlabel-Signature: sha256=<hex>`). Delivery is a transactional outbox: `enqueue` writes a
`webhook_outbox` row in the moderation action's own transaction, and a delivery loop in every server
process sends due rows, so a pending webhook survives a shutdown or crash. A row is claimed with a
conditional UPDATE (only one worker or host wins an attempt); every attempt is recorded in
`webhook_deliveries`; failures back off exponentially up to `webhook_max_attempts`, then the row is
marked failed. A failure is logged, never raised to the moderator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, select, update

from backend.store.db import Database, utcnow
from backend.store.schema import accounts, webhook_deliveries, webhook_outbox

log = logging.getLogger(__name__)
BATCH = 20


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def enqueue(conn: Connection, account_id: str | None, event: dict[str, Any]) -> bool:
    """Queue a webhook inside the caller's transaction; False when the account has no webhook."""
    if not account_id:
        return False
    url = conn.execute(select(accounts.c.webhook_url).where(accounts.c.id == account_id)).scalar()
    if not url:
        return False
    now = utcnow()
    # The delivery id is fixed now, so every retry sends the same body and receivers can deduplicate.
    payload = {**event, "delivery_id": secrets.token_hex(8), "account_id": account_id}
    conn.execute(webhook_outbox.insert().values(
        account_id=account_id, event=str(event.get("event", ""))[:60], payload=payload, status="pending",
        attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
    return True


@dataclass
class Claim:
    id: int
    account_id: str
    event: str
    payload: dict[str, Any]
    attempt: int


class Webhooks:
    def __init__(self, db: Database, timeout: float, max_attempts: int = 5, retry_base: float = 2.0,
                 retry_max: float = 900.0, poll: float = 1.0) -> None:
        self.db = db
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.poll = poll
        # Made at the first delivery: processes that never deliver (CLI, job child) skip its TLS setup.
        self._client: httpx.AsyncClient | None = None
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._loop())

    def notify(self) -> None:
        """A row was just committed: look now rather than at the next poll."""
        self.wake.set()

    def _lease(self) -> dt.timedelta:
        # A claim pushes next_attempt_at past the attempt's end; if this process dies mid-send,
        # the row becomes due again and another worker retries it.
        return dt.timedelta(seconds=self.timeout + 5)

    def _claim(self) -> list[Claim]:
        now = utcnow()
        with self.db.read() as conn:
            due = conn.execute(select(webhook_outbox).where(
                webhook_outbox.c.status == "pending", webhook_outbox.c.next_attempt_at <= now)
                .order_by(webhook_outbox.c.next_attempt_at, webhook_outbox.c.id).limit(BATCH)).all()
        claimed = []
        for row in due:
            with self.db.tx() as conn:
                # Conditional on the attempt count read above: of several workers, exactly one wins.
                won = conn.execute(update(webhook_outbox).where(
                    webhook_outbox.c.id == row.id, webhook_outbox.c.status == "pending",
                    webhook_outbox.c.attempts == row.attempts, webhook_outbox.c.next_attempt_at <= now)
                    .values(attempts=row.attempts + 1, next_attempt_at=now + self._lease(), updated_at=now))
            if won.rowcount == 1:
                claimed.append(Claim(row.id, row.account_id, row.event, dict(row.payload), row.attempts + 1))
        return claimed

    def _target(self, account_id: str) -> tuple[str, str] | None:
        with self.db.read() as conn:
            row = conn.execute(select(accounts.c.webhook_url, accounts.c.webhook_secret)
                               .where(accounts.c.id == account_id)).first()
        return (row.webhook_url, row.webhook_secret) if row and row.webhook_url and row.webhook_secret else None

    def _finish(self, claim: Claim, url: str | None, status: int | None, error: str | None) -> str:
        now = utcnow()
        delivered = status is not None and 200 <= status < 300
        values: dict[str, Any] = {"updated_at": now}
        if delivered:
            values["status"] = "delivered"
        elif url is None or claim.attempt >= self.max_attempts:
            values["status"] = "failed"
        else:
            backoff = min(self.retry_max, self.retry_base * 2 ** min(claim.attempt - 1, 30))
            values["next_attempt_at"] = now + dt.timedelta(seconds=backoff)
        with self.db.tx() as conn:
            if url is not None:
                conn.execute(webhook_deliveries.insert().values(
                    account_id=claim.account_id, event=claim.event, url=url, status_code=status, error=error,
                    attempt=claim.attempt, created_at=now))
            conn.execute(update(webhook_outbox).where(webhook_outbox.c.id == claim.id).values(**values))
        return str(values.get("status", "pending"))

    async def _send(self, claim: Claim) -> None:
        target = await self.db.run(self._target, claim.account_id)
        if target is None:  # the webhook was removed since: nothing to send to
            await self.db.run(self._finish, claim, None, None, None)
            return
        url, secret = target
        body = json.dumps(claim.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Avlabel-Event": claim.event,
                   "X-Avlabel-Signature": signature(secret, body), "User-Agent": "avlabel-webhooks"}
        status: int | None = None
        error: str | None = None
        try:
            resp = await self.client.post(url, content=body, headers=headers)
            status = resp.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        outcome = await self.db.run(self._finish, claim, url, status, error)
        if outcome != "delivered":
            log.warning("webhook to account %s failed (attempt %d: %s; now %s)", claim.account_id,
                        claim.attempt, error or status, outcome)

    async def _loop(self) -> None:
        while True:
            try:
                claims = await self.db.run(self._claim)
                # One account's deliveries go in order; accounts are independent.
                for claim in claims:
                    await self._send(claim)
                if len(claims) == BATCH:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery loop error")
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.poll)
            except TimeoutError:
                pass
            self.wake.clear()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

"""Signed webhooks to publishers about actions on their content and account (Art. 14 notices).

The body is signed with HMAC-SHA256 under the account's webhook secret
(`X-Avlabel-Signature: sha256=<hex>`). Delivery runs in the background with a timeout and a few
retries; every attempt is recorded, and a failure is logged, never raised to the moderator.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

import httpx
from sqlalchemy import select

from backend.store.db import Database, utcnow
from backend.store.schema import accounts, webhook_deliveries

log = logging.getLogger(__name__)
RETRY_DELAYS = (0.0, 2.0, 8.0)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Webhooks:
    def __init__(self, db: Database, timeout: float) -> None:
        self.db = db
        self.timeout = timeout
        self.tasks: set[asyncio.Task[None]] = set()
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    def notify(self, account_id: str | None, event: dict[str, Any]) -> None:
        if not account_id:
            return
        task = asyncio.create_task(self._deliver(account_id, event))
        self.tasks.add(task)  # keep a reference until it finishes
        task.add_done_callback(self.tasks.discard)

    def _target(self, account_id: str) -> tuple[str, str] | None:
        with self.db.read() as conn:
            row = conn.execute(select(accounts.c.webhook_url, accounts.c.webhook_secret)
                               .where(accounts.c.id == account_id)).first()
        return (row.webhook_url, row.webhook_secret) if row and row.webhook_url and row.webhook_secret else None

    def _record(self, account_id: str, event: str, url: str, attempt: int, status: int | None,
                error: str | None) -> None:
        with self.db.tx() as conn:
            conn.execute(webhook_deliveries.insert().values(
                account_id=account_id, event=event, url=url, status_code=status, error=error, attempt=attempt,
                created_at=utcnow()))

    async def _deliver(self, account_id: str, event: dict[str, Any]) -> None:
        try:
            target = await self.db.run(self._target, account_id)
            if target is None:
                return
            url, secret = target
            payload = {**event, "delivery_id": secrets.token_hex(8), "account_id": account_id}
            body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", "X-Avlabel-Event": str(event.get("event", "")),
                       "X-Avlabel-Signature": signature(secret, body), "User-Agent": "avlabel-webhooks"}
            for attempt, delay in enumerate(RETRY_DELAYS, start=1):
                await asyncio.sleep(delay)
                status: int | None = None
                error: str | None = None
                try:
                    resp = await self.client.post(url, content=body, headers=headers)
                    status = resp.status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                await self.db.run(self._record, account_id, str(event.get("event")), url, attempt, status, error)
                if status is not None and 200 <= status < 300:
                    return
                log.warning("webhook to account %s failed (attempt %d: %s)", account_id, attempt, error or status)
        except Exception:
            log.exception("webhook delivery to account %s failed", account_id)

    async def close(self) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.timeout)
            for task in self.tasks:
                task.cancel()
        await self.client.aclose()

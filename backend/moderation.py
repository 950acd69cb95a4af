"""A moderator's action from start to finish: the transaction, then what follows the commit
(label caches, the fingerprint lists, the publisher's webhook). Shared by the API and the console.
Appeal decisions (`decide_appeal`) take the same path."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend import appeals, cases, policy_catalogue
from backend import webhooks as outbox

if TYPE_CHECKING:
    from backend.services import Services

log = logging.getLogger(__name__)


async def start(services: Services) -> None:
    """Start this process's webhook delivery loop; it also sends what a previous run left pending."""
    services.webhooks.start()


def catalogue(services: Services) -> policy_catalogue.Catalogue:
    path = services.settings.policy_catalogue
    return policy_catalogue.load(path) if path else policy_catalogue.load()


def notice_links(services: Services, effects: cases.Effects) -> None:
    """The publisher's notice carries its statement page and appeal link (a token for this decision)."""
    if effects.decision_id is None or not effects.publisher_id:
        return
    token = appeals.link_token(services.settings.secret_key.get_secret_value(), effects.decision_id,
                               effects.publisher_id)
    base = services.settings.public_url.rstrip("/")
    effects.event["appeal_url"] = f"{base}{appeals.appeal_path(effects.decision_id)}#token={token}"


async def perform(services: Services, case_id: str, req: cases.ActionRequest, actor: str) -> dict[str, Any]:
    settings = services.settings

    def run() -> tuple[cases.Effects, bool]:
        with services.db.tx() as conn:
            effects = cases.apply(conn, case_id, req, actor, catalogue(services), settings.appeal_days,
                                  data_dir=settings.data_dir)
            notice_links(services, effects)
            # The webhook is queued in the action's own transaction: both commit, or neither.
            queued = req.action != "acknowledge" and outbox.enqueue(conn, effects.publisher_id, effects.event)
            return effects, queued

    effects, queued = await services.db.run(run)
    await after_commit(services, effects, req, actor, queued)
    return effects.event


async def decide_appeal(services: Services, appeal_id: str, decision: appeals.Decision,
                        actor: str) -> dict[str, Any]:
    settings = services.settings

    def run() -> tuple[cases.Effects, bool]:
        with services.db.tx() as conn:
            effects = appeals.decide(conn, appeal_id, decision, actor, catalogue(services), settings.appeal_days)
            queued = outbox.enqueue(conn, effects.publisher_id, effects.event)
            return effects, queued

    effects, queued = await services.db.run(run)
    await after_commit(services, effects, decision.replacement, actor, queued)
    return effects.event


async def after_commit(services: Services, effects: cases.Effects, req: cases.ActionRequest | None, actor: str,
                       queued: bool) -> None:
    # The shared cache key is dropped, so every worker's next label request rebuilds from the database.
    for content_id in effects.content_ids:
        await services.labels.invalidate(content_id)
    for url in effects.registered_urls:
        await services.labels.invalidate_src(url)
    fp = services.fingerprints
    for list_name, ref in effects.unlisted:
        try:
            await services.db.run(fp.remove, list_name, ref, actor)
        except Exception:
            log.exception("could not remove %s from the %s fingerprint list", ref, list_name)
    if effects.fingerprint is not None and req is not None:
        path, mime, list_name, ref = effects.fingerprint

        # The note reaches public verify answers (`detection.match.note`): the public statement or the
        # refutation notice, never the moderator's reasons (those stay with the case).
        note: dict[str, Any] = {"case_id": effects.case_id, **(req.refutation or {})} if list_name == "refuted" else {
            "case_id": effects.case_id, "public_statement": req.public_statement}

        def add() -> None:
            if path and Path(path).is_file():
                fp.add_file(Path(path), mime, list_name, ref, note, actor=actor)

        try:
            await services.db.run(add)
        except Exception:
            log.exception("could not add %s to the %s fingerprint list", ref, list_name)
    if queued:
        services.webhooks.notify()


async def close(services: Services) -> None:
    await services.webhooks.close()

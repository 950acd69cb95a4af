"""A moderator's action from start to finish: the transaction, then what follows the commit
(label caches, the fingerprint lists, the publisher's webhook). Shared by the API and the console."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend import cases
from backend import webhooks as outbox

if TYPE_CHECKING:
    from backend.services import Services

log = logging.getLogger(__name__)


async def start(services: Services) -> None:
    """Start this process's webhook delivery loop; it also sends what a previous run left pending."""
    services.webhooks.start()


async def perform(services: Services, case_id: str, req: cases.ActionRequest, actor: str) -> dict[str, Any]:
    def run() -> tuple[cases.Effects, bool]:
        with services.db.tx() as conn:
            effects = cases.apply(conn, case_id, req, actor)
            # The webhook is queued in the action's own transaction: both commit, or neither.
            queued = req.action != "acknowledge" and outbox.enqueue(conn, effects.publisher_id, effects.event)
            return effects, queued

    effects, queued = await services.db.run(run)
    # The shared cache key is dropped, so every worker's next label request rebuilds from the database.
    for content_id in effects.content_ids:
        await services.labels.invalidate(content_id)
    fp = services.fingerprints
    if effects.fingerprint is not None:
        path, mime, list_name, ref = effects.fingerprint

        def add() -> None:
            if path and Path(path).is_file():
                fp.add_file(Path(path), mime, list_name, ref, {"case_id": case_id, "reasons": req.reasons},
                            actor=actor)

        try:
            await services.db.run(add)
        except Exception:
            log.exception("could not add %s to the %s fingerprint list", ref, list_name)
    if queued:
        services.webhooks.notify()
    return effects.event


async def close(services: Services) -> None:
    await services.webhooks.close()

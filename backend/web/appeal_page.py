"""The publisher's notice page /appeal/{decision_id}: the decision's statement of reasons and the appeal
form. The link in the notice carries its token in the fragment (#token=…), which browsers never send in
the request line; appeal.js posts it in the form body, so it stays out of logs, history and Referers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend import appeals
from backend.domain_errors import DomainError, InvalidInput
from backend.errors import status_of
from backend.routes.appeals import decision_id_of
from backend.web.pages import render


async def page(request: Request) -> Response:
    services = request.app.state.services
    raw_id = request.path_params["decision_id"][:20]
    view: dict[str, Any] | None = None
    error = None
    filed = False
    status = 200
    token = ""
    if request.method == "POST":
        form = await request.form()
        token = str(form.get("token", ""))[:100]
        intent = str(form.get("intent", "view"))
        grounds = str(form.get("grounds", ""))[:appeals.MAX_GROUNDS + 1]
        secret = services.settings.secret_key.get_secret_value()
        days = services.settings.appeal_days

        def run() -> dict[str, Any]:
            decision_id = decision_id_of(raw_id)
            with services.db.tx() as conn:
                account_id = appeals.check_link(conn, secret, decision_id, token)
                if intent == "appeal":
                    appeals.file_publisher(conn, decision_id, account_id, appeals.parse_grounds({"grounds": grounds}),
                                           days)
            with services.db.read() as conn:
                return appeals.decision_view(conn, decision_id, account_id, days)

        try:
            view = await services.db.run(appeals.once, run)
            filed = intent == "appeal"
        except DomainError as exc:
            error, status = exc.message, status_of(exc)
            if isinstance(exc, InvalidInput) and intent == "appeal":
                # The grounds were refused: show the decision again with the message.
                try:
                    view = await services.db.run(lambda: _view(services, raw_id, secret, token, days))
                except DomainError:
                    view = None
    return render("appeal.html", status=status, decision_id=raw_id, view=view, error=error, filed=filed,
                  token=token, min_grounds=appeals.MIN_GROUNDS, max_grounds=appeals.MAX_GROUNDS)


def _view(services: Any, raw_id: str, secret: str, token: str, days: int) -> dict[str, Any]:
    decision_id = decision_id_of(raw_id)
    with services.db.read() as conn:
        account_id = appeals.check_link(conn, secret, decision_id, token)
        return appeals.decision_view(conn, decision_id, account_id, days)


def routes() -> list[Route]:
    return [Route("/appeal/{decision_id}", page, methods=["GET", "POST"])]

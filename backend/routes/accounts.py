"""Accounts and roles (Art. 8, 14): admins create accounts, issue and revoke API keys, verify a
publisher's identity and set console passwords; an account reads and edits its own profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import accounts, passwords
from backend.auth import current_account, require_role
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.store.schema import accounts as accounts_table


def _id(request: Request) -> str:
    return str(request.path_params["account_id"])[:64]


async def create(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, "admin")
    body = await read_json_object(request)
    name, role, contact = body.get("name"), body.get("role"), body.get("complaint_contact")
    if not isinstance(name, str) or not isinstance(role, str):
        raise ApiError(400, "invalid_account", "give `name` and `role` as strings")
    if contact is not None and (not isinstance(contact, str) or len(contact) > 300):
        raise ApiError(400, "invalid_complaint_contact", "complaint_contact must be a string of at most 300 chars")

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            account = accounts.create_account(conn, name, role, actor=admin.id, complaint_contact=contact)
            return accounts.view(accounts.get_row(conn, account.id))

    return JSONResponse(await services.db.run(run), status_code=201)


async def list_accounts(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, "admin", "auditor")

    def run() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            rows = conn.execute(select(accounts_table).order_by(accounts_table.c.created_at))
            return [accounts.view(r) for r in rows]

    return JSONResponse({"accounts": await services.db.run(run)})


async def me(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)

    def run() -> dict[str, Any]:
        with services.db.read() as conn:
            return accounts.view(accounts.get_row(conn, account.id))

    return JSONResponse(await services.db.run(run))


async def get_one(request: Request) -> Response:
    services = request.app.state.services
    caller = await current_account(request)
    account_id = _id(request)
    if caller.role not in ("admin", "auditor") and caller.id != account_id:
        # Another account's profile does not exist for a publisher or moderator.
        raise ApiError(404, "account_not_found", "no such account")

    def run() -> dict[str, Any]:
        with services.db.read() as conn:
            return accounts.view(accounts.get_row(conn, account_id))

    return JSONResponse(await services.db.run(run))


async def update(request: Request) -> Response:
    """An admin sets the complaint contact and webhook; an account may set its own complaint contact."""
    services = request.app.state.services
    caller = await current_account(request)
    account_id = _id(request)
    if caller.role != "admin" and caller.id != account_id:
        raise ApiError(404, "account_not_found", "no such account")
    body = await read_json_object(request)
    changes: dict[str, Any] = {k: body[k] for k in ("complaint_contact", "webhook_url") if k in body}
    if "webhook_url" in changes and caller.role != "admin":
        # The service POSTs to this URL; only an admin decides where it may reach.
        raise ApiError(403, "forbidden", "only an administrator sets the webhook URL")

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            secret = accounts.update_profile(conn, account_id, changes, caller.id)
            out = accounts.view(accounts.get_row(conn, account_id))
        if secret:
            out["webhook_secret"] = secret  # shown once
        return out

    # Label documents pick up a new complaint contact when their short cache expires.
    return JSONResponse(await services.db.run(run))


async def verify_identity(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, "admin")
    account_id = _id(request)
    body = await read_json_object(request)
    kind, number = body.get("kind"), body.get("number")
    if not isinstance(kind, str) or not isinstance(number, str):
        raise ApiError(400, "invalid_identity", "give `kind` and `number` as strings")
    secret_key = services.settings.secret_key.get_secret_value()

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            row = accounts.get_row(conn, account_id)
            if row.role != "publisher":
                raise ApiError(409, "not_a_publisher", "identity verification is for publisher accounts")
            accounts.verify_identity(conn, secret_key, account_id, kind, number, admin.id)
            return accounts.view(accounts.get_row(conn, account_id))

    return JSONResponse(await services.db.run(run))


async def issue_key(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, "admin")
    account_id = _id(request)

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            row = accounts.get_row(conn, account_id)
            if row.status == "closed":
                raise ApiError(409, "account_closed", "a closed account gets no new keys")
            token = accounts.issue_api_key(conn, account_id, actor=admin.id)
            keys = accounts.list_keys(conn, account_id)
        return {"api_key": token, "key": keys[-1]}

    return JSONResponse(await services.db.run(run), status_code=201)


async def list_keys(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, "admin")
    account_id = _id(request)

    def run() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            return accounts.list_keys(conn, account_id)

    return JSONResponse({"keys": await services.db.run(run)})


async def revoke_key(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, "admin")
    account_id = _id(request)
    key_id = str(request.path_params["key_id"])[:64]

    def run() -> None:
        with services.db.tx() as conn:
            accounts.revoke_key(conn, account_id, key_id, admin.id)

    await services.db.run(run)
    return Response(status_code=204)


async def set_password(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, "admin")
    account_id = _id(request)
    body = await read_json_object(request)
    password = body.get("password")

    def run() -> None:
        with services.db.tx() as conn:
            if accounts.get_row(conn, account_id).role not in passwords.CONSOLE_ROLES:
                raise ApiError(409, "not_a_console_role", "only admin, moderator and auditor accounts use the console")
            passwords.set_password(conn, account_id, password if isinstance(password, str) else "", admin.id)

    await services.db.run(run)
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route("/v1/accounts", create, methods=["POST"]),
        Route("/v1/accounts", list_accounts, methods=["GET"]),
        Route("/v1/accounts/me", me, methods=["GET"]),
        Route("/v1/accounts/{account_id}", get_one, methods=["GET"]),
        Route("/v1/accounts/{account_id}", update, methods=["PATCH"]),
        Route("/v1/accounts/{account_id}/identity", verify_identity, methods=["POST"]),
        Route("/v1/accounts/{account_id}/keys", issue_key, methods=["POST"]),
        Route("/v1/accounts/{account_id}/keys", list_keys, methods=["GET"]),
        Route("/v1/accounts/{account_id}/keys/{key_id}", revoke_key, methods=["DELETE"]),
        Route("/v1/accounts/{account_id}/password", set_password, methods=["POST"]),
    ]


_ERR = {"$ref": "#/components/responses/Error"}
_OBJ = {"application/json": {"schema": {"type": "object"}}}
_SEC: list[dict[str, list[str]]] = [{"bearer": []}]
_AID = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


def _json_body(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": props}}}}


def _op(summary: str, ok: str, errors: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "security": _SEC, **extra,
            "responses": {ok: {"description": "ok", **({"content": _OBJ} if ok != "204" else {})},
                          **{e: _ERR for e in errors}}}


OPENAPI = {
    "/v1/accounts": {
        "post": _op("Create an account (admin)", "201", ("400", "401", "403"), requestBody=_json_body({
            "name": {"type": "string", "maxLength": 200}, "role": {"type": "string", "enum": list(accounts.ROLES)},
            "complaint_contact": {"type": "string", "maxLength": 300}}, ["name", "role"])),
        "get": _op("List accounts (admin, auditor)", "200", ("401", "403")),
    },
    "/v1/accounts/me": {"get": _op("The calling account", "200", ("401",))},
    "/v1/accounts/{account_id}": {
        "get": _op("An account (admin, auditor, or itself)", "200", ("401", "404"), parameters=[_AID]),
        "patch": _op("Set complaint contact (admin or itself) and webhook (admin); a new webhook secret is shown once",
                     "200", ("400", "401", "403", "404"), parameters=[_AID], requestBody=_json_body({
                         "complaint_contact": {"type": ["string", "null"], "maxLength": 300},
                         "webhook_url": {"type": ["string", "null"], "maxLength": 500}}, [])),
    },
    "/v1/accounts/{account_id}/identity": {"post": _op(
        "Record a verified publisher identity (admin); only a keyed digest and a hint are kept", "200",
        ("400", "401", "403", "404", "409"), parameters=[_AID], requestBody=_json_body({
            "kind": {"type": "string", "enum": list(accounts.IDENTITY_KINDS)},
            "number": {"type": "string", "maxLength": 64}}, ["kind", "number"]))},
    "/v1/accounts/{account_id}/keys": {
        "post": _op("Issue an API key (admin); shown once", "201", ("401", "403", "404", "409"), parameters=[_AID]),
        "get": _op("List an account's keys (admin)", "200", ("401", "403", "404"), parameters=[_AID]),
    },
    "/v1/accounts/{account_id}/keys/{key_id}": {"delete": _op(
        "Revoke an API key (admin)", "204", ("401", "403", "404"),
        parameters=[_AID, {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
    "/v1/accounts/{account_id}/password": {"post": _op(
        "Set a console password (admin)", "204", ("400", "401", "403", "404", "409"), parameters=[_AID],
        requestBody=_json_body({"password": {"type": "string", "minLength": 12, "maxLength": 200}}, ["password"]))},
}

"""Accounts and roles (Art. 8, 14): admins create accounts, issue and revoke API keys, verify a
publisher's identity and set console passwords; an account reads and edits its own profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import accounts, outbound, passwords, registry_urls, staff_login
from backend.api_models import AccountCreate, AccountUpdate, IdentityIn, PasswordIn, StaffLoginIn, parse_body
from backend.auth import current_account, require_role
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.store.db import utcnow
from backend.store.schema import accounts as accounts_table
from backend.vocabulary import CONSOLE_ROLES, AccountStatus, Role


def _id(request: Request) -> str:
    return str(request.path_params["account_id"])[:64]


async def create(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    body = parse_body(AccountCreate, await read_json_object(request))
    name, role, contact = body.name, body.role, body.complaint_contact

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            account = accounts.create_account(conn, name, role, actor=admin.id, complaint_contact=contact)
            return accounts.view(accounts.get_row(conn, account.id))

    return JSONResponse(await services.db.run(run), status_code=201)


async def list_accounts(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, Role.ADMIN, Role.AUDITOR)

    def run() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            rows = conn.execute(select(accounts_table).order_by(accounts_table.c.created_at))
            return [accounts.view(r) for r in rows]

    return JSONResponse({"accounts": await services.db.run(run)})


async def me(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request, allow_inactive=True)  # so a suspended account can see why

    def run() -> dict[str, Any]:
        with services.db.read() as conn:
            return accounts.view(accounts.get_row(conn, account.id))

    return JSONResponse(await services.db.run(run))


async def get_one(request: Request) -> Response:
    services = request.app.state.services
    caller = await current_account(request)
    account_id = _id(request)
    if caller.role not in (Role.ADMIN, Role.AUDITOR) and caller.id != account_id:
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
    if caller.role != Role.ADMIN and caller.id != account_id:
        raise ApiError(404, "account_not_found", "no such account")
    body = await read_json_object(request)
    changes = parse_body(AccountUpdate, body).changes()
    if "webhook_url" in changes and caller.role != Role.ADMIN:
        # The service POSTs to this URL; only an admin decides where it may reach.
        raise ApiError(403, "forbidden", "only an administrator sets the webhook URL")
    if "status" in body and caller.role != "admin":
        raise ApiError(403, "forbidden", "only an administrator sets an account's status")
    if isinstance(changes.get("webhook_url"), str):
        # Refused up front (400) rather than failing at every delivery.
        await outbound.check_url(changes["webhook_url"], outbound.Policy.from_settings(services.settings))

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            if "status" in body:
                accounts.set_staff_status(conn, account_id, body["status"], caller.id)
                if not changes:
                    return accounts.view(accounts.get_row(conn, account_id))
            secret = accounts.update_profile(conn, account_id, changes, caller.id)
            out = accounts.view(accounts.get_row(conn, account_id))
        if secret:
            out["webhook_secret"] = secret  # shown once
        return out

    # Label documents pick up a new complaint contact when their short cache expires.
    return JSONResponse(await services.db.run(run))


async def verify_identity(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    account_id = _id(request)
    body = parse_body(IdentityIn, await read_json_object(request))
    kind, number = body.kind, body.number
    secret_key = services.settings.secret_key.get_secret_value()

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            row = accounts.get_row(conn, account_id)
            if row.role != Role.PUBLISHER:
                raise ApiError(409, "not_a_publisher", "identity verification is for publisher accounts")
            accounts.verify_identity(conn, secret_key, account_id, kind, number, admin.id)
            return accounts.view(accounts.get_row(conn, account_id))

    return JSONResponse(await services.db.run(run))


async def issue_key(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    account_id = _id(request)

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            row = accounts.get_row(conn, account_id)
            if row.status == AccountStatus.CLOSED:
                raise ApiError(409, "account_closed", "a closed account gets no new keys")
            token = accounts.issue_api_key(conn, account_id, actor=admin.id)
            keys = accounts.list_keys(conn, account_id)
        return {"api_key": token, "key": keys[-1]}

    return JSONResponse(await services.db.run(run), status_code=201)


async def list_keys(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, Role.ADMIN)
    account_id = _id(request)

    def run() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            return accounts.list_keys(conn, account_id)

    return JSONResponse({"keys": await services.db.run(run)})


async def revoke_key(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    account_id = _id(request)
    key_id = str(request.path_params["key_id"])[:64]

    def run() -> None:
        with services.db.tx() as conn:
            accounts.revoke_key(conn, account_id, key_id, admin.id)

    await services.db.run(run)
    return Response(status_code=204)


async def set_password(request: Request) -> Response:
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    account_id = _id(request)
    password = parse_body(PasswordIn, await read_json_object(request)).text()

    def run() -> None:
        with services.db.tx() as conn:
            if accounts.get_row(conn, account_id).role not in CONSOLE_ROLES:
                raise ApiError(409, "not_a_console_role", "only admin, moderator and auditor accounts use the console")
            passwords.set_password(conn, account_id, password, admin.id)

    await services.db.run(run)
    return Response(status_code=204)


async def set_login(request: Request) -> Response:
    """An admin gives a staff account the username and/or e-mail it signs in to the console with."""
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    account_id = _id(request)
    username, email = parse_body(StaffLoginIn, await read_json_object(request)).values()

    def run() -> dict[str, Any]:
        with services.db.tx() as conn:
            staff_login.set_login(conn, account_id, username, email, admin.id)
            return accounts.view(accounts.get_row(conn, account_id))

    return JSONResponse(await services.db.run(run))


async def add_origin(request: Request) -> Response:
    """Lets a publisher register hosting URLs under this origin (and path prefix); an admin's decision."""
    services = request.app.state.services
    admin = await require_role(request, Role.ADMIN)
    account_id = _id(request)
    body = await read_json_object(request)

    def run() -> tuple[dict[str, Any], bool]:
        with services.db.tx() as conn:
            return registry_urls.assign(conn, account_id, body.get("origin"), body.get("path_prefix"), admin.id,
                                        utcnow())

    view, created = await services.db.run(run)
    return JSONResponse(view, status_code=201 if created else 200)


async def list_origins(request: Request) -> Response:
    services = request.app.state.services
    caller = await current_account(request)
    account_id = _id(request)
    if caller.role not in ("admin", "auditor") and caller.id != account_id:
        raise ApiError(404, "account_not_found", "no such account")

    def run() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            accounts.get_row(conn, account_id)
            return registry_urls.origins_of(conn, account_id)

    return JSONResponse({"origins": await services.db.run(run)})


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
        Route("/v1/accounts/{account_id}/login", set_login, methods=["POST"]),
        Route("/v1/accounts/{account_id}/origins", add_origin, methods=["POST"]),
        Route("/v1/accounts/{account_id}/origins", list_origins, methods=["GET"]),
    ]

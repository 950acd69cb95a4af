"""Request authentication: `Authorization: Bearer <api key>` resolved to an account and role."""

from __future__ import annotations

from starlette.requests import Request

from backend import accounts
from backend.accounts import Account
from backend.errors import ApiError
from backend.vocabulary import Role


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


INACTIVE = ("suspended", "closed")


async def current_account(request: Request, allow_inactive: bool = False) -> Account:
    """The key's account, checked against its status on every request: a suspended or closed account's
    keys are refused (403) everywhere except `allow_inactive` reads of its own record."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "unauthenticated", "an API key is required (Authorization: Bearer …)",
                       {"WWW-Authenticate": "Bearer"})
    db = request.app.state.services.db

    def load() -> Account | None:
        with db.read() as conn:
            return accounts.authenticate(conn, token)

    account: Account | None = await db.run(load)
    if account is None:
        raise ApiError(401, "invalid_api_key", "the API key is not valid", {"WWW-Authenticate": "Bearer"})
    if account.status in INACTIVE and not allow_inactive:
        raise ApiError(403, f"account_{account.status}",
                       f"this account is {account.status}; its API keys are refused (see the notice sent to it)")
    return account


async def require_role(request: Request, *roles: Role) -> Account:
    account = await current_account(request)
    if account.role not in roles:
        raise ApiError(403, "forbidden", f"this action needs one of the roles: {', '.join(roles)}")
    return account

"""Query parameters shared by list endpoints, clamped so no value can overflow a database integer."""

from __future__ import annotations

from starlette.requests import Request

from backend.errors import ApiError

MAX_OFFSET = 1_000_000
MAX_SEQ = 2**62


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"invalid_{name}", f"`{name}` must be an integer") from exc
    return min(max(value, lo), hi)

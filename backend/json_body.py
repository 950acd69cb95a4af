"""JSON request bodies: capped while they arrive, strictly UTF-8, nesting and strings checked.

Everything a route can read is also something it can store and echo back: no lone surrogates (they cannot
be encoded to UTF-8 for the database or the answer), no NaN/Infinity (not JSON, and refused by the
answer's encoder), no nesting deeper than `MAX_DEPTH`. Every such body is a 400 `invalid_json`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from backend.errors import ApiError

MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 64 * 1024


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_json", message)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"a JSON body is at most {limit} bytes", {"Connection": "close"})


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check(value: Any) -> None:
    """Depth and string checks on a parsed value, iteratively (a deep value must not recurse here)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _invalid(f"the body is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if _has_surrogate(key):
                        raise _invalid("the body has a lone surrogate (\\ud800-\\udfff) in a key")
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str) and _has_surrogate(item):
            raise _invalid("the body has a lone surrogate (\\ud800-\\udfff) in a string")


def parse(raw: bytes) -> Any:
    """Bytes → a checked JSON value; 400 `invalid_json` for anything else."""
    try:
        text = raw.decode("utf-8")  # not json.loads(bytes): that guesses UTF-16/32 too
    except UnicodeDecodeError as exc:
        raise _invalid("the body is not valid UTF-8") from exc
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _invalid(f"the body is nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers beyond Python's digit limit
        raise _invalid("the body is not valid JSON") from exc
    check(value)
    return value


def _limit(request: Request, limit: int | None) -> int:
    if limit is not None:
        return limit
    settings = getattr(request.app.state, "settings", None)
    return int(getattr(settings, "max_json_bytes", DEFAULT_MAX_BYTES))


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as more than `limit` bytes have arrived (or are announced)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise _too_large(limit)
            parts.append(chunk)
    except ClientDisconnect as exc:
        raise ApiError(400, "client_disconnected", "the request body was interrupted") from exc
    return b"".join(parts)


async def read_json(request: Request, limit: int | None = None) -> Any:
    """Any checked JSON value (AVLABEL_MAX_JSON_BYTES unless `limit`)."""
    return parse(await read_capped(request, _limit(request, limit)))


async def read_json_object(request: Request, limit: int | None = None) -> dict[str, Any]:
    """The body as a checked JSON object; 400 `invalid_json` for anything else."""
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    return body

"""The one error shape every endpoint returns: {"error": {"code", "message"}}.

Domain modules raise the typed errors of backend/domain_errors.py; this edge gives each class its status
code. `ApiError` (a status code chosen by the route) is for HTTP concerns only: authentication headers,
request framing, CORS."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.domain_errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    RateLimited,
    TooLarge,
    Unavailable,
    Unprocessable,
    UnsupportedMedia,
)

log = logging.getLogger(__name__)

# Each domain error class → the status code it answers with (the first match along the class's MRO).
STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMedia: 415,
    Unprocessable: 422,
    RateLimited: 429,
    LimitExceeded: 500,
    Unavailable: 503,
}


class ApiError(DomainError):
    """An error whose status code (and headers) the HTTP layer chooses."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message)
        self.status = status
        self.headers = headers or {}


def status_of(exc: DomainError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def headers_of(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, ApiError):
        return exc.headers
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def domain_error_response(exc: DomainError, extra_headers: dict[str, str] | None = None) -> JSONResponse:
    return error_response(status_of(exc), exc.code, exc.message, {**headers_of(exc), **(extra_headers or {})})


async def api_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "payload_too_large"}


async def http_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; it has been logged")


ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


def exception_handlers() -> dict[type[Exception], ExceptionHandler]:
    """The app's handlers: domain errors by class, starlette's own HTTP errors, and the last resort."""
    return {DomainError: api_error_handler, HTTPException: http_error_handler, Exception: unhandled_error_handler}

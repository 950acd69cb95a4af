"""Request body limits counted while streaming, and per-client rate limits."""

from __future__ import annotations

import math

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import ApiError, error_response


class BodyTooLarge(Exception):
    pass


class BodyStalled(Exception):
    pass


class BodyLimitMiddleware:
    """Counts request body bytes as they arrive; Content-Length is only an early hint, never trusted.

    A body that stays silent for `read_timeout` seconds (a slow or stalled client holding a connection and
    a request task) is cut off with 408 and the connection closed.
    """

    def __init__(self, app: ASGIApp, default_limit: int, upload_limit: int, upload_paths: tuple[str, ...],
                 read_timeout: float = math.inf) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.upload_limit if path.startswith(self.upload_paths) else self.default_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, limit)
            return
        seen = 0
        started = False
        body_done = False

        async def counting_receive() -> Message:
            nonlocal seen, body_done
            if body_done:
                # After the body only http.disconnect can come, and a response may wait for it for long.
                return await receive()
            with anyio.move_on_after(self.read_timeout) as wait:
                message = await receive()
            if wait.cancelled_caught:
                raise BodyStalled()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(scope, receive, send, limit)
        except BodyStalled:
            if not started:
                response = error_response(
                    408, "body_timeout",
                    f"the request body stalled for more than {self.read_timeout:g} s", {"Connection": "close"})
                await response(scope, receive, send)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(413, "payload_too_large", f"request body exceeds the limit of {limit} bytes",
                                  {"Connection": "close"})
        await response(scope, receive, send)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def rate_limit(request: Request, bucket: str, limit: int, window_seconds: int) -> None:
    cache = request.app.state.services.cache
    count = await cache.hit(f"{bucket}:{client_address(request)}", window_seconds)
    if count > limit:
        raise ApiError(429, "rate_limited", f"too many requests; limit is {limit} per {window_seconds} s",
                       {"Retry-After": str(window_seconds)})

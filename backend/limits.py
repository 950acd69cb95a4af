"""Request body limits counted while streaming, and per-client rate limits (real clients behind trusted
proxies, IPv6 per /64)."""

from __future__ import annotations

import functools
import ipaddress
import math

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.domain_errors import RateLimited
from backend.errors import error_response


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


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(value.strip().strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_address(request: Request) -> str:
    """The real client: the peer, unless the peer is a trusted proxy (`AVLABEL_TRUSTED_PROXIES`); then
    X-Forwarded-For is read from the right, skipping trusted hops. An untrusted peer's header is ignored,
    so nobody can pick their own rate-limit bucket."""
    peer = request.client.host if request.client else "unknown"
    trusted = _networks(tuple(request.app.state.services.settings.trusted_proxies))
    peer_ip = _ip(peer)
    if not trusted or peer_ip is None or not any(peer_ip in net for net in trusted):
        return peer
    hops = [h for value in request.headers.getlist("x-forwarded-for") for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # garbage from beyond the last trusted hop: that hop is the best we know
        client = str(ip)
        if not any(ip in net for net in trusted):
            break
    return client


def client_bucket(request: Request) -> str:
    """The rate-limit bucket of the client: its address, or its /64 for IPv6 (one host holds a whole /64)."""
    address = client_address(request)
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


async def rate_limit(request: Request, bucket: str, limit: int, window_seconds: int) -> None:
    await rate_limit_key(request, f"{bucket}:{client_bucket(request)}", limit, window_seconds)


async def rate_limit_key(request: Request, key: str, limit: int, window_seconds: int,
                         message: str | None = None) -> None:
    """Counted in Redis, or in this process while Redis fails (Cache.hit): never switched off."""
    cache = request.app.state.services.cache
    count = await cache.hit(key, window_seconds)
    if count > limit:
        raise RateLimited("rate_limited", message or f"too many requests; limit is {limit} per {window_seconds} s",
                          window_seconds)

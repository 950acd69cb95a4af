"""Headers every answer carries: `nosniff` on all of them (JSON, /media, pages), and on pages a
Content-Security-Policy `frame-ancestors` (setting `frame_ancestors`, default 'none'), so the verify
page, the console and the reporter page cannot be framed to trick a user into clicking."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def with_frame_ancestors(policy: str, ancestors: str) -> str:
    """`policy` with its frame-ancestors directive replaced by (or extended with) `ancestors`."""
    kept = [d.strip() for d in policy.split(";") if d.strip() and not d.strip().lower().startswith("frame-ancestors")]
    return "; ".join([*kept, f"frame-ancestors {ancestors}"])


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, frame_ancestors: str = "'none'") -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = with_frame_ancestors(
                        headers.get("content-security-policy", ""), self.frame_ancestors)
            await send(message)

        await self.app(scope, receive, send_with_headers)

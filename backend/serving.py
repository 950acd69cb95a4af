"""uvicorn as avlabel runs it: httptools plus a deadline and a size cap on each request head.

uvicorn times out idle keep-alive connections but not a client that sends its request line and headers
slowly (or not at all), so a few hundred such connections would be held open for ever. Here every head
must be complete within `AVLABEL_HEADER_TIMEOUT_SECONDS` of the connection opening or of the previous
response, and at most `AVLABEL_MAX_HEADER_BYTES` long; otherwise the connection gets 408 / 431 and is
closed. Stalled request *bodies* are cut off by `limits.BodyLimitMiddleware`.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.settings import load_settings


@cache
def _head_limits() -> tuple[float, int]:
    # Read once per process: uvicorn's worker processes rebuild settings from the environment too.
    settings = load_settings()
    return settings.header_timeout_seconds, settings.max_header_bytes


def _plain_response(status: bytes, message: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
            + str(len(message)).encode() + b"\r\nconnection: close\r\n\r\n" + message)


class HeadLimitedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout, self.max_head_bytes = _head_limits()
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = False  # between connect / the last answer and the next complete head
        self._in_head = False  # the next request has begun and its head is not complete yet
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._awaiting_head = True
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, status: bytes, message: bytes) -> None:
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(_plain_response(status, message))
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._awaiting_head:
            return
        if self._in_head:
            self._refuse(b"408 Request Timeout", b"the request headers did not arrive in time")
        elif not self.transport.is_closing():
            self.transport.close()  # idle: nothing was asked, so nothing is answered (as on keep-alive)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Counted when the chunk ends inside a head and began inside it, or began after a request whose
        # body was read to its end: then all of it is head. (When an answer went out before its request's
        # body was read, the rest of that body may precede the next head in a chunk: not counted.)
        previous_body_done = self.cycle is None or not self.cycle.more_body
        counting = self._in_head or (self._awaiting_head and previous_body_done)
        super().data_received(data)
        if counting and self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(b"431 Request Header Fields Too Large", b"the request headers are too large")

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._awaiting_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # a queued request's head is already complete
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm_head_timer()  # the next request's head has the same deadline

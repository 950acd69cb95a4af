"""Multipart uploads, parsed as they arrive.

The `file` part goes straight into its destination file (under the data directory's scratch area), hashed
with SHA-256 on the way, so every uploaded byte is written once and never read back just to hash it. The
event loop only receives: parsing, hashing and writing run in a writer thread, in batches of about 1 MiB,
while the loop receives the next ones. The size limit is counted as bytes arrive by
`limits.BodyLimitMiddleware`; the other parts are short text fields.
"""

from __future__ import annotations

import codecs
import hashlib
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from backend.domain_errors import BadMedia
from backend.errors import ApiError

BATCH_BYTES = 1 << 20  # handed to the writer thread at once: few hand-overs, bounded memory
IN_FLIGHT = 2  # batches received and not yet written
MAX_FIELD_BYTES = 64 * 1024
MAX_PART_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class Upload:
    """The received `file` part: where it is, how long it is and its SHA-256, known without rereading."""

    path: Path
    size: int
    sha256: str


def _malformed(detail: str) -> ApiError:
    return ApiError(400, "malformed_multipart", f"the multipart body cannot be parsed: {detail}")


def _decode(raw: bytes, charset: str) -> str:
    # As Starlette's form parser did: the declared charset, latin-1 when the bytes do not fit it.
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("latin-1")


class _FormSink:
    """python-multipart's callbacks. Runs in a worker thread; one instance per request."""

    def __init__(self, boundary: bytes, charset: str, dest: Path, max_fields: int) -> None:
        self.charset = charset
        self.dest = dest
        self.max_fields = max_fields
        self.fields: dict[str, str] = {}
        self.field_count = 0
        self.upload: Upload | None = None
        self.ended = False
        self._out: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._in_file = False
        self._name = ""
        self._data = bytearray()
        self._disposition = b""
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._header_bytes = 0
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_end": self._end,
        })

    def feed(self, data: bytes) -> None:
        try:
            self.parser.write(data)
        except FormParserError as exc:
            raise _malformed(str(exc)) from exc

    def finish(self) -> None:
        try:
            self.parser.finalize()
        except FormParserError as exc:
            raise _malformed(str(exc)) from exc
        if not self.ended:
            raise _malformed("the body ends before its closing boundary")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    # --- callbacks --------------------------------------------------------------------------------

    def _part_begin(self) -> None:
        self._in_file = False
        self._name = ""
        self._data = bytearray()
        self._disposition = b""
        self._header_bytes = 0

    def _count_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            raise _malformed(f"a part's headers exceed {MAX_PART_HEADER_BYTES} bytes")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise _malformed('the Content-Disposition header field "name" must be provided')
        self._name = _decode(options[b"name"], self.charset)
        if self._name != "file" and b"filename" not in options:
            self.field_count += 1
            if self.field_count > self.max_fields:
                raise _malformed(f"too many fields; at most {self.max_fields}")
            return
        if self._name != "file":
            raise ApiError(400, "unexpected_file", f"unexpected file part {self._name!r}; use `file`")
        if self.upload is not None or self._out is not None:
            raise _malformed("too many files; send one `file` part")
        try:
            self._out = (self.dest / "upload").open("wb")
        except OSError as exc:
            raise BadMedia("bad_upload", "the upload could not be stored") from exc
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            chunk = memoryview(data)[start:end]
            self._hash.update(chunk)
            assert self._out is not None
            try:
                self._out.write(chunk)
            except OSError as exc:
                raise BadMedia("bad_upload", "the upload could not be stored") from exc
            self._size += end - start
            return
        if len(self._data) + (end - start) > MAX_FIELD_BYTES:
            raise _malformed(f"field {self._name!r} exceeds {MAX_FIELD_BYTES // 1024} KiB")
        self._data += data[start:end]

    def _part_end(self) -> None:
        if not self._in_file:
            self.fields[self._name] = _decode(bytes(self._data), self.charset)
            return
        self.close()
        self.upload = Upload(self.dest / "upload", self._size, self._hash.hexdigest())
        self._in_file = False

    def _end(self) -> None:
        self.ended = True


def _boundary_and_charset(content_type: str) -> tuple[bytes, str]:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed("missing boundary in multipart")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        charset = "latin-1"
    return boundary, charset


class _Writer:
    """One thread per upload feeding the sink, so the event loop receives the next batch while the last one
    is parsed, hashed and written. At most `IN_FLIGHT` batches wait: memory stays bounded."""

    def __init__(self, sink: _FormSink) -> None:
        self.sink = sink
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.room = threading.Semaphore(IN_FLIGHT)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="upload-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (data := self.queue.get()) is not None:
            try:
                if self.error is None:
                    self.sink.feed(data)
            except BaseException as exc:  # handed to the request task, raised there
                self.error = exc
            finally:
                self.room.release()

    async def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        if not self.room.acquire(blocking=False):
            await anyio.to_thread.run_sync(self.room.acquire)
        self.queue.put(data)

    async def close(self) -> None:
        """Wait for the thread to finish what it was given (also when the request is being cancelled)."""
        self.queue.put(None)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.thread.join)


async def read_form(request: Request, dest: Path, max_fields: int = 20) -> tuple[Upload | None, dict[str, str]]:
    """Stream the `file` part into `dest/upload`; return it (size, SHA-256) and the text fields."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_content_type", "send multipart/form-data with a `file` part")
    boundary, charset = _boundary_and_charset(ctype)
    sink = _FormSink(boundary, charset, dest, max_fields)
    writer = _Writer(sink)
    batch: list[bytes] = []
    pending = 0
    try:
        try:
            async for chunk in request.stream():
                batch.append(chunk)
                pending += len(chunk)
                if pending >= BATCH_BYTES:
                    await writer.put(b"".join(batch))
                    batch, pending = [], 0
        except ClientDisconnect as exc:
            raise ApiError(400, "client_disconnected", "the upload was interrupted") from exc
        await writer.put(b"".join(batch))
        await writer.close()
        if writer.error is not None:
            raise writer.error
        await anyio.to_thread.run_sync(sink.finish)
    finally:
        await writer.close()
        sink.close()
    return sink.upload, sink.fields


def flag(fields: dict[str, str], name: str) -> bool | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, f"invalid_{name}", f"{name} must be true or false")

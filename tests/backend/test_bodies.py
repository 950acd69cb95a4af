"""Bounded request bodies through the running server: JSON bodies capped while they arrive (a 150 MiB one is
refused while server memory stays flat), nesting, lone surrogates, invalid UTF-8 and NaN answered 400 on
every JSON route (never 500), and slow clients timed out: a stalled body gets 408, a stalled or oversized
request head gets its connection closed, and the server keeps serving."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator

import psutil
import pytest

from tests.conftest import Server, make_server

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("bodies"), False, AVLABEL_BODY_READ_TIMEOUT_SECONDS="1",
                         AVLABEL_HEADER_TIMEOUT_SECONDS="1", AVLABEL_MAX_HEADER_BYTES="16384")
    server.start()
    yield server
    server.stop()


def _ids(srv: Server) -> dict[str, str]:
    with srv.client() as http:
        me = http.get("/v1/accounts/me", headers={"Authorization": f"Bearer {srv.keys['moderator']}"}).json()
    return {"moderator": me["id"]}


# (method, path, API key, a field the route reads): every route that takes a JSON body.
def json_routes(srv: Server) -> list[tuple[str, str, str | None, str]]:
    moderator = _ids(srv)["moderator"]
    return [
        ("POST", "/v1/reports", None, "description"),
        ("POST", "/v1/verify", None, "content_id"),
        ("POST", "/v1/accounts", "admin", "name"),
        ("PATCH", f"/v1/accounts/{moderator}", "admin", "complaint_contact"),
        ("POST", f"/v1/accounts/{moderator}/identity", "admin", "number"),
        ("POST", f"/v1/accounts/{moderator}/password", "admin", "password"),
        ("POST", f"/v1/accounts/{moderator}/login", "admin", "username"),
        ("POST", "/v1/cases/c_nope/actions", "moderator", "note"),
        ("POST", "/v1/contents/nope/urls", "publisher", "urls"),
        ("POST", "/v1/appeals", "publisher", "grounds"),
        ("POST", "/v1/appeals/ap_nope/decision", "moderator", "reasons"),
        ("POST", "/v1/reports/r_nope/contest", "publisher", "grounds"),  # any Bearer: the body is read first
    ]


def nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


BAD_BODIES = {
    "nested-5000": nested(5000),
    "nested-33": nested(32),  # the object plus 32 arrays: 33 levels
    "lone-surrogate": None,  # built per route: the route's own field set to "\ud800"
    "lone-surrogate-key": b'{"\\udfff": 1}',
    "invalid-utf8": b'{"a": "\xff\xfe"}',
    "nan": b'{"a": NaN}',
    "huge-integer": b'{"a": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_hostile_json_is_400_on_every_json_route(srv: Server, case: str) -> None:
    with srv.client() as http:
        for method, path, key, field in json_routes(srv):
            body = BAD_BODIES[case] or b'{"%s": "\\ud800"}' % field.encode()
            headers = {"Content-Type": "application/json"}
            if key:
                headers["Authorization"] = f"Bearer {srv.keys[key]}"
            resp = http.request(method, path, content=body, headers=headers)
            assert resp.status_code == 400, (case, path, resp.status_code, resp.text)
            assert resp.json()["error"]["code"] == "invalid_json", (case, path, resp.text)
        assert http.get("/healthz").status_code == 200


def test_nesting_up_to_the_limit_is_accepted(srv: Server) -> None:
    with srv.client() as http:
        # 32 levels: the object and 31 arrays. The lookup then says what it says about the reference.
        resp = http.post("/v1/verify", content=nested(31), headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "missing_reference", resp.text


def _rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, _rss(pid), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.01):
            self.peak = max(self.peak, _rss(self.pid))

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _send_until_answered(srv: Server, head: bytes, total: int) -> tuple[bytes, int]:
    """Send `head` then up to `total` body bytes; stop as soon as the server answers. (answer, bytes sent)"""
    chunk = b" " * (256 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        sock.sendall(head)
        answer = b""
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except OSError:  # reset after the server answered and closed
                break
            sent += len(chunk)
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
    return answer, sent


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_150_mib_json_verify_is_refused_early_with_flat_memory(srv: Server, declared: bool) -> None:
    assert srv.proc is not None
    total = 150 * MIB
    length = f"Content-Length: {total}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
    head = (f"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{length}\r\n").encode()
    if not declared:
        head += b"%x\r\n" % total  # one huge chunk: the body bytes that follow are its content
    head += b'{"content_id": "'
    with PeakRss(srv.proc.pid) as rss:
        before = rss.peak
        answer, sent = _send_until_answered(srv, head, total)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"payload_too_large" in answer
    assert sent < 32 * MIB  # refused while most of the body was still to come
    assert rss.peak - before < 50 * MIB, (before, rss.peak)
    with srv.client() as http:
        assert http.get("/healthz").status_code == 200
        # A request refused before its (large) body was read, then the next one on the same connection:
        # the rest of that body is not taken for the next request's head.
        refused = http.post("/v1/sign", files={"file": ("x.bin", b"\0" * (600 * 1024))})
        assert refused.status_code == 401
        assert http.get("/healthz").status_code == 200


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    try:
        while data := sock.recv(65536):
            out += data
    except OSError:
        pass
    return out


def test_stalled_body_gets_408_and_the_connection_closed(srv: Server) -> None:
    boundary = "stall"
    head = (f"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: 1000000\r\n\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n').encode() + b"\0" * 1000
    json_head = (b"POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\nAuthorization: Bearer " + srv.keys["admin"].encode() + b"\r\n\r\n{\"na")
    for sent in (head, json_head):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
            sock.sendall(sent)
            answer = _read_all(sock)  # returns once the server closes the connection
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"body_timeout" in answer
    # The stalled upload left nothing behind in the scratch area.
    assert not [p for p in (srv.data_dir / "tmp").rglob("*") if p.is_file() and p.parent != srv.data_dir / "tmp"]
    with srv.client() as http:
        assert http.get("/healthz").status_code == 200


def test_slow_request_heads_are_closed_and_the_server_keeps_serving(srv: Server) -> None:
    # 201 connections that never finish their headers, as in the finding; each is closed by the server.
    socks = []
    for _ in range(201):
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(sock)
    try:
        answers = [_read_all(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), {a[:40] for a in answers}
    # A head that keeps growing is cut off at the size limit.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(64):
                sock.sendall(b"X-Pad: " + b"a" * 1024 + b"\r\n")
        except OSError:
            pass
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    # A keep-alive connection left idle after its answer, and one that never sends a byte, are closed
    # without an unasked-for answer; fresh clients are served.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1, answer[:400]
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        assert _read_all(sock) == b""
    with srv.client() as http:
        assert http.get("/healthz").status_code == 200

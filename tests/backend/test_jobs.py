"""Queued verification over real HTTP, real PostgreSQL and Redis, and real worker processes.

Uploads above AVLABEL_ASYNC_VERIFY_BYTES (1000 bytes here) answer 202 with a job; workers are real
`avlabel worker` processes, killed with SIGKILL mid-job where the test says so. The analysis is made
slow or memory-hungry with the documented test knobs AVLABEL_TEST_JOB_* (ignored in production).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import psycopg
import pytest
import redis

from tests import media_factory
from tests.conftest import REDIS_URL, ROOT, Server, base_env, free_port, fresh_pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.server]

JOB_ENV = {"AVLABEL_ASYNC_VERIFY_BYTES": "1000", "AVLABEL_JOB_CLAIM_IDLE_SECONDS": "2"}
COMPARED = ("verdict", "sha256", "mime", "size", "content_id", "manifest", "validation_state", "failure_codes",
            "label_state", "display", "detection", "registry")


@pytest.fixture(scope="module")
def jobs_db() -> Iterator[str]:
    with fresh_pg_database("avlabel_jobs_") as url:
        yield url


def shared_server(data_dir: Path, pg_url: str, **extra: str) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(data_dir, DATABASE_URL=pg_url, REDIS_URL=REDIS_URL,
                   AVLABEL_REDIS_PREFIX=f"avltest:{secrets.token_hex(4)}:", **JOB_ENV)
    env.update(extra)
    return Server(data_dir, env)


def forget_stream(srv: Server) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(srv.env["AVLABEL_REDIS_PREFIX"] + "jobs:verify")
    client.close()


@pytest.fixture(scope="module")
def queued(tmp_path_factory: pytest.TempPathFactory, jobs_db: str) -> Iterator[Server]:
    """PostgreSQL + Redis, with the server's own in-process job consumer."""
    srv = shared_server(tmp_path_factory.mktemp("queued"), jobs_db, AVLABEL_MAX_IMAGE_PIXELS="400000")
    srv.start()
    yield srv
    srv.stop()
    forget_stream(srv)


@pytest.fixture(scope="module")
def no_worker(tmp_path_factory: pytest.TempPathFactory, jobs_db: str) -> Iterator[Server]:
    """PostgreSQL + Redis and no in-process consumer: only the `avlabel worker` processes a test starts."""
    srv = shared_server(tmp_path_factory.mktemp("workers"), jobs_db, AVLABEL_JOB_WORKERS="0")
    srv.start()
    yield srv
    srv.stop()
    forget_stream(srv)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """`avlabel worker` processes a test starts; any still running are killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_worker(srv: Server, started: list[subprocess.Popen[bytes]], **extra: str) -> subprocess.Popen[bytes]:
    log = (srv.data_dir / f"worker-{time.monotonic_ns()}.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "--data-dir", str(srv.data_dir), "worker"],
                            env={**srv.env, **extra}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    started.append(proc)
    return proc


def upload(srv: Server, blob: bytes, name: str = "media") -> tuple[int, dict[str, Any], dict[str, str]]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (name, blob)})
    return resp.status_code, resp.json(), dict(resp.headers)


def submit(srv: Server, blob: bytes) -> str:
    status, body, headers = upload(srv, blob)
    assert status == 202, body
    assert body["status"] == "queued" and body["status_url"] == f"/v1/jobs/{body['job_id']}"
    assert headers["location"] == body["status_url"]
    return str(body["job_id"])


def wait_job(srv: Server, job_id: str, timeout: float = 90, stage: str | None = None,
             status: str | None = None) -> dict[str, Any]:
    """Poll until the job ends (or reaches `stage`, or has `status`)."""
    deadline = time.monotonic() + timeout
    with srv.client() as http:
        while time.monotonic() < deadline:
            resp = http.get(f"/v1/jobs/{job_id}")
            assert resp.status_code == 200, resp.text
            doc: dict[str, Any] = resp.json()
            assert 0.0 <= doc["progress"] <= 1.0
            if status:
                reached = doc["status"] == status or doc["status"] in ("done", "failed")
            else:
                reached = doc["stage"] == stage if stage else doc["status"] in ("done", "failed")
            if reached:
                return doc
            time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {stage or 'an end'} in {timeout} s: {doc}")


def db_rows(srv: Server, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(srv.env["DATABASE_URL"]) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def analysis_processes(srv: Server) -> list[int]:
    """Analysis children still alive for this server's data directory."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"backend.jobs.analysis" in cmdline and str(srv.data_dir).encode() in environ:
            found.append(int(entry.name))
    return found


def garbage_mp4() -> bytes:
    """Announces MP4 (an ftyp box) and then holds nothing but noise."""
    return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(6000)


def frameless_mp4(path: Path) -> bytes:
    with av.open(str(path), "w") as container:
        container.metadata["comment"] = "padding " * 400  # above the 1000-byte queueing threshold
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 320, 240
        container.start_encoding()
    return path.read_bytes()


def unknown_codec_avi(path: Path) -> bytes:
    """An AVI whose video stream names a codec no decoder knows (MJPG renamed)."""
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes().replace(b"MJPG", b"QQQQ")


def sampleless_wav() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    body = (b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", 2000) + b"INFO"
            + b"\0" * 1996 + b"data" + struct.pack("<I", 0))
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("kind, code", [("frameless", "no_frames"), ("codec", "unsupported_codec"),
                                        ("sampleless", "no_samples"), ("huge_frames", "frame_too_large")])
def test_unusable_media_fails_its_job_with_a_clear_reason(queued: Server, tmp_path: Path, kind: str,
                                                          code: str) -> None:
    blob = {
        "frameless": lambda: frameless_mp4(tmp_path / "f.mp4"),
        "codec": lambda: unknown_codec_avi(tmp_path / "c.avi"),
        "sampleless": sampleless_wav,
        # 800x600 frames, over this server's AVLABEL_MAX_IMAGE_PIXELS of 400,000
        "huge_frames": lambda: media_factory.video(tmp_path / "h.mp4", seconds=0.2, size=(800, 600)).read_bytes(),
    }[kind]()
    job = wait_job(queued, submit(queued, blob))
    assert job["status"] == "failed" and job["error"]["code"] == code, job


def test_large_upload_is_queued_and_answers_like_the_sync_path(queued: Server, tmp_path: Path) -> None:
    media_factory.png(tmp_path / "in.png", seed=101)
    queued.cli("sign", str(tmp_path / "in.png"), "-o", str(tmp_path / "signed.png"), "--generator", "jobgen 1.0")
    blob = (tmp_path / "signed.png").read_bytes()
    assert len(blob) > 1000
    job = wait_job(queued, submit(queued, blob))
    assert job["status"] == "done" and job["progress"] == 1.0 and job["error"] is None
    assert job["attempts"] == 1 and job["finished_at"]
    result = job["result"]
    assert result["verdict"] == "signed_synthetic"
    assert result["manifest"]["generator"] == "jobgen 1.0"
    synchronous = json.loads(queued.cli("verify", str(tmp_path / "signed.png")).stdout)
    assert {k: result[k] for k in COMPARED} == {k: synchronous[k] for k in COMPARED}
    with queued.client() as http:
        assert "/v1/jobs/{job_id}" in http.get("/openapi.json").json()["paths"]
        missing = http.get("/v1/jobs/j_00000000000000000000")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"


def test_the_same_bytes_are_never_analysed_twice(queued: Server, tmp_path: Path) -> None:
    blob = media_factory.png(tmp_path / "unsigned.png", seed=102).read_bytes()
    first = wait_job(queued, submit(queued, blob))
    assert first["status"] == "done" and first["result"]["verdict"] == "unsigned"
    status, again, _ = upload(queued, blob)
    assert status == 200, again
    assert again["cached"] is True
    assert again["analysed_at"] == first["result"]["analysed_at"]
    assert again["verdict"] == "unsigned" and again["sha256"] == first["sha256"]
    sha = first["sha256"]
    assert db_rows(queued, "SELECT count(*) FROM jobs WHERE sha256 = %s", sha) == [(1,)]
    assert db_rows(queued, "SELECT count(*) FROM verify_results WHERE sha256 = %s", sha) == [(1,)]
    with queued.client() as http:  # a registry lookup by hash also finds the earlier analysis
        looked_up = http.post("/v1/verify", json={"sha256": sha}).json()
    assert looked_up["cached"] is True and looked_up["verdict"] == "unsigned"


def test_a_cached_analysis_does_not_outlive_a_prohibited_list_change(queued: Server, tmp_path: Path) -> None:
    blob = media_factory.png(tmp_path / "rumour.png", seed=131).read_bytes()
    first = wait_job(queued, submit(queued, blob))
    assert first["result"]["detection"]["verdict"] != "matches_prohibited"
    moderator = queued.create_account("moderator", "Jobs Moderator")
    with queued.client() as http:
        added = http.post("/v1/fingerprints/prohibited", headers={"Authorization": f"Bearer {moderator}"},
                          data={"ref": "case-jobs-1", "reason": "prohibited after the first analysis"},
                          files={"file": ("rumour.png", blob)})
    assert added.status_code == 201, added.text
    status, body, _ = upload(queued, blob)
    assert status == 202, body  # analysed again, not answered from the stale cache
    again = wait_job(queued, str(body["job_id"]))
    assert again["result"]["detection"]["verdict"] == "matches_prohibited"
    assert again["result"]["label_state"] == "blocked"


def test_garbage_upload_fails_clearly_and_the_worker_goes_on(queued: Server, tmp_path: Path) -> None:
    bad = garbage_mp4()
    failed = wait_job(queued, submit(queued, bad))
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"]["code"] == "bad_media"
    assert "cannot be read" in failed["error"]["message"]
    assert str(queued.data_dir) not in failed["error"]["message"]
    good = media_factory.video(tmp_path / "clip.mp4", seconds=1).read_bytes()
    assert len(good) > 1000
    done = wait_job(queued, submit(queued, good))
    assert done["status"] == "done" and done["result"]["verdict"] == "unsigned"
    assert done["result"]["mime"] == "video/mp4"
    # The same broken bytes again are refused at once, with the earlier job's reason.
    status, body, _ = upload(queued, bad)
    assert status == 400 and body["error"]["code"] == "bad_media"
    assert failed["job_id"] in body["error"]["message"]


def test_killed_worker_job_is_claimed_by_another_and_recorded_once(no_worker: Server, workers: list[
        subprocess.Popen[bytes]], tmp_path: Path) -> None:
    slow = start_worker(no_worker, workers, AVLABEL_TEST_JOB_DELAY_SECONDS="120")
    job_id = submit(no_worker, media_factory.png(tmp_path / "k.png", seed=103).read_bytes())
    running = wait_job(no_worker, job_id, stage="test_delay")
    assert running["status"] == "running" and running["attempts"] == 1
    host = socket.gethostname()
    assert db_rows(no_worker, "SELECT worker FROM jobs WHERE id = %s", job_id) == [(f"{host}:{slow.pid}",)]
    slow.send_signal(signal.SIGKILL)  # kill -9 mid-job: its stream entry stays pending
    slow.wait()
    rescuer = start_worker(no_worker, workers)
    done = wait_job(no_worker, job_id)
    assert done["status"] == "done" and done["result"]["verdict"] == "unsigned"
    assert done["attempts"] == 2
    assert db_rows(no_worker, "SELECT worker FROM jobs WHERE id = %s", job_id) == [(f"{host}:{rescuer.pid}",)]
    assert db_rows(no_worker, "SELECT count(*) FROM verify_results WHERE sha256 = %s", done["sha256"]) == [(1,)]
    client = redis.Redis.from_url(REDIS_URL)
    stream = no_worker.env["AVLABEL_REDIS_PREFIX"] + "jobs:verify"
    assert client.xpending(stream, "verifiers")["pending"] == 0  # acknowledged once committed
    assert client.xlen(stream) == 0
    client.close()
    assert analysis_processes(no_worker) == []  # the killed worker's analysis died with it
    rescuer.send_signal(signal.SIGTERM)  # graceful: stops taking jobs and exits cleanly
    assert rescuer.wait(timeout=30) == 0


def test_a_job_whose_workers_keep_dying_fails_as_poison(no_worker: Server, workers: list[subprocess.Popen[bytes]],
                                                       tmp_path: Path) -> None:
    slow = start_worker(no_worker, workers, AVLABEL_TEST_JOB_DELAY_SECONDS="120")
    job_id = submit(no_worker, media_factory.png(tmp_path / "p.png", seed=104).read_bytes())
    wait_job(no_worker, job_id, stage="test_delay")
    slow.send_signal(signal.SIGKILL)
    slow.wait()
    start_worker(no_worker, workers, AVLABEL_JOB_MAX_DELIVERIES="1")
    failed = wait_job(no_worker, job_id)
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert failed["error"]["code"] == "too_many_deliveries"
    assert "given up after 1" in failed["error"]["message"]


def test_jobs_over_their_time_or_memory_limit_fail_cleanly(no_worker: Server, workers: list[
        subprocess.Popen[bytes]], tmp_path: Path) -> None:
    slow = start_worker(no_worker, workers, AVLABEL_JOB_TIMEOUT_SECONDS="3", AVLABEL_TEST_JOB_DELAY_SECONDS="60")
    job_id = submit(no_worker, media_factory.png(tmp_path / "t.png", seed=105).read_bytes())
    # Claimed, at whatever stage: on a busy machine the 3 s may run out before the analysis child
    # reaches its test_delay stage, and the limit must end the job either way.
    wait_job(no_worker, job_id, status="running")
    slow.send_signal(signal.SIGTERM)  # graceful: the running job is seen through to its end first
    timed_out = wait_job(no_worker, job_id)
    assert timed_out["status"] == "failed" and timed_out["error"]["code"] == "time_limit_exceeded"
    assert "3 s" in timed_out["error"]["message"]
    assert slow.wait(timeout=30) == 0
    hungry = start_worker(no_worker, workers, AVLABEL_JOB_MEMORY_BYTES=str(3 << 30),
                          AVLABEL_TEST_JOB_ALLOCATE_BYTES=str(6 << 30))
    for seed in (106, 107):  # one after another: the worker survives each
        job = wait_job(no_worker, submit(no_worker, media_factory.png(tmp_path / f"m{seed}.png", seed=seed)
                                         .read_bytes()))
        assert job["status"] == "failed" and job["error"]["code"] == "memory_limit_exceeded"
        assert "3072 MiB" in job["error"]["message"]
        assert hungry.poll() is None


def test_embedded_server_runs_jobs_in_process_and_resumes_after_restart(tmp_path: Path) -> None:
    srv = Server(tmp_path / "embedded", base_env(tmp_path / "embedded", AVLABEL_JOB_WORKERS="0", **JOB_ENV))
    srv.data_dir.mkdir()
    srv.start()
    try:
        job_id = submit(srv, media_factory.wav(tmp_path / "a.wav", seconds=1).read_bytes())
        time.sleep(1.5)
        with srv.client() as http:
            assert http.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"  # no worker in this server
        srv.stop()
        srv.env["AVLABEL_JOB_WORKERS"] = "1"
        srv.start()  # the restarted server's own worker picks the job up from the jobs table
        done = wait_job(srv, job_id)
        assert done["status"] == "done" and done["result"]["verdict"] == "unsigned"
        assert done["result"]["mime"] == "audio/wav"
        assert not list((srv.data_dir / "jobs").glob(f"{job_id}*"))  # the upload is gone once analysed
    finally:
        srv.stop()


def test_jobs_still_run_from_the_table_while_redis_is_unreachable(jobs_db: str, tmp_path: Path) -> None:
    srv = shared_server(tmp_path / "no-redis", jobs_db, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    srv.start()
    try:
        done = wait_job(srv, submit(srv, media_factory.png(tmp_path / "r.png", seed=108).read_bytes()))
        assert done["status"] == "done" and done["result"]["verdict"] == "unsigned"
    finally:
        srv.stop()
    assert srv.log_path is not None and "using the jobs table" in srv.log_path.read_text()


def test_server_restart_hands_its_running_job_back_and_resumes_it(jobs_db: str, tmp_path: Path) -> None:
    srv = shared_server(tmp_path / "restart", jobs_db, AVLABEL_TEST_JOB_DELAY_SECONDS="120")
    srv.start()
    try:
        job_id = submit(srv, media_factory.png(tmp_path / "s.png", seed=109).read_bytes())
        wait_job(srv, job_id, stage="test_delay")
        srv.stop()  # SIGTERM: the server ends its analysis and hands the job back to the stream
        assert db_rows(srv, "SELECT status, attempts FROM jobs WHERE id = %s", job_id) == [("queued", 0)]
        assert analysis_processes(srv) == []
        del srv.env["AVLABEL_TEST_JOB_DELAY_SECONDS"]
        srv.start()
        done = wait_job(srv, job_id)
        assert done["status"] == "done" and done["attempts"] == 1
    finally:
        srv.stop()
        forget_stream(srv)


class PrivateRedis:
    """A Redis of this test's own, which it may stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_jobs_redis_never_got_or_lost_are_dispatched_once_it_is_back(
        jobs_db: str, private_redis: PrivateRedis, workers: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    srv = shared_server(tmp_path / "redis-down", jobs_db, REDIS_URL=private_redis.url, AVLABEL_JOB_WORKERS="0")
    srv.start()
    try:
        dispatched = submit(srv, media_factory.png(tmp_path / "e.png", seed=111).read_bytes())
        private_redis.stop()  # it keeps nothing on disk: the stream entry of `dispatched` is lost
        job_id = submit(srv, media_factory.png(tmp_path / "d.png", seed=110).read_bytes())  # accepted all the same
        assert db_rows(srv, "SELECT status, queue_ref FROM jobs WHERE id = %s", job_id) == [("queued", None)]
        private_redis.start()  # empty: it never saw the one job and forgot the other
        start_worker(srv, workers)  # reads the stream (Redis is up): its sweep must put both jobs there
        for jid in (dispatched, job_id):
            done = wait_job(srv, jid)
            assert done["status"] == "done" and done["attempts"] == 1
        assert db_rows(srv, "SELECT queue_ref IS NOT NULL FROM jobs WHERE id = %s", job_id) == [(True,)]
    finally:
        srv.stop()

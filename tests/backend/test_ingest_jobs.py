"""Queued ingest (issue 11: "Large video goes through the existing job queue (202 + job)") over real HTTP, real
PostgreSQL and Redis, and real worker processes.

Video and audio above AVLABEL_ASYNC_VERIFY_AV_BYTES (1000 bytes here) answer 202 with a job; the worker runs
the same `IngestService.ingest` as the inline path, and `GET /v1/jobs/{id}` gives the platform that queued it
the same body a 201 gives. Nobody else reads it; a damaged upload fails with the inline path's error and
registers nothing; a worker killed mid-job is replaced and the upload is registered once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory
from tests.backend.test_ingest import ingest
from tests.backend.test_jobs import db_rows, garbage_mp4, start_worker, workers
from tests.conftest import Server, fresh_pg_database, make_server

pytestmark = [pytest.mark.postgres, pytest.mark.server]
__all__ = ["workers"]  # the fixture, used here by name

JOB_ENV = {"AVLABEL_ASYNC_VERIFY_AV_BYTES": "1000", "AVLABEL_JOB_CLAIM_IDLE_SECONDS": "2"}
INLINE_KEYS = {"content_id", "sha256", "mime", "tier", "evidence", "implicit_label", "c2pa_manifest", "media_url",
               "label"}
URL = "https://cdn.example/v/queued-{}.mp4"


def _server(folder: Path, pg_url: str, **extra: str) -> Server:
    srv = make_server(folder, True, pg_url, **JOB_ENV, **extra)
    srv.keys["other"] = srv.create_account("publisher", "Another Platform")
    srv.start()
    return srv


@pytest.fixture(scope="module")
def queued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """PostgreSQL + Redis, with the server's own in-process job consumer."""
    with fresh_pg_database("avlabel_ingest_jobs_") as url:
        srv = _server(tmp_path_factory.mktemp("ingest_jobs"), url)
        yield srv
        srv.stop()


@pytest.fixture(scope="module")
def no_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No in-process consumer: only the `avlabel worker` processes a test starts."""
    with fresh_pg_database("avlabel_ingest_workers_") as url:
        srv = _server(tmp_path_factory.mktemp("ingest_workers"), url, AVLABEL_JOB_WORKERS="0")
        yield srv
        srv.stop()


def queue_ingest(srv: Server, path: Path, **fields: str) -> str:
    status, body = ingest(srv, path, **fields)
    assert status == 202, body
    assert set(body) >= {"job_id", "status_url"} and body["status_url"] == f"/v1/jobs/{body['job_id']}"
    return str(body["job_id"])


def job(srv: Server, job_id: str, key: str | None = "publisher") -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {srv.keys[key]}"} if key else {}
    with srv.client() as http:
        resp = http.get(f"/v1/jobs/{job_id}", headers=headers)
    return resp.status_code, resp.json()


def wait_done(srv: Server, job_id: str, timeout: float = 180, stage: str | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status, doc = job(srv, job_id)
        assert status == 200, doc
        if doc["status"] in ("done", "failed") or (stage and doc["stage"] == stage):
            return doc
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {doc}")


def stored_records(srv: Server, media_url: str, folder: Path) -> list[dict[str, str]]:
    """The AIGC records in the stored copy, as ffprobe reads them (and the `keys` entry counted in the bytes)."""
    with srv.client() as http:
        resp = http.get(media_url)
    assert resp.status_code == 200
    out = folder / "stored.mp4"
    out.write_bytes(resp.content)
    assert resp.content.count(b"mdtaAIGC") == 1
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(out)],
                                      check=True, capture_output=True, text=True, timeout=60).stdout)
    return [json.loads(v) for k, v in probe["format"].get("tags", {}).items() if k.upper() == "AIGC"]


def test_large_video_is_ingested_by_a_worker_and_answers_like_the_inline_path(queued: Server,
                                                                              tmp_path: Path) -> None:
    path = media_factory.video(tmp_path / "large.mp4", seconds=1)
    assert path.stat().st_size > 1000
    job_id = queue_ingest(queued, path, declared_ai="true", title="queued clip", hosting_urls=URL.format(1))
    doc = wait_done(queued, job_id)
    assert doc["status"] == "done" and doc["kind"] == "ingest" and doc["error"] is None, doc
    result = doc["result"]
    assert set(result) == INLINE_KEYS
    content_id = result["content_id"]
    assert result["tier"] == "declared_possibly" and result["evidence"]["declared_ai"] is True
    assert result["c2pa_manifest"]["embedded"] is True
    assert result["label"]["content_id"] == content_id and result["label"]["tier"] == "declared_possibly"
    platform = queued.account_ids[queued.keys["publisher"]]
    records = stored_records(queued, result["media_url"], tmp_path)
    assert len(records) == 1 and records[0] == result["implicit_label"]
    assert records[0]["ContentPropagator"] == f"avlabel:{platform}" and records[0]["PropagateID"] == content_id
    with queued.client() as http:
        entry = http.get(f"/v1/contents/{content_id}",
                         headers={"Authorization": f"Bearer {queued.keys['publisher']}"}).json()
        label = http.get(f"/v1/labels/{content_id}")
    assert URL.format(1) in entry["hosting_urls"] and entry["origin"] == "ingested"
    assert db_rows(queued, "SELECT title FROM contents WHERE content_id = %s", content_id) == [("queued clip",)]
    assert label.status_code == 200 and label.json()["tier"] == "declared_possibly"
    assert db_rows(queued, "SELECT count(*) FROM contents WHERE input_sha256 = %s", doc["sha256"]) == [(1,)]


def test_only_the_platform_that_queued_an_ingest_reads_it(queued: Server, tmp_path: Path) -> None:
    path = media_factory.video(tmp_path / "mine.mp4", seconds=1, size=(240, 160))
    job_id = queue_ingest(queued, path)
    assert wait_done(queued, job_id)["status"] == "done"
    for key in ("other", "admin", None):  # another platform, staff, no key: as if there were no job
        status, body = job(queued, job_id, key)
        assert status == 404 and body["error"]["code"] == "job_not_found", (key, body)


def test_a_damaged_large_video_fails_with_the_inline_error_and_registers_nothing(
        queued: Server, embedded_server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(garbage_mp4())
    inline_status, inline = ingest(embedded_server, bad)  # the default threshold: ingested inline
    assert 400 <= inline_status < 500, inline
    doc = wait_done(queued, queue_ingest(queued, bad))
    assert doc["status"] == "failed" and doc["result"] is None
    assert doc["error"]["code"] == inline["error"]["code"], (doc["error"], inline["error"])
    assert db_rows(queued, "SELECT count(*) FROM contents WHERE input_sha256 = %s", doc["sha256"]) == [(0,)]
    assert db_rows(queued, "SELECT count(*) FROM verify_results WHERE sha256 = %s", doc["sha256"]) == [(0,)]


def test_a_verify_of_the_same_bytes_is_not_answered_by_the_ingest_job(queued: Server, tmp_path: Path) -> None:
    path = media_factory.video(tmp_path / "both.mp4", seconds=1, size=(200, 120))
    ingest_id = queue_ingest(queued, path)
    with queued.client() as http, path.open("rb") as fh:
        resp = http.post("/v1/verify", files={"file": (path.name, fh)})
    assert resp.status_code == 202 and resp.json()["job_id"] != ingest_id, resp.text
    with queued.client() as http:  # the verify job stays readable by id alone
        assert http.get(resp.json()["status_url"]).status_code == 200
    assert wait_done(queued, ingest_id)["status"] == "done"


def test_a_worker_killed_mid_ingest_is_replaced_and_the_upload_registered_once(
        no_worker: Server, workers: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    slow = start_worker(no_worker, workers, AVLABEL_TEST_JOB_DELAY_SECONDS="120")
    path = media_factory.video(tmp_path / "killed.mp4", seconds=1, size=(176, 144))
    job_id = queue_ingest(no_worker, path, declared_ai="true", hosting_urls=URL.format(2))
    running = wait_done(no_worker, job_id, stage="test_delay")
    assert running["status"] == "running" and running["attempts"] == 1
    slow.send_signal(signal.SIGKILL)  # kill -9 mid-job
    slow.wait()
    start_worker(no_worker, workers)
    done = wait_done(no_worker, job_id)
    assert done["status"] == "done" and done["attempts"] == 2, done
    content_id = done["result"]["content_id"]
    assert db_rows(no_worker, "SELECT content_id FROM contents WHERE input_sha256 = %s", done["sha256"]) == [
        (content_id,)]
    assert db_rows(no_worker, "SELECT content_id FROM content_urls WHERE url = %s", URL.format(2)) == [(content_id,)]
    assert len(stored_records(no_worker, done["result"]["media_url"], tmp_path)) == 1


def test_an_ingest_over_its_time_limit_fails_and_registers_nothing(
        no_worker: Server, workers: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    start_worker(no_worker, workers, AVLABEL_JOB_TIMEOUT_SECONDS="3", AVLABEL_TEST_JOB_DELAY_SECONDS="60")
    path = media_factory.video(tmp_path / "slow.mp4", seconds=1, size=(160, 96))
    doc = wait_done(no_worker, queue_ingest(no_worker, path, declared_ai="true"))
    assert doc["status"] == "failed" and doc["error"]["code"] == "time_limit_exceeded", doc
    assert doc["result"] is None
    assert db_rows(no_worker, "SELECT count(*) FROM contents WHERE input_sha256 = %s", doc["sha256"]) == [(0,)]
    assert not list((no_worker.data_dir / "jobs").glob(f"{doc['job_id']}.*"))  # the upload is gone with its job


def test_a_refusal_that_needs_no_decoding_is_answered_before_queueing(queued: Server, tmp_path: Path) -> None:
    path = media_factory.video(tmp_path / "elsewhere.mp4", seconds=1, size=(128, 80))
    before = db_rows(queued, "SELECT count(*) FROM jobs")
    status, body = ingest(queued, path, hosting_urls="https://not-assigned.example/v.mp4")
    assert status == 403 and body["error"]["code"] == "origin_not_assigned", body
    status, body = ingest(queued, path, uploader="has spaces")
    assert status == 400 and body["error"]["code"] == "invalid_uploader", body
    assert db_rows(queued, "SELECT count(*) FROM jobs") == before


def test_an_ingest_over_its_memory_limit_fails_registers_nothing_and_the_worker_goes_on(
        no_worker: Server, workers: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    hungry = start_worker(no_worker, workers, AVLABEL_JOB_MEMORY_BYTES=str(3 << 30),
                          AVLABEL_TEST_JOB_ALLOCATE_BYTES=str(6 << 30))
    path = media_factory.video(tmp_path / "hungry.mp4", seconds=1, size=(144, 96))
    doc = wait_done(no_worker, queue_ingest(no_worker, path, declared_ai="true", hosting_urls=URL.format(3)))
    assert doc["status"] == "failed" and doc["error"]["code"] == "memory_limit_exceeded", doc
    assert "3072 MiB" in doc["error"]["message"] and doc["result"] is None
    assert db_rows(no_worker, "SELECT count(*) FROM contents WHERE input_sha256 = %s", doc["sha256"]) == [(0,)]
    assert db_rows(no_worker, "SELECT count(*) FROM content_urls WHERE url = %s", URL.format(3)) == [(0,)]
    assert not list((no_worker.data_dir / "jobs").glob(f"{doc['job_id']}.*"))
    assert hungry.poll() is None  # the worker survives its child's failure

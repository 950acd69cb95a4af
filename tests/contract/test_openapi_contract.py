"""API contract: schemathesis, run against the service's own /openapi.json (embedded and PostgreSQL + Redis),
finds no 5xx, no undocumented status or content type, and no response that breaks the documented schema."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, make_server

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def schemathesis(srv: Server, examples: int, report: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "schemathesis"
    cmd = [str(exe), "run", f"{srv.url}/openapi.json", "--checks", CHECKS, "--max-examples", str(examples),
           "--seed", "1", "--generation-database", "none", "--workers", "1", "--no-color",
           "--request-timeout", "30", "--phases", "examples,coverage,fuzzing",
           "--header", f"Authorization: Bearer {srv.keys['publisher']}",
           "--report", "junit", "--report-junit-path", str(report)]
    # Bounded: a fixed number of examples per operation, and a hard stop. Its working files stay in tmp.
    return subprocess.run(cmd, cwd=report.parent, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module", params=["embedded", "shared"])
def contract_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    shared = request.param == "shared"
    pg_url = request.getfixturevalue("pg_database") if shared else ""
    srv = make_server(tmp_path_factory.mktemp(f"contract-{request.param}"), shared, pg_url,
                      AVLABEL_VERIFY_RATE_PER_MINUTE="100000000")
    srv.start()
    yield srv
    srv.stop()


def _run(srv: Server, examples: int, tmp_path: Path) -> None:
    result = schemathesis(srv, examples, tmp_path / "junit.xml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "passed" in output, output[-4000:]
    assert srv.proc is not None and srv.proc.poll() is None, "the service died under the contract run"


@pytest.mark.timeout(1200)  # above schemathesis' own 900 s bound: a busy machine is slow, not broken
def test_openapi_contract(contract_server: Server, tmp_path: Path) -> None:
    _run(contract_server, 40, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_openapi_contract_long(contract_server: Server, tmp_path: Path) -> None:
    _run(contract_server, 500, tmp_path)

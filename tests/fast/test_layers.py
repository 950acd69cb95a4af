"""The test suite itself, as a new contributor meets it: a clone without ../shared skips the interop tests
with one reason, and the layer markers keep real servers out of the fast run."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

REASON = "needs ../shared/fixtures/c2pa-python (interop media); absent on this clone"


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AVLABEL_FIXTURES", "AVLABEL_FSDD_DIR")}
    env["AVLABEL_SHARED"] = str(ROOT / "no-such-shared-folder")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_without_shared_the_interop_tests_skip_with_one_reason() -> None:
    run = _pytest("-q", "tests/backend/test_verify.py", "tests/backend/test_signing.py", "-k",
                  "fixture_reading or every_fixture or oversize_heif")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"skipped 4: {REASON}" in run.stdout.splitlines(), run.stdout[-3000:]


def test_the_fast_selection_starts_no_server() -> None:
    run = _pytest("--collect-only", "-q", "-m", "not browser and not postgres and not slow and not server",
                  "tests/backend/test_signing.py", "tests/backend/test_cases.py", "tests/fast/test_flows.py",
                  "tests/hostile/test_strings.py")
    assert run.returncode == 0, run.stdout[-3000:]
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    assert any("[in_process]" in i for i in ids) and any(i.startswith("tests/fast/") for i in ids)
    assert not [i for i in ids if "[embedded" in i or "[shared" in i or i.startswith("tests/hostile/")]
    # Only the in-process variants and tests without a server are left of these modules.
    assert not [i for i in ids if i.startswith("tests/backend/") and "[in_process" not in i]

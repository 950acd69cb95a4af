"""Domain errors carry no HTTP: the domain modules do not import starlette (not even through another
backend module), and the web edge maps each error class to its status code and JSON body."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend import domain_errors as de
from backend.errors import STATUS, ApiError, exception_handlers, status_of

ROOT = Path(__file__).resolve().parents[2]
# Storage, signing, verification, the job child and the casework: none of them speaks HTTP.
DOMAIN = ["backend.domain_errors", "backend.vocabulary", "backend.accounts", "backend.cases", "backend.reports",
          "backend.audit", "backend.media", "backend.store", "backend.signing", "backend.verification",
          "backend.jobs.analysis"]


def _module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of a module except those under `if TYPE_CHECKING:` (never run)."""
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(path: Path) -> set[str]:
    """Every module a file imports when it runs, at any depth of the file (also inside functions)."""
    names: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _domain_files() -> list[Path]:
    files = []
    for name in DOMAIN:
        base = ROOT / Path(*name.split("."))
        files += sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
    return files


def test_no_domain_module_imports_starlette_even_indirectly() -> None:
    offenders = []
    for start in _domain_files():
        seen: set[Path] = set()
        chain: dict[Path, Path] = {}
        todo = [start]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            for name in _imports(path):
                if name == "starlette" or name.startswith("starlette."):
                    via = [path]
                    while via[-1] in chain:
                        via.append(chain[via[-1]])
                    offenders.append(" ← ".join(str(p.relative_to(ROOT)) for p in via))
                    break
                if name.startswith(("backend", "detectors")):
                    target = _module_file(name)
                    if target is not None and target not in seen:
                        chain.setdefault(target, path)
                        todo.append(target)
    assert not offenders, "domain modules reach starlette:\n" + "\n".join(sorted(set(offenders)))


# Every class a domain module may raise, with the status and code the API has always answered for it.
CASES = [
    (de.InvalidInput("invalid_name", "name must be 1 to 200 characters"), 400),
    (de.BadMedia("bad_media", "the media cannot be decoded"), 400),
    (de.Forbidden("not_a_publisher", "only publisher accounts may sign media"), 403),
    (de.NotFound("unknown_case", "no such case"), 404),
    (de.Conflict("case_not_open", "the case is decided, not open"), 409),
    (de.TooLarge("payload_too_large", "too big"), 413),
    (de.MediaTooLarge("image_too_large", "too many pixels"), 413),
    (de.UnsupportedMedia("unsupported_content_type", "send multipart/form-data"), 415),
    (de.UnsupportedMediaType("unsupported_media_type", "unsupported or unrecognised media type"), 415),
    (de.Unprocessable("no_fingerprint", "this media has no usable fingerprint"), 422),
    (de.RateLimited("rate_limited", "too many requests", retry_after=60), 429),
    (de.LimitExceeded("memory_limit_exceeded", "the analysis needs more memory"), 500),
    (de.Unavailable("database_unavailable", "the database is unavailable; try again"), 503),
]


def test_every_domain_error_class_has_a_status() -> None:
    classes = {type(exc) for exc, _status in CASES}
    declared = {cls for cls in vars(de).values()
                if isinstance(cls, type) and issubclass(cls, de.DomainError) and cls not in (de.DomainError,
                                                                                              de.MediaError)}
    assert declared <= classes, f"add {declared - classes} to CASES"
    for exc, status in CASES:
        assert status_of(exc) == status, type(exc).__name__
    assert set(STATUS) <= {cls for exc, _ in CASES for cls in type(exc).__mro__}


@pytest.mark.parametrize(("error", "status"), CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_the_edge_answers_a_domain_error_with_its_status_and_json(error: de.DomainError, status: int) -> None:
    async def boom(_request: Request) -> Response:
        raise error

    # The app's own exception handlers (create_app installs the same), on a route that raises the error.
    app = Starlette(routes=[Route("/boom", boom)], exception_handlers=exception_handlers())

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://avlabel.test") as client:
            return await client.get("/boom")

    resp = asyncio.run(call())
    assert resp.status_code == status
    assert resp.json() == {"error": {"code": error.code, "message": error.message}}
    if isinstance(error, de.RateLimited):
        assert resp.headers["retry-after"] == "60"


def test_an_http_error_keeps_the_status_and_headers_its_route_chose() -> None:
    exc = ApiError(401, "unauthenticated", "an API key is required", {"WWW-Authenticate": "Bearer"})
    assert isinstance(exc, de.DomainError)  # callers that catch domain errors see it too
    assert status_of(exc) == 401


def test_the_job_child_runs_without_loading_starlette() -> None:
    """The analysis process imports its whole module tree; none of it is the web layer."""
    code = "import sys, backend.jobs.analysis; print(sorted(m for m in sys.modules if m.startswith('starlette')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

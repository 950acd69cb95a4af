"""detectors/ is a library: it must not import the service (backend/), so it can be tested,
benchmarked and reused alone. The backend reaches it; it reaches the backend only through the
protocols it defines (detectors.fingerprint.FingerprintLookup, detectors.watermark.KeyResolver)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def backend_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        found += [f"{path}:{node.lineno} imports {n}" for n in names
                  if n == "backend" or n.startswith("backend.")]
    return found


def test_no_module_under_detectors_imports_backend() -> None:
    modules = sorted((ROOT / "detectors").rglob("*.py"))
    assert len(modules) > 10  # the walk found the package
    offenders = [line for path in modules for line in backend_imports(path)]
    assert offenders == [], "detectors/ must not import backend/:\n" + "\n".join(offenders)


def test_the_rule_sees_every_import_form(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import backend.store\nfrom backend.audit import append\n"
                     "def f():\n    from backend import audit\n    return importlib.import_module('backend.x')\n")
    assert [line.split(" imports ")[1] for line in backend_imports(probe)] == [
        "backend.store", "backend.audit", "backend", "backend.x"]

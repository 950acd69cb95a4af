"""Only the registry touches its tables (issue 10: one owner of the content registry): backend/registry.py
for `contents`, backend/registry_urls.py (its URL half) for `content_urls`.

Checked on the source: an import of the `contents` / `content_urls` table objects, an attribute access
to them on the schema module, or SQL text naming them, anywhere else in backend/ or detectors/ fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"contents", "content_urls", "publisher_origins"}
# The owners, and the schema that defines the tables.
OWNER = {"backend/registry.py", "backend/registry_urls.py", "backend/store/schema.py"}
MIGRATIONS = "backend/store/migrations/"
SQL = re.compile(r"\b(from|into|update|join|table)\s+\"?(contents|content_urls|publisher_origins)\b", re.IGNORECASE)


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("schema"):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in TABLES]
        elif isinstance(node, ast.Attribute) and node.attr in TABLES and isinstance(node.value, ast.Name) \
                and node.value.id == "schema":
            found.append(f"line {node.lineno}: uses schema.{node.attr}")
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and node.slice.value in TABLES and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "tables":
            found.append(f"line {node.lineno}: uses metadata.tables[{node.slice.value!r}]")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (sql := SQL.search(node.value)):
            found.append(f"line {node.lineno}: SQL text on {sql.group(2)}")
    return found


def test_only_the_registry_touches_the_contents_tables() -> None:
    problems = {}
    for folder in ("backend", "detectors"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(MIGRATIONS):
                continue  # frozen schema history, run only by `avlabel db upgrade`
            if rel not in OWNER and (found := offences(path)):
                problems[rel] = found
    assert problems == {}, "use backend/registry.py (or registry_urls.py) instead:\n" + "\n".join(
        f"{rel}: {'; '.join(found)}" for rel, found in problems.items())


def test_the_check_sees_a_direct_query(tmp_path: Path) -> None:
    """The rule itself works: each way of reaching the table is caught."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from backend.store.schema import contents, accounts\n"
        "from backend.store import schema\n"
        "x = schema.content_urls\n"
        "y = metadata.tables['contents']\n"
        "z = 'UPDATE contents SET label_state = 1'\n", encoding="utf-8")
    assert len(offences(sample)) == 4

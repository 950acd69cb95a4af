"""Player plugin bundle sizes from the build's dist/manifest.json, each against its own gzip budget."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import Row

DIST = Path(__file__).resolve().parent.parent / "player_plugin" / "dist"


def run(quick: bool) -> list[Row]:
    manifest_path = DIST / "manifest.json"
    if not manifest_path.exists():
        return [Row(case="player plugin bundle", value=None, unit="B",
                    note="player_plugin/dist is not built here (cd player_plugin && npm run build)")]
    manifest = json.loads(manifest_path.read_text())
    default = int(manifest.get("budget_gzip_bytes") or 20480)
    rows = []
    for name, info in manifest["files"].items():
        if not name.endswith((".js", ".mjs")):
            continue
        gz = int(info["gzip_bytes"])
        budget = int(info.get("budget_gzip_bytes") or default)  # the build's own per-file budget
        rows.append(Row(case=f"{name} (gzip)", value=gz, unit="B", baseline="budget", baseline_value=budget,
                        ratio=round(gz / budget, 2), target=f"<= {budget} B gzip", met=gz <= budget,
                        note=f"{int(info['bytes']):,} B minified, before gzip"))
    return rows

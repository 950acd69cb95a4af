"""The results table: Markdown for people, JSON for machines, from the same sections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import Row


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row_line(row: Row) -> str:
    figure = _fmt(row.value, row.unit)
    if row.p99 is not None:
        figure = f"p50 {figure} · p99 {_fmt(row.p99, row.unit)}"
    base = f"{row.baseline}: {_fmt(row.baseline_value, row.unit)}" if row.baseline else ""
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
    target = row.target or ""
    if row.met is not None:
        target = f"{target} {'met' if row.met else '**not met**'}".strip()
    rss = _fmt(row.peak_rss_mb, "MB")
    n = str(row.n) if row.n is not None else ""
    return "| " + " | ".join(_cell(c) for c in (row.case, figure, base, ratio, target, rss, n, row.note)) + " |"


def markdown(info: dict[str, Any], sections: list[dict[str, Any]], quick: bool) -> str:
    lines = [
        "# avlabel benchmark results",
        "",
        ("**Quick (CI-sized) run**: shorter series and a smaller MP4; the full run (`python -m bench.run`) "
         "publishes bench/results/latest.md." if quick else
         "Full run of `python -m bench.run`. Ratios compare with anchors measured in the same run on the same "
         "machine."),
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']} — {info['logical_cores']} logical cores ({info['physical_cores']} physical)",
        f"- RAM: {info['ram_gb']} GB; OS: {info['os']}",
        f"- Python {info['python']}; c2pa-python {info['c2pa_python']} (c2pa-rs {info['c2pa_rs']})",
        f"- Date: {info['date']}; commit {info.get('commit') or '?'}",
        f"- Load average (1/5/15 min) at start {info['load_average_at_start']}, at end "
        f"{info.get('load_average_at_end')}: the machine is shared with other builds, so a load above the "
        "core count means noisy figures, tail latencies (p99) first; rerun on a quiet machine to compare.",
        "",
    ]
    for section in sections:
        lines.append(f"## {section['title']} (`{section['module']}`)")
        lines.append("")
        if section["status"] != "ok":
            lines.append(f"*{section['status']}*: {_cell(section['reason'])}")
            lines.append("")
            continue
        if "text" in section:
            lines.append(f"`{section['command']}` (its own report; peak RSS {section['peak_rss_mb']} MB):")
            lines.extend(["", "```text", section["text"], "```", "", f"({section['seconds']} s)", ""])
            continue
        lines.append("| case | figure | anchor (same run) | ratio | target | peak RSS | n | notes |")
        lines.append("|---|---|---|---|---|---|---|---|")
        lines.extend(row_line(r) for r in section["rows"])
        lines.append("")
        lines.append(f"({section['seconds']} s)")
        lines.append("")
    return "\n".join(lines)


def write_results(stem: Path, info: dict[str, Any], sections: list[dict[str, Any]], quick: bool) -> tuple[Path, Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    md = stem.with_suffix(".md")
    js = stem.with_suffix(".json")
    md.write_text(markdown(info, sections, quick) + "\n")
    payload = {
        "quick": quick,
        "machine": info,
        "sections": [{**s, "rows": [r.to_dict() for r in s.get("rows", [])]} for s in sections],
    }
    js.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return md, js

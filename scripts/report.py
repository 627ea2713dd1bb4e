"""Benchmark reports: JSON + markdown tables, and splicing a table into a markdown page between markers.

A section ``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->`` of the README or a results page is replaced
by the table a benchmark produced, so the published numbers always come from a saved run.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Sequence

from parapolicy.scripts.common import write_json_atomic, write_text_atomic


def fmt(value: Any, digits: int = 3) -> str:
    """Compact cell text for numbers, intervals and missing values."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.0f}"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"{value[0]:.2f}–{value[1]:.2f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A markdown table of ``rows`` with ``columns`` given as (key, header) pairs."""
    head = "| " + " | ".join(h for _, h in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(row.get(k)) for k, _ in columns) + " |" for row in rows]
    return "\n".join([head, sep, *body])


def save_report(out_dir: Path, name: str, data: dict[str, Any], table: str) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``out_dir`` (atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = write_json_atomic(out_dir / f"{name}.json", data)
    md_path = write_text_atomic(out_dir / f"{name}.md", table + "\n")
    return json_path, md_path


def splice_readme(readme: Path, name: str, text: str, marker: str = "bench") -> bool:
    """Replace the README section marked ``<marker>:name`` with ``text``; False when no marker exists."""
    start, end = f"<!-- {marker}:{name} -->", f"<!-- /{marker}:{name} -->"
    content = readme.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(content):
        return False
    new = pattern.sub(lambda _: f"{start}\n{text.strip()}\n{end}", content)
    write_text_atomic(readme, new)
    return True

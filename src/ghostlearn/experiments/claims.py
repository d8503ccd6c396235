"""The claims report: every experiment's claims gathered into claims.json and claims.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..store import to_jsonable, write_json, write_text


def collect_claims(summaries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flatten the ``claims`` lists of experiment summaries into rows with a verdict."""
    rows = []
    for summary in summaries:
        for claim in summary.get("claims", []):
            row = dict(claim)
            row["verdict"] = "reproduced" if row.get("reproduced") else "differs"
            row.setdefault("fidelity", summary.get("fidelity"))
            rows.append(row)
    return rows


def format_value(value: Any) -> str:
    """A claim's value as short plain text: floats to 4 digits, nested values flattened."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {format_value(v)}" for k, v in value.items())
    if value is None:
        return "-"
    return str(value)


def _cell(value: Any) -> str:
    return format_value(value).replace("|", "\\|").replace("\n", " ")


def claims_markdown(rows: list[dict[str, Any]]) -> str:
    """Render claim rows as a Markdown table, with a count of reproduced claims."""
    n_ok = sum(r["verdict"] == "reproduced" for r in rows)
    lines = [
        "# Claims of the paper, checked by ghostlearn",
        "",
        f"{n_ok} of {len(rows)} claims reproduced.",
        "",
        "| figure | claim | paper | ghostlearn | verdict | note |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                _cell(r.get(k, ""))
                for k in ("figure", "claim", "paper", "measured", "verdict", "note")
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_claims(summaries: Iterable[Mapping[str, Any]], out: str | Path) -> list[dict[str, Any]]:
    """Write ``out/claims.json`` and ``out/claims.md``; return the rows."""
    rows = collect_claims(summaries)
    write_json(to_jsonable(rows), Path(out) / "claims.json")
    write_text(claims_markdown(rows), Path(out) / "claims.md")
    return rows

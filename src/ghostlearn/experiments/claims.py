"""The claims report: every experiment's claims gathered into claims.json and claims.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..results import ResultsFolder
from ..store import to_jsonable, write_json, write_text


def collect_claims(summaries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flatten the ``claims`` lists of experiment summaries into rows with a verdict.

    Rows of summaries written before verdicts existed (a boolean ``reproduced`` and a
    ``note``) are read as ``"reproduced"``/``"differs"`` with the note as the reason.
    """
    rows = []
    for summary in summaries:
        for claim in summary.get("claims", []):
            row = dict(claim)
            if "verdict" not in row:
                row["verdict"] = "reproduced" if row.pop("reproduced", False) else "differs"
            if "reason" not in row:
                row["reason"] = row.pop("note", "")
            row.setdefault("fidelity", summary.get("fidelity"))
            rows.append(row)
    return rows


def _counts(rows: Iterable[Mapping[str, Any]]) -> tuple[int, int, int]:
    verdicts = [r["verdict"] for r in rows]
    skipped = verdicts.count("skipped")
    return verdicts.count("reproduced"), len(verdicts) - skipped, skipped


def headline(rows: Iterable[Mapping[str, Any]]) -> str:
    """``"k of n testable claims reproduced, s skipped"``: skipped claims count for nothing.

    Rows of findings beyond the paper (``beyond_paper``) are not the paper's claims: they
    are counted apart, as ``"; beyond the paper: k of n as stated"``.
    """
    rows = list(rows)
    paper = [r for r in rows if not r.get("beyond_paper")]
    beyond = [r for r in rows if r.get("beyond_paper")]
    ok, tested, skipped = _counts(paper)
    text = f"{ok} of {tested} testable claims reproduced, {skipped} skipped"
    if beyond:
        ok_b, tested_b, _ = _counts(beyond)
        text += f"; beyond the paper: {ok_b} of {tested_b} findings as stated"
    return text


def census_lines(summary: Mapping[str, Any]) -> list[str]:
    """One line per population census of a summary (keys ``census_*`` holding a ``text``)."""
    lines = []
    for key, census in summary.items():
        if key.startswith("census_") and isinstance(census, Mapping) and "text" in census:
            lines.append(f"{summary.get('experiment', '')} {key}: {census['text']}".strip())
    return lines


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
    """Render claim rows as a Markdown table under the :func:`headline`."""
    lines = ["# Claims of the paper, checked by ghostlearn", "", headline(rows) + "."]
    paper = [r for r in rows if not r.get("beyond_paper")]
    beyond = [r for r in rows if r.get("beyond_paper")]
    lines += _table(paper)
    if beyond:
        lines += ["", "## Beyond the paper", "", "Findings of ghostlearn's own experiments."]
        lines += _table(beyond)
    return "\n".join(lines) + "\n"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "| figure | claim | paper | ghostlearn | verdict | reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = (
            _cell(r.get(k, ""))
            for k in ("figure", "claim", "paper", "measured", "verdict", "reason")
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_claims(summaries: Iterable[Mapping[str, Any]], out: str | Path) -> list[dict[str, Any]]:
    """Write ``out/claims.json`` and ``out/claims.md`` (with the censuses); return the rows."""
    summaries = list(summaries)
    rows = collect_claims(summaries)
    folder = ResultsFolder(Path(out))
    write_json(to_jsonable(rows), folder.claims_json)
    text = claims_markdown(rows)
    censuses = [line for s in summaries for line in census_lines(s)]
    if censuses:
        text += "\n## Population censuses\n\n" + "".join(f"- {c}\n" for c in censuses)
    write_text(text, folder.claims_md)
    return rows

"""The report page: one self-contained HTML file.

Everything is inlined: figures as base64 PNG data URIs, the style sheet, the data (a JSON
payload, :mod:`ghostlearn.report.payload`) and the plain JavaScript that draws the training
explorer as inline SVG. The page fetches nothing, so it opens offline.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .. import __version__
from ..experiments.claims import collect_claims, format_value, headline
from ..results import REPORT
from ..store import write_text
from .payload import ReportOptions, format_epoch, report_payload
from .sources import ReportSource, load_source

__all__ = ["build_report", "default_output", "render_report", "write_report"]


def _template() -> str:
    return resources.files("ghostlearn.report").joinpath("template.html").read_text("utf-8")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _png_data_uri(path: Path, max_width: int) -> str:
    """The PNG at ``path`` as a data URI, scaled down to ``max_width`` pixels if wider."""
    from PIL import Image

    raw = path.read_bytes()
    with Image.open(io.BytesIO(raw)) as im:
        if im.width > max_width:
            h = max(1, round(im.height * max_width / im.width))
            small = im.convert("RGBA" if "A" in im.getbands() else "RGB").resize(
                (max_width, h), Image.Resampling.LANCZOS
            )
            buf = io.BytesIO()
            small.save(buf, format="PNG", optimize=True)
            raw = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _whole(key: Any) -> bool:
    return isinstance(key, int) or (isinstance(key, str) and key.isdigit())


def _claim_text(value: Any, key: str = "") -> str:
    """A claim's value as text (:func:`~ghostlearn.experiments.claims.format_value`), with
    the numbers under a key that names epochs written as epochs (``"33,639"``), and so the
    whole-number keys of a mapping named so (``{"lr_by_epoch": {"1000": ...}}``)."""
    if isinstance(value, Mapping):
        by_epoch = "epoch" in key.lower()
        return "; ".join(
            f"{format_epoch(k) if by_epoch and _whole(k) else k} = {_claim_text(v, str(k))}"
            for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_claim_text(v, key) for v in value) + "]"
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and "epoch" in key.lower() and math.isfinite(value):
        return format_epoch(value)
    return format_value(value)


def _claims_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    rows = collect_claims([{"claims": rows}])
    out = [
        '<section id="claims"><h2>Claims of the paper</h2>',
        f"<p>{_esc(headline(rows))}.</p>",
        '<table class="claims"><thead><tr><th>figure</th><th>claim</th><th>paper</th>'
        "<th>ghostlearn</th><th>verdict</th><th>reason</th></tr></thead><tbody>",
    ]
    marks = {
        "reproduced": ("ok", "&#10003; "),
        "differs": ("bad", "&#10007; "),
        "skipped": ("", ""),
    }
    for r in rows:
        verdict = r["verdict"]
        css, mark = marks.get(verdict, ("bad", ""))
        fig = _esc(r.get("figure", ""))
        out.append(
            "<tr>"
            f'<td><a href="#fig-{fig}">{fig}</a></td>'
            f"<td>{_esc(_claim_text(r.get('claim')))}</td>"
            f'<td class="num">{_esc(_claim_text(r.get("paper")))}</td>'
            f'<td class="num">{_esc(_claim_text(r.get("measured")))}</td>'
            f'<td class="{css}">{mark}{_esc(verdict)}</td>'
            f"<td>{_esc(_claim_text(r.get('reason')))}</td>"
            "</tr>"
        )
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _json_block(obj: Any) -> str:
    return _esc(json.dumps(obj, indent=2, default=str))


def _details(title: str, obj: Any) -> str:
    return f"<details><summary>{_esc(title)}</summary><pre>{_json_block(obj)}</pre></details>"


def _figures_html(source: ReportSource, opts: ReportOptions) -> str:
    """Per experiment: its figure with the caption of its ``summary.json`` under it, the
    panels beyond the paper (``figure-extra.png``) if any, how it was computed, its
    configuration and measured values."""
    exps = source.experiments
    if not exps:
        return ""
    out = ['<section id="figures"><h2>Figures</h2>']
    for e in exps:
        name = _esc(e["name"])
        s = e.get("summary") or {}
        out.append(f'<div class="fig" id="fig-{name}"><h3>{_esc(e["title"])}'
                   f' <span class="small">({name})</span></h3>')  # fmt: skip
        caption = s.get("caption")
        caption_html = (
            f'<figcaption class="caption">{_esc(caption)}</figcaption>'
            if caption is not None and str(caption).strip()
            else ""
        )
        if e.get("figure") is not None:
            uri = _png_data_uri(Path(e["figure"]), opts.max_figure_width)
            out.append(
                f'<figure class="main"><img src="{uri}" alt="{_esc(e["title"])}">'
                f"{caption_html}</figure>"
            )
        else:
            out.append('<p class="note">No figure.png in this folder.</p>')
            if caption_html:
                out.append(f'<figure class="main">{caption_html}</figure>')
        if e.get("extra") is not None:
            uri = _png_data_uri(Path(e["extra"]), opts.max_figure_width)
            out.append(
                '<figure class="extra"><figcaption class="beyond">Beyond the paper: panels '
                "that the paper does not show</figcaption>"
                f'<img src="{uri}" alt="{_esc(e["title"])}, beyond the paper"></figure>'
            )
        made = []
        for key, fmt in (("fidelity", "fidelity {}"), ("wall_time_s", "computed in {:.1f} s"),
                         ("ghostlearn_version", "ghostlearn {}")):  # fmt: skip
            if s.get(key) is not None:
                made.append(fmt.format(s[key]))
        if made:
            out.append(f'<p class="small">{_esc(", ".join(made))}</p>')
        if s.get("config") is not None:
            out.append(_details("configuration", s["config"]))
        skip = ("config", "claims", "title", "experiment", "caption")
        measured = {k: v for k, v in s.items() if k not in skip}
        if measured:
            out.append(_details("summary (measured values)", measured))
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)


def _config_html(payload: dict[str, Any]) -> str:
    runs = payload["runs"]
    if not runs:
        return ""
    out = ['<section id="config"><h2>Training configuration</h2>']
    for r in runs:
        out.append(f"<h3>{_esc(r['label'])}</h3>")
        out.append(
            f"<p>{r['n_nets']:,} network{'' if r['n_nets'] == 1 else 's'} &times; "
            f"{format_epoch(r['n_epochs'])} epochs; trained with ghostlearn "
            f"{_esc(r.get('version') or 'unknown')}. Outcomes: "
            + _esc(", ".join(f"{v} {k}" for k, v in r["outcomes"].items()))
            + ".</p>"
        )
        cfg = {"model": r["model"], "train": r["train"]}
        if r.get("config"):
            cfg["experiment config"] = r["config"]
        out.append(f"<pre>{_json_block(cfg)}</pre>")
    out.append("</section>")
    return "\n".join(out)


def _reduction_text(payload: dict[str, Any], opts: ReportOptions) -> str:
    return (
        "To keep this page small and fast, the data are reduced: every metric curve is drawn "
        f"from at most {opts.max_points} points (the minimum and the maximum of each bucket of "
        f"epochs, so spikes and drops survive); the slider steps through at most about "
        f"{opts.max_snapshots} snapshots per network (evenly spaced, plus the snapshots at the "
        f"events) out of those recorded; the flow is drawn on {opts.n_kappa} points of \u03ba "
        "(fixed points and ghosts are found exactly, on [-15, 15]), a rank-K phase portrait "
        f"on a {opts.n_plane} \u00d7 {opts.n_plane} grid of its plane; at most "
        f"{opts.max_networks if opts.nets is None else len(opts.nets)} networks per run are "
        "offered (see the line above the controls). The full data stay in the store."
    )


def render_report(
    source: ReportSource,
    options: ReportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The HTML page of a :class:`~ghostlearn.report.sources.ReportSource`.

    ``progress(done, total)``: as in :func:`~ghostlearn.report.payload.report_payload`.
    """
    opts = options or ReportOptions()
    payload = report_payload(source, opts, progress)
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = ['<a href="#claims">claims</a>'] if source.claims else []
    if payload["runs"]:
        nav.append('<a href="#explorer">training explorer</a>')
    if source.experiments:
        nav.append('<a href="#figures">figures</a>')
    if payload["runs"]:
        nav.append('<a href="#config">configuration</a>')
    top = [
        f"<header><h1>{_esc(source.title)}</h1>",
        f'<p class="meta">Made by ghostlearn {_esc(__version__)} on {when} from '
        f"<code>{_esc(source.path)}</code>.</p>",
        f"<nav>{' '.join(nav)}</nav></header>",
    ]
    for note in source.notes:
        top.append(f'<p class="note">{_esc(note)}</p>')
    top.append(_claims_html(source.claims))
    bottom = _figures_html(source, opts) + "\n" + _config_html(payload)
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return fill_template(
        _template(),
        {
            "TITLE": _esc(source.title),
            "VERSION": _esc(__version__),
            "TOP": "\n".join(top),
            "EXPLORER_HIDDEN": "" if payload["runs"] else "hidden",
            "REDUCTION": _esc(_reduction_text(payload, opts)),
            "BOTTOM": bottom,
            "PAYLOAD": data,
        },
    )


_SLOT = re.compile(r"\{\{([A-Z_]+)\}\}")


def fill_template(template: str, values: dict[str, str]) -> str:
    """Fill the ``{{NAME}}`` slots of ``template`` in one pass over the template.

    The inserted values are never scanned again, so text from a store (a title, an
    attribute, a claim) that happens to contain ``{{PAYLOAD}}`` stays text and cannot
    take the place of a slot. Every slot of the template must have a value.
    """
    missing = sorted(set(_SLOT.findall(template)) - set(values))
    if missing:
        raise ValueError(f"the report template has slots without values: {missing}")
    return _SLOT.sub(lambda m: values[m.group(1)], template)


def build_report(
    path: str | Path,
    *,
    options: ReportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The report of ``path`` as HTML text.

    Args:
        path: a results folder, a training store, a folder holding ``train.zarr``, an
            ``analysis.json`` next to its training data, or a checkpoint (see
            :func:`ghostlearn.report.sources.load_source`).
        options: how much data to keep (:class:`~ghostlearn.report.payload.ReportOptions`).
        progress: called as ``progress(done, total)`` in training runs, ``(0, total)``
            first (their networks are analysed and drawn per run).

    Returns:
        The page, self-contained (no network access needed to view it).

    Raises:
        ValueError: when ``path`` is none of the above.
    """
    return render_report(load_source(path), options, progress)


def default_output(path: str | Path) -> Path:
    """Where :func:`write_report` puts the page by default: ``report.html`` in the folder
    of a results folder, beside a store or file otherwise."""
    p = Path(path)
    if p.is_dir() and not (p / "zarr.json").exists() and not (p / ".zgroup").exists():
        return p / REPORT
    return p.parent / REPORT


def write_report(
    path: str | Path,
    out: str | Path | None = None,
    *,
    options: ReportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the report of ``path`` atomically and return where it went.

    Args:
        path: as in :func:`build_report`.
        out: the HTML file to write (default :func:`default_output` of ``path``).
        options: as in :func:`build_report`.
        progress: as in :func:`build_report`.

    Returns:
        The path of the written page.
    """
    text = build_report(path, options=options, progress=progress)
    target = default_output(path) if out is None else Path(out)
    if target.is_dir():
        target = target / REPORT
    return write_text(text, target)

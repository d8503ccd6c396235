"""MkDocs hooks: pages whose text lives in the repository's top-level files.

``index.md`` is the README, ``changelog.md`` the CHANGELOG, ``contributing.md`` the
CONTRIBUTING guide; ``citing.md`` and ``license.md`` quote CITATION.cff and LICENSE. The
files are read at build time, so the site never drifts from them. Links in those files
are written for the repository: ``docs/<page>`` links become links between pages, and
links to other repository files point to the source on GitHub.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "https://github.com/ghostlearn/ghostlearn/blob/main/"

# page -> top-level file whose Markdown replaces the page's
PAGES = {
    "index.md": "README.md",
    "changelog.md": "CHANGELOG.md",
    "contributing.md": "CONTRIBUTING.md",
}
# marker in a page -> (file quoted in a fenced block, language)
QUOTES = {
    "<!-- CITATION.cff -->": ("CITATION.cff", "yaml"),
    "<!-- LICENSE -->": ("LICENSE", "text"),
}

_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s]+)\)")


def _relink(match: re.Match[str]) -> str:
    target = match.group(1)
    if target.startswith("docs/"):
        return f"]({target[len('docs/'):]})"
    return f"]({SOURCE}{target})"


def on_page_markdown(markdown: str, *, page: Any, **kwargs: Any) -> str:
    src = page.file.src_uri
    if src in PAGES:
        markdown = _LINK.sub(_relink, (ROOT / PAGES[src]).read_text(encoding="utf-8"))
    for marker, (name, lang) in QUOTES.items():
        if marker in markdown:
            text = (ROOT / name).read_text(encoding="utf-8").rstrip("\n")
            markdown = markdown.replace(marker, f"```{lang}\n{text}\n```")
    return markdown


def on_config(config: Any, **kwargs: Any) -> Any:
    """``mkdocs serve`` rebuilds when one of the quoted files changes."""
    watch = config.setdefault("watch", [])
    for name in (*PAGES.values(), *(n for n, _ in QUOTES.values())):
        path = str(ROOT / name)
        if path not in watch:
            watch.append(path)
    return config

"""Griffe extension: render the docstrings' Sphinx-style roles as Markdown code.

The docstrings cross-reference with roles such as ``:func:`analyze_run``` and
``:class:`~ghostlearn.analysis.points.FlowPoints```, which Markdown would show verbatim.
They become code spans (``analyze_run``, ``FlowPoints``: the last component when the
target starts with ``~``), and a paragraph ending in ``::`` before a literal block ends
in ``:``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"(\S)::[ \t]*$", flags=re.M)


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    target = target.strip()
    shown = target.rsplit(".", 1)[-1] if tilde else target.lstrip(".")
    return f"`{shown}`"


def convert(text: str) -> str:
    """The docstring with roles as code spans and ``::`` paragraph ends as ``:``."""
    return _LITERAL.sub(r"\1:", _ROLE.sub(_role, text))


class SphinxRolesToCode(griffe.Extension):
    """Rewrite every docstring of the loaded objects (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        # Runs for every object as it is loaded, the top-level package included.
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        self.on_instance(obj=obj)

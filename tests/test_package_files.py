"""The files every package has: LICENSE, citation, changelog, type marker, ``-m`` entry."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import ghostlearn

ROOT = Path(__file__).resolve().parents[1]


def test_python_m_ghostlearn_version():
    out = subprocess.run(
        [sys.executable, "-m", "ghostlearn", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ghostlearn {ghostlearn.__version__}"


def test_python_m_ghostlearn_help_names_the_command():
    out = subprocess.run(
        [sys.executable, "-m", "ghostlearn", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "Usage: ghostlearn " in out.stdout


def test_py_typed_marker_ships_inside_the_package():
    assert (Path(ghostlearn.__file__).parent / "py.typed").is_file()


def test_project_metadata_has_urls_and_docs_extra():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    urls = meta["urls"]
    for key in ("Homepage", "Documentation", "Source", "Changelog"):
        assert urls[key].startswith("https://"), key
    assert any(dep.startswith("mkdocs") for dep in meta["optional-dependencies"]["docs"])


def test_changelog_starts_at_the_released_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, flags=re.M)
    assert released and released[-1] == "0.1.0"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version in released


def test_license_and_citation_exist():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = (ROOT / "CITATION.cff").read_text()
    assert "A ghost mechanism: an analytical model of abrupt learning" in cff
    assert "cff-version:" in cff

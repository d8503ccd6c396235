"""Test-session settings shared by every test module."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_compilation_cache(tmp_path_factory: pytest.TempPathFactory):
    """Commands started by the tests use a compilation cache of their own, not the user's."""
    old = os.environ.get("GHOSTLEARN_COMPILATION_CACHE")
    os.environ["GHOSTLEARN_COMPILATION_CACHE"] = str(tmp_path_factory.mktemp("jax-cache"))
    yield
    if old is None:
        os.environ.pop("GHOSTLEARN_COMPILATION_CACHE", None)
    else:
        os.environ["GHOSTLEARN_COMPILATION_CACHE"] = old

"""JAX's persistent compilation cache, kept in the user's cache directory.

Every population size, model and chunk length is its own compiled XLA program. With the
cache on, a second run of the same command loads those programs from disk instead of
compiling them again. The ``ghostlearn`` command turns it on at start-up; in Python call
:func:`enable_compilation_cache` before training.

Where it lives: ``$GHOSTLEARN_COMPILATION_CACHE`` if set to a path; otherwise
``<user cache dir>/ghostlearn/jax`` (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux,
``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows). Opt out with
``GHOSTLEARN_COMPILATION_CACHE=off`` (or ``0``, ``no``, ``false``). JAX keys each entry by
the program, the JAX and XLA versions and the device, so a cache written by another
version or machine is never used for the wrong program; an unreadable entry is compiled
again (JAX warns). It takes at most 2 GiB, evicting the least recently used programs. A directory that cannot be created leaves the cache off, with a
warning.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

__all__ = ["ENV_VAR", "cache_dir", "enable_compilation_cache"]

#: Environment variable: a directory for the cache, or ``off`` to disable it.
ENV_VAR = "GHOSTLEARN_COMPILATION_CACHE"
_OFF = ("0", "off", "no", "false", "none")
#: Most disk space the cache takes (least recently used programs are evicted beyond it).
MAX_BYTES = 2 * 2**30


def _user_cache_home() -> Path:
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def cache_dir() -> Path | None:
    """The cache directory that :func:`enable_compilation_cache` uses by default, or
    ``None`` when ``$GHOSTLEARN_COMPILATION_CACHE`` turns the cache off."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value.lower() in _OFF:
        return None
    return Path(value).expanduser() if value else _user_cache_home() / "ghostlearn" / "jax"


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``path`` (default :func:`cache_dir`).

    Every program is cached, however fast it compiled; the cache holds at most
    :data:`MAX_BYTES` (least recently used programs go first). Works before or after JAX is
    imported (before: through JAX's environment variables, so JAX is not imported here).

    Args:
        path: the cache directory; ``None`` for :func:`cache_dir`.

    Returns:
        The directory in use, or ``None`` when the cache is off (opted out, or the
        directory cannot be created: then a ``RuntimeWarning`` says why).
    """
    folder = cache_dir() if path is None else Path(path).expanduser()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
    except OSError as err:
        warnings.warn(
            f"compilation cache off: cannot use {str(folder)!r} ({err})",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        # A bounded cache evicts the least recently used programs, and JAX then takes a
        # file lock around each write: safe with several processes (sweep workers).
        "jax_compilation_cache_max_size": MAX_BYTES,
    }
    if "jax" in sys.modules:
        import jax

        for name, value in settings.items():
            jax.config.update(name, value)
    else:
        for name, value in settings.items():
            os.environ[name.upper()] = str(value)
    return folder

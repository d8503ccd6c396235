"""Checks applied at the public boundary; each raises ValueError naming the argument."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np


def finite(name: str, value: Any) -> None:
    """Raise if ``value`` (a scalar or an array) holds NaN or +-inf."""
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        shown = value if arr.ndim == 0 else "an array with non-finite entries"
        raise ValueError(f"{name} must be finite, got {shown}")


def positive(name: str, value: Any) -> None:
    """Raise unless every entry of ``value`` is finite and > 0."""
    finite(name, value)
    arr = np.asarray(value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(arr > 0):
        shown = value if arr.ndim == 0 else arr[arr <= 0].flat[0]
        raise ValueError(f"{name} must be > 0, got {shown}")


def at_least(name: str, value: int, minimum: int) -> None:
    """Raise unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def one_of(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def interval(name: str, value: tuple[float, float]) -> None:
    """Raise unless ``value`` is a finite (lo, hi) pair with lo < hi."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"{name} must be a finite interval with lo < hi, got {value!r}")


INT64_MAX = 2**63 - 1


def _ranges(name: str, text: str) -> list[tuple[int, int]]:
    out = []
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", part)
        if not m:
            raise ValueError(f"{name} must be integers or ranges like 0-99, got {text!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"{name} range must go upwards, got {part.strip()!r}")
        for v in (lo, hi):
            if not -INT64_MAX - 1 <= v <= INT64_MAX:
                raise ValueError(f"{name} must be 64-bit integers (|value| < 2**63), got {v}")
        out.append((lo, hi))
    return out


def count_int_ranges(name: str, text: str) -> int:
    """How many integers ``text`` ('0-99', '0,5,7', ...) gives, without listing them."""
    return sum(hi - lo + 1 for lo, hi in _ranges(name, text))


def int_ranges(name: str, text: str, *, max_count: int | None = None) -> list[int]:
    """Parse '0-99', '3', '0,5,7' or '0-4,10-12' (inclusive ranges) into a list of ints.

    Args:
        name: the argument, for messages.
        text: the ranges.
        max_count: refuse (before building the list) when the ranges give more values.

    Raises:
        ValueError: malformed text, a downward range, a value outside 64-bit integers, or
            more than ``max_count`` values.
    """
    ranges = _ranges(name, text)
    n = sum(hi - lo + 1 for lo, hi in ranges)
    if max_count is not None and n > max_count:
        raise ValueError(f"{name} {text!r} gives {n:,} values, above the limit of {max_count:,}")
    out: list[int] = []
    for lo, hi in ranges:
        out.extend(range(lo, hi + 1))
    return out


def seed(name: str, value: Any) -> int:
    """Raise unless ``value`` is an integer seed in ``0 .. 2**63 - 1``; return it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 0 <= value <= INT64_MAX:
        raise ValueError(f"{name} must be in 0..2**63-1, got {value}")
    return int(value)


def real(name: str, value: Any) -> None:
    """Raise unless ``value`` is a real number or an array/sequence of them (no strings,
    no booleans, no None)."""
    arr = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "fiu":
        return
    items = arr.ravel().tolist() if isinstance(arr, np.ndarray) else [value]
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(
            v, (int, float, np.integer, np.floating)
        ):
            raise ValueError(f"{name} must be a number or numbers, got {v!r}")

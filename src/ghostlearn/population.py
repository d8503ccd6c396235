"""Who is trained: a population of networks that differ in seed, learning rate and
confidence ``c``.

A :class:`Population` holds three equal-length arrays, one entry per network. Build one
from values broadcast against each other (``Population(seeds=range(10), lr=0.01)``) or
as a cartesian product (:meth:`Population.grid`, :func:`grid`), and hand it to
:func:`ghostlearn.train.train`::

    pop = grid(seeds=range(10), lr=[0.01, 0.1], c=[1.0, 10.0])   # 40 networks
    ds = train(RNNConfig(), pop, epochs=6000)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from . import _validate, resources

__all__ = ["Population", "grid"]


def _iter(value: Any) -> Iterator[Any]:
    if np.ndim(value) == 0 and not isinstance(value, (range, list, tuple)):
        yield value
    else:
        yield from value


def _as_1d(name: str, value: Any, dtype: Any) -> np.ndarray:
    try:
        arr = np.asarray(list(_iter(value)), dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a 1-D sequence, got {value!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-D sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def _seeds(value: Any) -> np.ndarray:
    raw = list(_iter(value))
    for s in raw:
        _validate.seed("seeds", s)
    return _as_1d("seeds", raw, np.int64)


def _rates(name: str, value: Any) -> np.ndarray:
    """A 1-D float array of finite numbers > 0."""
    _validate.real(name, value if isinstance(value, np.ndarray) else list(_iter(value)))
    arr = _as_1d(name, value, float)
    _validate.positive(name, arr if arr.size > 1 else float(arr[0]))
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class Population:
    """A population of networks: network ``i`` has seed ``seeds[i]``, learning rate
    ``lr[i]`` and confidence ``c[i]``.

    The three are numbers or 1-D sequences broadcast against each other (each of length
    ``P`` or 1). ``lr`` is ``None`` for an optimizer that carries its own rate (an optax
    ``GradientTransformation``); ``c`` is ``None`` where the model has no confidence, or
    to take the default (10, or the trained ``c`` of resumed parameters).

    Attributes:
        seeds: int64 ``[P]``, each in ``0 .. 2**63 - 1``.
        lr: float ``[P]`` of finite numbers > 0, or ``None``.
        c: float ``[P]`` of finite numbers > 0, or ``None``.

    Raises:
        ValueError: a bad seed, rate or confidence, or lengths that do not broadcast.
    """

    seeds: Any
    lr: Any = None
    c: Any = None

    def __post_init__(self) -> None:
        values = {"seeds": _seeds(self.seeds)}
        for name in ("lr", "c"):
            raw = getattr(self, name)
            if raw is not None:
                values[name] = _rates(name, raw)
        sizes = {k: v.size for k, v in values.items() if v.size != 1}
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{k} has {n}" for k, n in sizes.items())
            raise ValueError(f"seeds, lr and c must have equal lengths or length 1; {detail}")
        n = next(iter(sizes.values()), 1)
        for name, arr in values.items():
            arr = np.broadcast_to(arr, (n,)).copy()
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.seeds.size)

    def __repr__(self) -> str:
        def show(a: Any) -> str:
            if a is None:
                return "None"
            values = np.unique(a)
            text = ", ".join(f"{v:g}" for v in values[:4])
            return f"[{text}{', ...' if values.size > 4 else ''}]"

        return f"Population({len(self)} networks: seeds {show(self.seeds)}, lr {show(self.lr)}, c {show(self.c)})"

    def broadcast(self, P: int) -> Population:
        """This population with ``P`` networks (it must hold ``P``, or one to repeat)."""
        if len(self) not in (1, P):
            raise ValueError(f"params hold {P} networks but seeds/lr/c have {len(self)}")
        return self if len(self) == P else self[np.zeros(P, np.int64)]

    def __getitem__(self, index: Any) -> Population:
        """The networks ``index`` selects (an int, slice, integer or boolean array)."""
        idx = np.atleast_1d(np.arange(len(self))[index])

        def pick(a: Any) -> Any:
            return None if a is None else a[idx]

        return Population(seeds=pick(self.seeds), lr=pick(self.lr), c=pick(self.c))

    def to_dict(self) -> dict[str, list[Any]]:
        """JSON-compatible: ``{"seeds": [...], "lr": [...] or None, "c": [...] or None}``."""
        return {
            "seeds": self.seeds.tolist(),
            "lr": None if self.lr is None else self.lr.tolist(),
            "c": None if self.c is None else self.c.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Population:
        """The inverse of :meth:`to_dict`."""
        return cls(seeds=data["seeds"], lr=data.get("lr"), c=data.get("c"))

    @classmethod
    def grid(
        cls,
        *,
        seeds: int | Iterable[int],
        lr: float | Iterable[float] | None = None,
        c: float | Iterable[float] | None = None,
    ) -> Population:
        """The cartesian product seeds x learning rates x confidences.

        The first factor varies slowest: ``Population.grid(seeds=[0, 1], lr=[0.1, 0.2])``
        has ``seeds = [0, 0, 1, 1]``, ``lr = [0.1, 0.2, 0.1, 0.2]``.

        Raises:
            ValueError: a bad factor, or a product too large for the memory (checked from
                the factors' lengths, before building it).
        """
        given = {"seeds": seeds, "lr": lr, "c": c}
        lengths = {
            k: len(v)
            for k, v in given.items()
            if isinstance(v, (range, list, tuple)) or (isinstance(v, np.ndarray) and v.ndim)
        }
        total = math.prod(lengths.values())
        n_factors = sum(v is not None for v in given.values())
        resources.check_memory(
            f"grid of {' x '.join(f'{n:,}' for n in lengths.values())} = {total:,} networks",
            total * 8 * 2 * n_factors,
        )
        factors = {"seeds": _seeds(seeds)}
        for name in ("lr", "c"):
            if given[name] is not None:
                factors[name] = _rates(name, given[name])
        sizes = [a.size for a in factors.values()]
        out = {}
        for i, (name, arr) in enumerate(factors.items()):
            inner = math.prod(sizes[i + 1 :])
            outer = math.prod(sizes[:i])
            out[name] = np.tile(np.repeat(arr, inner), outer)
        return cls(**out)


def grid(
    *,
    seeds: int | Iterable[int],
    lr: float | Iterable[float] | None = None,
    c: float | Iterable[float] | None = None,
) -> Population:
    """The cartesian product seeds x learning rates x confidences
    (:meth:`Population.grid`): ``train(cfg, grid(seeds=range(10), lr=lrs), epochs=...)``."""
    return Population.grid(seeds=seeds, lr=lr, c=c)

"""Sweep specifications: which networks a sweep trains.

A sweep spec is a TOML file with four tables::

    [sweep]                 # optional
    name = "fig-s2"
    batch_size = 1000       # most networks trained in one compiled program

    [model]                 # fixed fields of ghostlearn.rnn.RNNConfig
    model = "lowrank"
    N = 100

    [train]                 # fixed training settings (seed, lr and c may be fixed here too)
    epochs = 6000
    optimizer = "sgd"

    [grid]                  # swept fields: any model or training field
    rank = [1, 2, 5]
    lr = {logspace = [-3, 0, 10]}
    seed = "0-9"

A grid value is a list (``[1.0, 10.0]``), an inclusive integer range string (``"0-9"``,
``"0-4,10-12"``), ``{range = [start, stop(, step)]}`` (Python's half-open range),
``{logspace = [lo, hi, n]}`` (``10**lo .. 10**hi``) or ``{linspace = [lo, hi, n]}``; a
single value is a grid axis of length one.

The sweep's cells are the cartesian product of the grid axes, numbered in C order (the last
axis varies fastest); :mod:`ghostlearn.sweep.plan` groups them into batches.

Field names, kinds and defaults come from the engine (``RNNConfig``'s fields and
``train``'s keyword arguments), so a spec can set exactly what the engine accepts. Nothing
here writes to disk; :func:`load_spec` reads the TOML file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import at_least, count_int_ranges, int_ranges, one_of, positive
from ..resources import check_networks

__all__ = [
    "SweepSpec",
    "field_kinds",
    "load_spec",
    "parse_spec",
    "spec_differences",
    "spec_hash",
    "spec_model_keys",
]

# The population's fields a spec may set: name -> (kind, default); None as default:
# required (fixed in [train] or swept in [grid]). A spec names one network's seed.
_POPULATION_FIELDS: dict[str, tuple[str, Any]] = {
    "seed": ("int", 0),
    "lr": ("float", None),
    "c": ("float", 10.0),
}
# The fields of ghostlearn.train.TrainConfig a spec may set (the others are the engine's:
# chunking, devices, memory limits).
_CONFIG_FIELDS = ("epochs", "optimizer", "init", "dtype", "snapshot_every", "metrics_every")

_TABLES = ("sweep", "model", "train", "grid")
# Default of an RNNConfig field that the engine fills in itself (None in RNNConfig).
_ENGINE_RESOLVES = "(engine default)"
DEFAULT_BATCH_SIZE = 1000


_KINDS = {bool: "bool", int: "int", float: "float", str: "str"}


def _kind_of(tp: Any) -> str | None:
    """'bool', 'int', 'float' or 'str' for a field's type (Optional and Literal allowed)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        kinds = {_KINDS.get(type(a)) for a in args}
        return kinds.pop() if len(kinds) == 1 else None
    if origin in (typing.Union, types.UnionType):
        kinds = {_kind_of(a) for a in args if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    return _KINDS.get(tp)


def _model_fields() -> dict[str, tuple[str, Any]]:
    """RNNConfig's fields: name -> (kind, default); a default of None means the engine
    resolves the value (e.g. ``rank``), and the field is then left out unless given."""
    from ..rnn import RNNConfig

    hints = typing.get_type_hints(RNNConfig)
    out = {}
    for f in dataclasses.fields(RNNConfig):
        if not f.init or f.default is dataclasses.MISSING:
            continue
        kind = _kind_of(hints.get(f.name)) or _KINDS.get(type(f.default))
        if kind is not None:
            out[f.name] = (kind, _ENGINE_RESOLVES if f.default is None else f.default)
    return out


def _train_fields() -> dict[str, tuple[str, Any]]:
    """The training fields: the population's, then :class:`ghostlearn.train.TrainConfig`'s
    (kind from the field's type, default from its default; required fields: None)."""
    from ..train import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    out = dict(_POPULATION_FIELDS)
    for name in _CONFIG_FIELDS:
        f = fields[name]
        kind = _kind_of(hints[name]) or "str"  # the optimizer: a name in a spec
        out[name] = (kind, None if f.default is dataclasses.MISSING else f.default)
    return out


def _choices() -> dict[str, tuple[str, ...]]:
    """Allowed values of the string training settings, from the engine."""
    from ..rnn import INIT_METHODS
    from ..train import OPTIMIZERS

    return {
        "optimizer": tuple(OPTIMIZERS),
        "init": tuple(INIT_METHODS),
        "dtype": ("float32", "float64"),
    }


def field_kinds() -> dict[str, tuple[str, str, Any]]:
    """Every field a spec may set: ``name -> (table, kind, default)``.

    ``table`` is ``"model"`` (a field of :class:`ghostlearn.rnn.RNNConfig`) or ``"train"``;
    ``kind`` is one of ``"int"``, ``"float"``, ``"bool"``, ``"str"``; a default of ``None``
    means the field is required, ``"(engine default)"`` that ``RNNConfig`` resolves it.
    """
    out = {name: ("model", kind, default) for name, (kind, default) in _model_fields().items()}
    for name, (kind, default) in _train_fields().items():
        out[name] = ("train", kind, default)
    return out


# --------------------------------------------------------------------------- values


def _check(name: str, kind: str, value: Any) -> Any:
    """Return ``value`` as a plain Python value of ``kind`` or raise naming ``name``."""
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return bool(value)
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"{name} must be a 64-bit integer (|value| < 2**63), got {value}")
        return int(value)
    if kind == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise ValueError(f"{name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _grid_size(name: str, kind: str, raw: Any) -> int:
    """How many values a grid entry gives, without building them (malformed entries
    count as 1 here and are refused by :func:`_grid_values`)."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        key, args = next(iter(raw.items()))
        ok = isinstance(args, list) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in args
        )
        if key == "range" and ok and len(args) in (2, 3) and (len(args) == 2 or args[2] != 0):
            return len(range(*args))
        if key in ("logspace", "linspace") and isinstance(args, list) and len(args) == 3:
            n = args[2]
            return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else 1
        return 1
    if isinstance(raw, (list, tuple)):
        return len(raw)
    if isinstance(raw, str) and kind == "int":
        return count_int_ranges(f"grid {name}", raw)
    return 1


def _grid_values(name: str, kind: str, raw: Any) -> tuple[Any, ...]:
    """Expand one grid entry (list, range string, range/logspace/linspace table, scalar)."""
    where = f"grid {name}"
    if isinstance(raw, Mapping):
        if len(raw) != 1 or next(iter(raw)) not in ("range", "logspace", "linspace"):
            raise ValueError(
                f"{where} must be a list, a range string like '0-9', or one of "
                f"{{range = [start, stop]}}, {{logspace = [lo, hi, n]}}, "
                f"{{linspace = [lo, hi, n]}}; got {dict(raw)!r}"
            )
        key, args = next(iter(raw.items()))
        if key == "range":
            ok = (
                isinstance(args, list)
                and len(args) in (2, 3)
                and all(isinstance(a, int) and not isinstance(a, bool) for a in args)
                and (len(args) == 2 or args[2] != 0)
            )
            if not ok:
                raise ValueError(
                    f"{where} range must be [start, stop] or [start, stop, step] "
                    f"integers, got {args!r}"
                )
            values: list[Any] = list(range(*args))
        else:
            ok = (
                isinstance(args, list)
                and len(args) == 3
                and all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
                and isinstance(args[2], int)
                and args[2] >= 1
            )
            if not ok:
                raise ValueError(
                    f"{where} {key} must be [lo, hi, n] with an integer n >= 1, got {args!r}"
                )
            if kind != "float":
                raise ValueError(f"{where}: {key} gives numbers, but {name} is of kind {kind}")
            space = np.logspace if key == "logspace" else np.linspace
            values = [float(v) for v in space(float(args[0]), float(args[1]), args[2])]
    elif isinstance(raw, (list, tuple)):
        values = list(raw)
    elif isinstance(raw, str) and kind == "int":
        values = int_ranges(where, raw)
    else:
        values = [raw]
    if not values:
        raise ValueError(f"{where} is empty")
    checked = tuple(_check(where, kind, v) for v in values)
    seen: set[Any] = set()
    for v in checked:
        if v in seen:
            raise ValueError(f"{where} has the value {v!r} twice")
        seen.add(v)
    return checked


# --------------------------------------------------------------------------- spec


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """A validated sweep: fixed settings, swept fields and batch size.

    Built from the tables of a TOML spec (see the module docstring); every field not given
    takes its default (``RNNConfig``'s and ``train``'s), so two specs with equal
    attributes train the same networks.

    Attributes:
        model: every ``RNNConfig`` field that is not swept -> its value.
        train: every training field (``seed``, ``lr``, ``c``, ``epochs``, ``optimizer``,
            ``init``, ``dtype``, ``snapshot_every``, ...) that is not swept -> its value.
        grid: swept field -> its values (a tuple), in the order of the spec; these are the
            dimensions of the loaded sweep.
        batch_size: most networks trained together in one compiled program.
        name: a label for the sweep (free text).
        max_networks: most cells the grid may have (default
            :data:`ghostlearn.resources.DEFAULT_MAX_NETWORKS`); checked from the axes'
            lengths before any list of values is built. Not part of the spec's identity.

    Raises:
        ValueError: unknown field, a field both fixed and swept, a value of the wrong kind,
            an empty grid or grid axis, a required field missing, ``batch_size`` < 1, a
            grid of more than ``max_networks`` cells.
    """

    model: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    train: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    grid: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    batch_size: int = DEFAULT_BATCH_SIZE
    name: str = ""
    max_networks: int | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        kinds = field_kinds()
        at_least("batch_size", self.batch_size, 1)
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}")
        for table in ("model", "train", "grid"):
            if not isinstance(getattr(self, table), Mapping):
                raise ValueError(f"[{table}] must be a table, got {getattr(self, table)!r}")
        for table in ("model", "train"):
            for key in getattr(self, table):
                if key not in kinds:
                    raise ValueError(_unknown(key, kinds, f"[{table}]"))
                if kinds[key][0] != table:
                    raise ValueError(f"{key} belongs in [{kinds[key][0]}], not in [{table}]")
        for key in self.grid:
            if key not in kinds:
                raise ValueError(_unknown(key, kinds, "[grid]"))
            for table in ("model", "train"):
                if key in getattr(self, table):
                    raise ValueError(f"{key} is both fixed in [{table}] and swept in [grid]")
        if not self.grid:
            raise ValueError('[grid] is empty: sweep at least one field, e.g. seed = "0-9"')
        if self.max_networks is not None:
            at_least("max_networks", self.max_networks, 1)
        sizes = {key: _grid_size(key, kinds[key][1], raw) for key, raw in self.grid.items()}
        check_networks(
            "[grid] " + " x ".join(f"{k} ({n:,})" for k, n in sizes.items()),
            math.prod(sizes.values()),
            self.max_networks,
        )
        grid = {key: _grid_values(key, kinds[key][1], raw) for key, raw in self.grid.items()}
        fixed: dict[str, dict[str, Any]] = {"model": {}, "train": {}}
        for key, (table, kind, default) in kinds.items():
            if key in grid:
                continue
            given = getattr(self, table)
            if key in given and not (default is _ENGINE_RESOLVES and given[key] is None):
                fixed[table][key] = _check(key, kind, given[key])
            elif default is _ENGINE_RESOLVES:
                continue
            elif default is None:
                raise ValueError(f"{key} is required: set it in [{table}] or sweep it in [grid]")
            else:
                fixed[table][key] = default
        choices = _choices()
        for key, values in [*grid.items(), *((k, (v,)) for k, v in fixed["train"].items())]:
            if key in choices:
                for v in values:
                    one_of(key, v, choices[key])
            elif key in ("lr", "c"):
                positive(key, np.asarray(values, dtype=float))
            elif key in ("epochs", "seed"):
                for v in values:
                    at_least(key, v, 1 if key == "epochs" else 0)
            elif key in ("snapshot_every", "metrics_every"):
                for v in values:
                    at_least(key, v, 0 if key == "snapshot_every" else 1)
        object.__setattr__(self, "model", fixed["model"])
        object.__setattr__(self, "train", fixed["train"])
        object.__setattr__(self, "grid", grid)

    @property
    def dims(self) -> tuple[str, ...]:
        """The swept fields, in order: the dimensions of the loaded sweep."""
        return tuple(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values of each swept field."""
        return tuple(len(v) for v in self.grid.values())

    def value(self, name: str) -> Any:
        """The fixed value of ``name``, or its tuple of values if it is swept."""
        for table in (self.grid, self.model, self.train):
            if name in table:
                return table[name]
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The spec as TOML-shaped plain data (``parse_spec(spec.to_dict()) == spec``)."""
        return {
            "sweep": {"name": self.name, "batch_size": self.batch_size},
            "model": dict(self.model),
            "train": dict(self.train),
            "grid": {k: list(v) for k, v in self.grid.items()},
        }


def spec_hash(spec: SweepSpec) -> str:
    """A short fingerprint of what ``spec`` trains: the sha256 of its canonical JSON
    (fields, grid in order, batch size; the free-text ``name`` left out). Two specs with
    the same hash train the same networks in the same batches."""
    data = spec.to_dict()
    data["sweep"] = {"batch_size": spec.batch_size}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _unknown(key: str, kinds: Mapping[str, Any], where: str) -> str:
    return f"unknown field {key!r} in {where}; valid: {', '.join(sorted(kinds))}"


def parse_spec(data: Mapping[str, Any], *, max_networks: int | None = None) -> SweepSpec:
    """Build a :class:`SweepSpec` from TOML-shaped data (tables ``sweep``, ``model``,
    ``train``, ``grid``); ``max_networks`` as in :class:`SweepSpec`.

    Raises:
        ValueError: an unknown table or field, or anything :class:`SweepSpec` rejects.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a sweep spec must be a table, got {data!r}")
    for key in data:
        if key not in _TABLES:
            raise ValueError(f"unknown table [{key}] in the spec; valid: {', '.join(_TABLES)}")
    sweep = data.get("sweep", {})
    if not isinstance(sweep, Mapping):
        raise ValueError(f"[sweep] must be a table, got {sweep!r}")
    for key in sweep:
        if key not in ("name", "batch_size"):
            raise ValueError(f"unknown field {key!r} in [sweep]; valid: batch_size, name")
    return SweepSpec(
        model=data.get("model", {}),
        train=data.get("train", {}),
        grid=data.get("grid", {}),
        batch_size=sweep.get("batch_size", DEFAULT_BATCH_SIZE),
        name=sweep.get("name", ""),
        max_networks=max_networks,
    )


def load_spec(path: str | Path, *, max_networks: int | None = None) -> SweepSpec:
    """Read a TOML sweep spec (see the module docstring for the format); ``max_networks``
    as in :class:`SweepSpec`.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not valid TOML (with the line), or a bad spec.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep spec at {str(path)!r}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path.name} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not a TOML text file (not UTF-8)") from None
    return parse_spec(data, max_networks=max_networks)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        items = [repr(v) for v in value]
        if len(items) > 8:
            items = [*items[:3], "...", *items[-2:]]
            return f"[{', '.join(items)}] ({len(value)} values)"
        return f"[{', '.join(items)}]"
    return repr(value)


def spec_differences(old: SweepSpec, new: SweepSpec) -> list[str]:
    """What changed from ``old`` to ``new``, one phrase per field (empty when they train
    the same networks in the same batches; the ``name`` is ignored)."""
    out = []
    names = [*old.grid, *(k for k in new.grid if k not in old.grid)]
    names += [k for k in (*old.model, *old.train, *new.model, *new.train) if k not in names]
    for key in dict.fromkeys(names):
        a = _value_or_missing(old, key)
        b = _value_or_missing(new, key)
        if isinstance(a, tuple):
            a = list(a)
        if isinstance(b, tuple):
            b = list(b)
        if a != b:
            out.append(f"{key} changed from {_show(a)} to {_show(b)}")
    if not out and old.dims != new.dims:
        out.append(f"grid order changed from {list(old.dims)} to {list(new.dims)}")
    if old.batch_size != new.batch_size:
        out.append(f"batch_size changed from {old.batch_size} to {new.batch_size}")
    return out


def _value_or_missing(spec: SweepSpec, key: str) -> Any:
    try:
        return spec.value(key)
    except KeyError:
        return "(absent)"


def spec_model_keys() -> tuple[str, ...]:
    """Names of the ``RNNConfig`` fields a spec may set."""
    return tuple(_model_fields())

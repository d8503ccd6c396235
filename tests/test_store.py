"""Atomic writes and safe reads of results."""

import json

import numpy as np
import pytest
import xarray as xr

from ghostlearn.store import atomic_path, open_zarr, read_json, to_jsonable, write_json, write_zarr


def test_json_round_trip_with_numpy_and_nonfinite(tmp_path):
    path = write_json(
        {"a": np.float32(1.5), "b": np.arange(3), "c": float("nan"), "d": (1, np.bool_(True))},
        tmp_path / "x.json",
    )
    assert read_json(path) == {"a": 1.5, "b": [0, 1, 2], "c": None, "d": [1, True]}
    json.loads(path.read_text())  # strict JSON: no NaN tokens


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_old_file(tmp_path):
    target = write_json({"v": 1}, tmp_path / "out.json")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_zarr_round_trip_and_overwrite(tmp_path):
    ds = xr.Dataset(
        {"loss": (("net", "epoch"), np.arange(6.0).reshape(2, 3))},
        coords={"seed": ("net", [3, 4])},
        attrs={"config": {"lr": np.float64(0.02), "shape": (2, 3)}},
    )
    path = write_zarr(ds, tmp_path / "data.zarr")
    back = open_zarr(path)
    xr.testing.assert_identical(back.drop_attrs(), ds.drop_attrs())
    assert back.attrs["config"] == {"lr": 0.02, "shape": [2, 3]}
    write_zarr(ds * 2, path)  # replacing an existing store
    np.testing.assert_array_equal(open_zarr(path).loss, ds.loss * 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.zarr"]


def test_open_missing_store_names_path(tmp_path):
    with pytest.raises(ValueError, match="path does not exist"):
        open_zarr(tmp_path / "nope.zarr")


def test_to_jsonable_inf_becomes_null():
    assert to_jsonable([np.inf, -np.inf, 2]) == [None, None, 2]


def test_datatree_round_trip(tmp_path):
    tree = xr.DataTree.from_dict(
        {"A": xr.Dataset({"x": ("r", [1.0, 2.0])}), "B": xr.Dataset({"y": ("e", [3, 4, 5])})}
    )
    tree.attrs["note"] = "groups"
    from ghostlearn.store import open_tree

    back = open_tree(write_zarr(tree, tmp_path / "d.zarr"))
    np.testing.assert_array_equal(back["A"]["x"], [1.0, 2.0])
    np.testing.assert_array_equal(back["B"]["y"], [3, 4, 5])
    assert back.attrs["note"] == "groups"


def test_claims_report_rows_and_markdown(tmp_path):
    from ghostlearn.experiments.claims import write_claims

    summaries = [
        {
            "fidelity": "quick",
            "claims": [
                {
                    "figure": "f",
                    "claim": "a | b",
                    "paper": 74,
                    "measured": 0.123456,
                    "reproduced": True,
                    "note": "",
                },
                {
                    "figure": "f",
                    "claim": "c",
                    "paper": [1, 2],
                    "measured": {"x": 1.0, "y": None},
                    "reproduced": False,
                    "note": "chaos",
                },
                {
                    "figure": "f",
                    "claim": "d",
                    "paper": "words",
                    "measured": None,
                    "verdict": "skipped",
                    "reason": "skipped: needs paper fidelity",
                },
            ],
            "census_A": {"text": "7 of 10 networks ghost-mediated"},
            "experiment": "f",
        }
    ]
    rows = write_claims(summaries, tmp_path)
    assert [r["verdict"] for r in rows] == ["reproduced", "differs", "skipped"]
    assert read_json(tmp_path / "claims.json") == rows
    md = (tmp_path / "claims.md").read_text()
    # the legacy boolean rows are read as verdicts; the skipped claim counts for nothing
    assert "1 of 2 testable claims reproduced, 1 skipped." in md
    assert "| f | a \\| b | 74 | 0.1235 | reproduced |  |" in md
    assert "- f census_A: 7 of 10 networks ghost-mediated" in md
    assert "| f | c | [1, 2] | x = 1; y = - | differs | chaos |" in md


# ---------------------------------------------------------------- typed JSON


def test_from_jsonable_inverts_to_jsonable_for_nested_typed_dataclasses():
    import dataclasses
    import math
    from typing import Literal

    from ghostlearn.store import from_jsonable, to_jsonable

    @dataclasses.dataclass(frozen=True)
    class Inner:
        count: int
        rate: float | None
        label: Literal["a", "b"]

    @dataclasses.dataclass(frozen=True)
    class Outer:
        inner: Inner
        items: list[Inner]
        pair: tuple[int, float]
        by_name: dict[str, tuple[float, ...]]
        by_int: dict[int, bool]
        gap: float = math.nan
        note: str | None = None

    value = Outer(
        inner=Inner(count=3, rate=None, label="a"),
        items=[Inner(count=1, rate=0.5, label="b")],
        pair=(2, 1.5),
        by_name={"x": (1.0, 2.0)},
        by_int={4: True},
        gap=math.inf,
    )
    stored = json.loads(json.dumps(to_jsonable(value)))
    back = from_jsonable(Outer, stored)
    assert back.inner == value.inner and back.items == value.items and back.pair == (2, 1.5)
    assert back.by_name == {"x": (1.0, 2.0)} and back.by_int == {4: True}
    assert math.isnan(back.gap)  # a non-finite float is stored as null and read as NaN
    assert to_jsonable(back) == stored


def test_from_jsonable_names_what_does_not_fit():
    import dataclasses

    from ghostlearn.store import from_jsonable

    @dataclasses.dataclass(frozen=True)
    class S:
        n: int
        x: float = 0.0

    with pytest.raises(ValueError, match=r"summary has keys S does not know: \['y'\]"):
        from_jsonable(S, {"n": 1, "y": 2}, where="summary")
    with pytest.raises(ValueError, match=r"summary is missing S's field 'n'"):
        from_jsonable(S, {"x": 1.0}, where="summary")
    with pytest.raises(ValueError, match=r"summary.n must be int, got 1.5"):
        from_jsonable(S, {"n": 1.5}, where="summary")
    with pytest.raises(ValueError, match=r"summary.x must be a number, got 'a'"):
        from_jsonable(S, {"n": 1, "x": "a"}, where="summary")


def test_from_jsonable_takes_numpy_scalars_of_attributes_not_yet_written():
    from ghostlearn.store import from_jsonable

    assert from_jsonable(int, np.int64(3)) == 3 and type(from_jsonable(int, np.int64(3))) is int
    assert from_jsonable(float, np.float32(0.5)) == 0.5
    assert from_jsonable(bool, np.bool_(True)) is True
    with pytest.raises(ValueError, match="must be int, got True"):
        from_jsonable(int, True)
    with pytest.raises(ValueError, match="must be a number"):
        from_jsonable(float, np.bool_(False))

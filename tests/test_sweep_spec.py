"""Sweep specs and plans: grid syntax, defaults, batch groups and batches, bad input."""

import dataclasses
import itertools
import math
import tracemalloc

import numpy as np
import pytest

from ghostlearn.resources import DEFAULT_MAX_NETWORKS
from ghostlearn.sweep import (
    MAX_GROUPS,
    PER_NET_FIELDS,
    load_spec,
    parse_spec,
    plan_sweep,
    spec_differences,
)


def spec(grid, model=None, train=None, **sweep):
    """A small spec: N = 8 and 5 epochs unless swept, lr = 0.1 unless given."""
    model = model if model is not None else ({} if "N" in grid else {"N": 8})
    train = {"epochs": 5, "lr": 0.1, **(train or {})}
    train = {k: v for k, v in train.items() if k not in grid}
    return parse_spec({"model": model, "train": train, "grid": grid, "sweep": sweep})


def test_grid_forms_expand_to_values():
    s = spec(
        {
            "seed": "0-2,7",
            "lr": {"logspace": [-3, 0, 4]},
            "c": {"linspace": [1, 3, 3]},
            "N": {"range": [8, 14, 3]},
            "T": 50,
        }
    )
    assert s.grid["seed"] == (0, 1, 2, 7)
    np.testing.assert_allclose(s.grid["lr"], [1e-3, 1e-2, 1e-1, 1.0], rtol=1e-15)
    assert s.grid["c"] == (1.0, 2.0, 3.0)
    assert s.grid["N"] == (8, 11)
    assert s.grid["T"] == (50.0,)  # a single value is an axis of length one
    assert s.dims == ("seed", "lr", "c", "N", "T")
    assert s.shape == (4, 4, 3, 2, 1)
    assert spec({"seed": {"range": [0, 10]}}).grid["seed"] == tuple(range(10))


def test_defaults_come_from_the_engine_and_round_trip():
    from ghostlearn.rnn import RNNConfig

    s = spec({"seed": [0, 1]}, train={"lr": 0.02})
    for f in dataclasses.fields(RNNConfig):
        if f.default is None:  # resolved by RNNConfig itself (rank): left to it
            assert f.name not in s.model
        else:
            assert s.model[f.name] == (8 if f.name == "N" else f.default)
    assert s.train["optimizer"] == "sgd" and s.train["c"] == 10.0 and s.train["lr"] == 0.02
    assert parse_spec(s.to_dict()) == s


def test_load_spec_reads_toml(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        '[sweep]\nname = "t"\nbatch_size = 4\n[model]\nN = 8\n[train]\nepochs = 3\n'
        '[grid]\nseed = "0-9"\nlr = {logspace = [-3, 0, 10]}\nc = [1.0, 10.0]\n'
    )
    s = load_spec(path)
    assert (s.name, s.batch_size, s.shape) == ("t", 4, (10, 10, 2))


def test_plan_counts_groups_and_batches():
    # rank x lr x seed: rank changes the program, lr and seed vary inside a batch.
    s = spec(
        {"rank": [1, 2, 4], "lr": [0.01, 0.1], "seed": "0-6"},
        model={"model": "lowrank", "N": 8},
        batch_size=5,
    )
    plan = plan_sweep(s)
    assert plan.n_cells == 3 * 2 * 7
    assert [dict(g.settings) for g in plan.groups] == [{"rank": 1}, {"rank": 2}, {"rank": 4}]
    assert [g.n_cells for g in plan.groups] == [14, 14, 14]
    # 14 networks, at most 5 per batch: 3 batches of near-equal size.
    assert [b.n_nets for b in plan.batches] == [5, 5, 4] * 3
    assert [b.name for b in plan.batches][:2] == ["b00000", "b00001"]
    cells = np.concatenate([b.cells for b in plan.batches])
    np.testing.assert_array_equal(np.sort(cells), np.arange(plan.n_cells))
    assert plan.net_epochs == plan.n_cells * 5
    # Each network gets the values of its cell (C order: seed fastest).
    for b in plan.batches:
        rank_i, lr_i, seed_i = np.unravel_index(b.cells, plan.shape)
        np.testing.assert_array_equal(b.seed, np.array([0, 1, 2, 3, 4, 5, 6])[seed_i])
        np.testing.assert_array_equal(b.lr, np.array([0.01, 0.1])[lr_i])
        assert {s.grid["rank"][i] for i in rank_i} == {b.model["rank"]}
        assert np.all(np.isnan(b.c))  # low-rank models have no confidence


def test_plan_per_net_fields_share_one_group_and_batch_size_override():
    s = spec({"lr": [0.01, 0.1], "c": [1.0, 10.0], "seed": "0-9"})
    assert set(s.dims) <= set(PER_NET_FIELDS)
    plan = plan_sweep(s)
    assert len(plan.groups) == 1 and len(plan.batches) == 1 and plan.batches[0].n_nets == 40
    small = plan_sweep(s, batch_size=16)
    assert [b.n_nets for b in small.batches] == [14, 13, 13]
    assert small.spec.batch_size == 16
    assert math.prod(small.shape) == 40


def test_full_rank_resolves_its_rank_per_N():
    plan = plan_sweep(spec({"N": [8, 12], "seed": [0]}, model={"model": "full"}))
    assert [dict(g.settings) for g in plan.groups] == [{"N": 8}, {"N": 12}]
    assert all("rank" not in b.model for b in plan.batches)


def test_training_fields_can_be_swept_and_split_groups():
    plan = plan_sweep(spec({"epochs": [3, 5], "seed": [0, 1]}))
    assert [dict(g.settings) for g in plan.groups] == [{"epochs": 3}, {"epochs": 5}]
    assert [b.train["epochs"] for b in plan.batches] == [3, 5]
    assert plan.net_epochs == 2 * 3 + 2 * 5


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1, "bogus": 1}},
            r"unknown field 'bogus' in \[train\]",
        ),
        (
            {"grid": {"sigma": [0.1]}, "train": {"epochs": 5, "lr": 0.1}},
            r"unknown field 'sigma' in \[grid\]",
        ),
        ({"grid": {}, "train": {"epochs": 5, "lr": 0.1}}, r"\[grid\] is empty"),
        ({"grid": {"seed": []}, "train": {"epochs": 5, "lr": 0.1}}, "grid seed is empty"),
        (
            {"grid": {"N": [8, "ten"]}, "train": {"epochs": 5, "lr": 0.1}},
            "grid N must be an integer, got 'ten'",
        ),
        (
            {"grid": {"N": [8.5]}, "train": {"epochs": 5, "lr": 0.1}},
            "grid N must be an integer, got 8.5",
        ),
        (
            {"grid": {"lr": ["fast"]}, "train": {"epochs": 5}},
            "grid lr must be a number, got 'fast'",
        ),
        ({"grid": {"lr": [0.1, -0.1]}, "train": {"epochs": 5}}, "lr must be > 0, got -0.1"),
        (
            {"grid": {"seed": "0-x"}, "train": {"epochs": 5, "lr": 0.1}},
            "grid seed must be integers or ranges like 0-99, got '0-x'",
        ),
        (
            {"grid": {"seed": [1, 1]}, "train": {"epochs": 5, "lr": 0.1}},
            "grid seed has the value 1 twice",
        ),
        (
            {"grid": {"lr": {"logspace": [-3, 0]}}, "train": {"epochs": 5}},
            r"grid lr logspace must be \[lo, hi, n\]",
        ),
        (
            {"grid": {"seed": {"geomspace": [1, 2, 3]}}, "train": {"epochs": 5, "lr": 0.1}},
            "grid seed must be a list",
        ),
        (
            {"grid": {"lr": [0.1]}, "train": {"epochs": 5, "lr": 0.1}},
            r"lr is both fixed in \[train\] and swept in \[grid\]",
        ),
        ({"grid": {"seed": [0]}, "train": {"epochs": 5}}, r"lr is required"),
        ({"grid": {"seed": [0]}, "train": {"lr": 0.1}}, r"epochs is required"),
        ({"grid": {"seed": [0]}, "train": {"epochs": 0, "lr": 0.1}}, "epochs must be >= 1, got 0"),
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1}, "model": {"train_c": 1}},
            "train_c must be true or false, got 1",
        ),
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1, "N": 8}},
            r"N belongs in \[model\], not in \[train\]",
        ),
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1}, "sweep": {"batch_size": 0}},
            "batch_size must be >= 1, got 0",
        ),
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1}, "extra": {}},
            r"unknown table \[extra\]",
        ),
        (
            {"grid": {"optimizer": ["sgd", "lbfgs"]}, "train": {"epochs": 5, "lr": 0.1}},
            "optimizer must be one of 'sgd', .*, got 'lbfgs'",
        ),
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1, "dtype": "float16"}},
            "dtype must be one of 'float32', 'float64', got 'float16'",
        ),
        (
            {"grid": {"seed": [0]}, "train": {"epochs": 5, "lr": 0.1, "metrics_every": 0}},
            "metrics_every must be >= 1, got 0",
        ),
        (
            {"grid": {"seed": "-2-3"}, "train": {"epochs": 5, "lr": 0.1}},
            "seed must be >= 0, got -2",
        ),
    ],
)
def test_bad_specs_are_refused_with_the_field_named(data, match):
    with pytest.raises(ValueError, match=match):
        parse_spec(data)


def test_bad_combination_is_refused_when_planning():
    s = spec({"rank": [1, 2]}, train={"lr": 0.1})  # model rank1 with rank 2
    with pytest.raises(ValueError, match=r"rank.*\(cells with rank=2\)"):
        plan_sweep(s)
    s = spec({"c": [1.0, 10.0]}, model={"model": "lowrank", "rank": 2, "N": 8})
    with pytest.raises(ValueError, match="c applies to model 'rank1' only, but it is swept"):
        plan_sweep(s)


def test_load_spec_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sweep spec at"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\nseed = 1\n")
    with pytest.raises(ValueError, match="bad.toml is not valid TOML"):
        load_spec(bad)


def test_spec_differences_name_the_field_and_both_values():
    a = spec({"lr": [0.01, 0.02], "seed": "0-3"})
    b = spec({"lr": [0.01, 0.03], "seed": "0-3"}, train={"epochs": 6})
    assert spec_differences(a, b) == [
        "lr changed from [0.01, 0.02] to [0.01, 0.03]",
        "epochs changed from 5 to 6",
    ]
    assert spec_differences(a, spec({"lr": [0.01, 0.02], "seed": {"range": [0, 4]}})) == []
    c = spec({"seed": "0-3", "lr": [0.01, 0.02]})
    assert spec_differences(a, c) == ["grid order changed from ['lr', 'seed'] to ['seed', 'lr']"]
    d = spec({"lr": [0.01, 0.02], "seed": "0-3"}, batch_size=7)
    assert spec_differences(a, d) == ["batch_size changed from 1000 to 7"]
    e = spec({"lr": [0.01, 0.02], "seed": "0-99"})
    assert spec_differences(a, e) == [
        "seed changed from [0, 1, 2, 3] to [0, 1, 2, ..., 98, 99] (100 values)"
    ]


# --------------------------------------------------------------------------- lazy plans


def eager_plan(s):
    """The plan written out cell by cell, from its definition: cells in C order; a group
    per combination of the structural fields' indices, in order of its first cell; each
    group cut into ceil(n / batch_size) runs of consecutive cells by numpy.array_split."""
    dims, shape = s.dims, s.shape
    structural = [a for a, d in enumerate(dims) if d not in PER_NET_FIELDS]
    cells_of = {}
    for cell, index in enumerate(itertools.product(*(range(n) for n in shape))):
        cells_of.setdefault(tuple(index[a] for a in structural), []).append((cell, index))
    batches = []
    for g, (key, members) in enumerate(cells_of.items()):
        settings = {dims[a]: s.grid[dims[a]][i] for a, i in zip(structural, key, strict=True)}
        model = settings.get("model", s.model.get("model", "rank1"))
        for chunk in np.array_split(np.arange(len(members)), -(-len(members) // s.batch_size)):

            def value(name, chunk=chunk, members=members):
                if name not in s.grid:
                    return [s.train[name]] * len(chunk)
                a = dims.index(name)
                return [s.grid[name][members[k][1][a]] for k in chunk]

            batches.append(
                {
                    "group": g,
                    "settings": settings,
                    "cells": [members[k][0] for k in chunk],
                    "seed": value("seed"),
                    "lr": value("lr"),
                    "c": value("c") if model == "rank1" else [math.nan] * len(chunk),
                }
            )
    return batches


MIXED = [
    # structural fields between per-network ones; uneven batches
    ({"lr": [0.01, 0.1, 1.0], "N": [8, 12], "seed": "0-4", "T": [20.0, 40.0]}, {}, 4),
    # low-rank models (no confidence), a training field that splits groups
    (
        {"rank": [1, 2], "seed": "0-6", "epochs": [3, 5], "lr": [0.1, 0.2]},
        {"model": "lowrank", "N": 8},
        5,
    ),
    # c swept with rank-one models; one batch per group
    ({"c": [1.0, 10.0], "dt": [5.0, 2.5], "seed": [3, 1, 2], "kappa_thr": [0.5, 1.0]}, None, 99),
    # per-network fields only: one group
    ({"seed": "0-9", "c": [1.0, 2.0, 3.0]}, None, 7),
    # structural fields only: one network per group, seed fixed
    ({"N": [8, 10, 12], "x0": [-0.3, -0.1]}, {}, 3),
]


@pytest.mark.parametrize(("grid", "model", "batch_size"), MIXED)
def test_lazy_plan_equals_the_cell_by_cell_plan(grid, model, batch_size):
    s = spec(grid, model=model, batch_size=batch_size)
    plan = plan_sweep(s)
    want = eager_plan(s)
    assert len(plan.batches) == len(want)
    assert [b.name for b in plan.batches] == [f"b{i:05d}" for i in range(len(want))]
    for batch, ref in zip(plan.batches, want, strict=True):
        assert batch.group == ref["group"]
        assert dict(plan.groups[batch.group].settings) == ref["settings"]
        np.testing.assert_array_equal(batch.cells, ref["cells"])
        np.testing.assert_array_equal(batch.seed, ref["seed"])
        np.testing.assert_array_equal(batch.lr, ref["lr"])
        np.testing.assert_array_equal(batch.c, ref["c"])
        assert batch.cells.dtype == batch.seed.dtype == np.int64
        assert batch.lr.dtype == batch.c.dtype == np.float64
        assert plan.batch(batch.name).cells.tolist() == ref["cells"]
        assert plan.batch_nets(batch.index) == len(ref["cells"])
    for g in plan.groups:
        members = [b for b in want if b["group"] == g.index]
        assert [plan.batches[i].group for i in g.batches] == [g.index] * len(members)
        assert g.n_cells == sum(len(b["cells"]) for b in members)
        assert g.batch_sizes == tuple(sorted({len(b["cells"]) for b in members}))
    assert plan.net_epochs == sum(plan.groups[b["group"]].epochs * len(b["cells"]) for b in want)
    assert plan.n_cells == sum(len(b["cells"]) for b in want)


def test_batches_are_a_sequence_found_by_index_or_name():
    plan = plan_sweep(spec({"N": [8, 12], "seed": "0-9"}, batch_size=4))  # 2 x 3 batches
    batches = plan.batches
    assert len(batches) == 6 and batches[-1].index == 5 and batches[-6].index == 0
    assert [b.index for b in batches[1:5:2]] == [1, 3] and len(batches[4:]) == 2
    assert [b.name for b in batches] == [b.name for b in list(batches)]
    assert plan.batch_indices(["b00004", "b00009", "x", "b0004", "b00000"]) == [4, 0]
    with pytest.raises(IndexError):
        batches[6]
    for name in ("b00006", "b0001", "b+0001", "00001", "b00001 "):
        with pytest.raises(KeyError):
            plan.batch(name)


@pytest.mark.parametrize(
    ("grid", "model", "last"),
    [
        # seed x lr: one group of 10,000 batches of 1,000 networks
        (
            {"seed": "0-9999", "lr": {"logspace": [-3, 0, 1000]}},
            None,
            {"name": "b0009999", "group": 0, "seed": [9999] * 1000, "lr": "all"},
        ),
        # N x lr x seed: two groups of 5,000 batches
        (
            {"N": [8, 12], "lr": {"logspace": [-3, 0, 1000]}, "seed": "0-4999"},
            {},
            {"name": "b0009999", "group": 1, "seed": list(range(4000, 5000)), "lr": 1.0},
        ),
    ],
)
def test_a_grid_at_the_network_limit_is_planned_in_little_memory(grid, model, last):
    s = spec(grid, model=model)
    assert math.prod(s.shape) == DEFAULT_MAX_NETWORKS
    tracemalloc.start()
    try:
        plan = plan_sweep(s)
        batch = plan.batches[-1]
        found = plan.batch(batch.name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"planning took {peak / 1e6:.1f} MB"
    assert len(plan.batches) == 10_000 and plan.net_epochs == 5 * DEFAULT_MAX_NETWORKS
    assert (batch.name, batch.group, batch.n_nets) == (last["name"], last["group"], 1000)
    # The last 1,000 cells of the grid, in C order.
    np.testing.assert_array_equal(batch.cells, np.arange(9_999_000, 10_000_000))
    np.testing.assert_array_equal(found.cells, batch.cells)
    np.testing.assert_array_equal(batch.seed, last["seed"])
    lrs = np.logspace(-3, 0, 1000)
    np.testing.assert_array_equal(batch.lr, lrs if last["lr"] == "all" else [lrs[-1]] * 1000)
    np.testing.assert_array_equal(batch.c, [10.0] * 1000)


def test_too_many_batch_groups_are_refused_before_building_them():
    s = spec({"N": {"range": [8, 108]}, "T": {"linspace": [20, 120, 101]}, "seed": [0]})
    assert 100 * 101 > MAX_GROUPS
    with pytest.raises(
        ValueError, match=r"the structural axes N \(100\) x T \(101\) give 10,100 batch groups"
    ):
        plan_sweep(s)

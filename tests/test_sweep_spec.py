"""Sweep specs and plans: grid syntax, defaults, batch groups and batches, bad input."""

import dataclasses
import math

import numpy as np
import pytest

from ghostlearn.sweep import (
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

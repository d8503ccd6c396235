"""Typed populations and training settings: Population, grid and TrainConfig."""

import json

import numpy as np
import pytest

from ghostlearn.population import Population, grid
from ghostlearn.rnn import RNNConfig
from ghostlearn.train import TrainConfig, train


def test_values_broadcast_to_one_length():
    pop = Population(seeds=range(4), lr=0.1)
    assert len(pop) == 4
    assert pop.seeds.dtype == np.int64 and pop.lr.tolist() == [0.1] * 4 and pop.c is None
    with pytest.raises(ValueError):
        pop.seeds[0] = 9  # read-only: a population does not change under a running train


def test_grid_is_the_cartesian_product_with_the_first_factor_slowest():
    pop = grid(seeds=[3, 4], lr=[0.1, 0.2], c=[1.0, 2.0, 5.0])
    assert len(pop) == 12
    expected = [(s, r, c) for s in (3, 4) for r in (0.1, 0.2) for c in (1.0, 2.0, 5.0)]
    assert list(zip(pop.seeds.tolist(), pop.lr.tolist(), pop.c.tolist(), strict=True)) == expected


def test_selection_and_json_round_trip():
    pop = grid(seeds=range(3), lr=[0.01, 0.1])
    sub = pop[[1, 4]]
    assert sub.seeds.tolist() == [0, 2] and sub.lr.tolist() == [0.1, 0.01]
    assert pop[2].seeds.tolist() == [1]
    back = Population.from_dict(json.loads(json.dumps(pop.to_dict())))
    for name in ("seeds", "lr"):
        np.testing.assert_array_equal(getattr(back, name), getattr(pop, name))
    assert back.c is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seeds": -1}, r"seeds must be in 0..2\*\*63-1, got -1"),
        ({"seeds": 0, "lr": 0.0}, r"lr must be > 0, got 0.0"),
        ({"seeds": 0, "lr": [0.1, float("nan")]}, r"lr must be finite"),
        ({"seeds": 0, "c": -1.0}, r"c must be > 0, got -1.0"),
        ({"seeds": [], "lr": 0.1}, r"seeds must not be empty"),
        ({"seeds": [0, 1], "lr": [0.1, 0.2, 0.3]}, r"seeds, lr and c must have equal lengths"),
    ],
)
def test_bad_populations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Population(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, r"epochs must be >= 1, got 0"),
        ({"epochs": 5, "optimizer": "adamax"}, r"optimizer must be one of 'sgd', .*'adamax'"),
        ({"epochs": 5, "method": "euler"}, r"method must be one of 'fast', 'autodiff'"),
        ({"epochs": 5, "chunk": 0}, r"chunk must be >= 1, got 0"),
        ({"epochs": 5, "early_exit": "yes"}, r"early_exit must be True or False, got 'yes'"),
        ({"epochs": 2**31}, r"epoch_offset \+ epochs must be < 2\*\*31"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_objects_and_keywords_train_the_same_networks():
    cfg = RNNConfig()
    pop = Population(seeds=[5, 6, 7], lr=[0.02, 0.05, 0.1], c=4.0)
    config = TrainConfig(epochs=30, snapshot_every=10)
    by_objects = train(cfg, pop, config)
    by_keywords = train(
        cfg, seeds=[5, 6, 7], lr=[0.02, 0.05, 0.1], c=4.0, epochs=30, snapshot_every=10
    )
    for name in ("loss", "grad_norm", "m", "n", "b", "snap_m"):
        np.testing.assert_array_equal(by_objects[name].values, by_keywords[name].values)
    assert by_objects.attrs["train"] == by_keywords.attrs["train"]


def test_one_form_at_a_time():
    cfg = RNNConfig()
    pop = Population(seeds=0, lr=0.1)
    with pytest.raises(ValueError, match="not both; got population and lr"):
        train(cfg, pop, lr=0.2, epochs=3)
    with pytest.raises(ValueError, match="not both; got config and epochs"):
        train(cfg, pop, TrainConfig(epochs=3), epochs=4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        train(cfg, pop, epoch=3)
    with pytest.raises(TypeError, match="needs epochs"):
        train(cfg, pop)
    with pytest.raises(ValueError, match="population must be a Population, got dict"):
        train(cfg, {"seeds": [0], "lr": [0.1]}, epochs=3)

"""The typed summaries of figS1, figS2 and rnn-critical-lr through JSON and back.

``Summary.to_dict`` is what ``summary.json`` holds beside its envelope; ``from_dict`` must
read it back to the same typed summary (NaN, stored as null, back as NaN), both for
summaries of injected training results (every branch: learned or not, fitted or not, with
or without a full-rank network) and for the ``summary.json`` that ``run_experiment`` writes
after a tiny real run, whose claims and caption the typed summary read back must restate.
"""

import dataclasses
import json
import math

import pytest
from test_claims import (
    S1_CFG,
    S1_NONE,
    S1_PRESENT,
    S2_CFG,
    S2_ONE,
    S2_PRESENT,
    _figS1_data,
    _figS2_data,
)
from test_experiments_critical_lr import synthetic

from ghostlearn.experiments import figS1, figS2, run_experiment
from ghostlearn.experiments import rnn_critical_lr as critical
from ghostlearn.experiments.base import ENVELOPE_KEYS
from ghostlearn.store import read_json, to_jsonable


def through_json(summary):
    """``summary`` written as strict JSON text and read back as its own type."""
    text = json.dumps(summary.to_dict(), allow_nan=False)
    return type(summary).from_dict(json.loads(text))


def assert_round_trip(summary):
    back = through_json(summary)
    assert type(back) is type(summary)
    assert back.to_dict() == summary.to_dict()
    return back


def _critical(laws):
    data, cfg = synthetic(laws, n_seeds=10, n_lr=11)
    return critical.summarize(data, cfg)


#: c = 10 falls as T^-2 and c = 1 as T^-1 (both fitted); in the second case c = 10's
#: transition lies outside its grid at all but two delays (no fit).
CRITICAL_LAWS = {
    "fitted": {10.0: (2.0, -2.0, (-3.5, -0.5)), 1.0: (3.0, -1.0, (-2.0, 0.0))},
    "unfitted": {10.0: (2.0, -2.0, (-2.3, -1.5)), 1.0: (3.0, -1.0, (-2.0, 0.0))},
}


@pytest.mark.parametrize("etl", [S1_PRESENT, S1_NONE], ids=["present", "none-learned"])
def test_figS1_summary_through_json(etl):
    summary = _figS1_data(etl)
    back = assert_round_trip(summary)
    assert back.report_epochs == S1_CFG.report_epochs
    assert set(back.loss_mean_by_epoch) == {"1000", "2000"}
    # unlearned rates: NaN in memory, null on disk, NaN again
    unlearned = [i for i, e in enumerate(etl) if math.isinf(e)]
    assert summary.to_dict()["epochs_to_learn_median_by_lr"][unlearned[0]] is None
    assert all(math.isnan(back.epochs_to_learn_median_by_lr[i]) for i in unlearned)
    assert back.lr_no_learning == summary.lr_no_learning
    assert back.spearman_lr_vs_epochs_to_learn == summary.spearman_lr_vs_epochs_to_learn


@pytest.mark.parametrize("case", [S2_PRESENT, S2_ONE], ids=["present", "one-rank-learns"])
def test_figS2_summary_through_json(case):
    summary = _figS2_data(*case)
    back = assert_round_trip(summary)
    assert isinstance(back.full_rank, figS2.FullRank)
    assert back.full_rank == summary.full_rank
    assert back.ranks == tuple(S2_CFG.ranks)
    assert back.drop_ratio_median_by_rank == summary.drop_ratio_median_by_rank


def test_figS2_summary_without_a_full_rank_network_through_json():
    summary = dataclasses.replace(
        _figS2_data(*S2_PRESENT), full_rank=figS2.FullRank(K=S2_CFG.N, present=False)
    )
    # nothing counted: summary.json keeps the full rank and its absence alone
    assert summary.to_dict()["full_rank"] == {"K": S2_CFG.N, "present": False}
    back = assert_round_trip(summary)
    assert back.full_rank == figS2.FullRank(K=S2_CFG.N, present=False)


@pytest.mark.parametrize("case", list(CRITICAL_LAWS))
def test_critical_lr_summary_through_json(case):
    summary = _critical(CRITICAL_LAWS[case])
    back = assert_round_trip(summary)
    assert all(isinstance(e, critical.Confidence) for e in back.by_c)
    for got, want in zip(back.by_c, summary.by_c, strict=True):
        assert got.critical_rate == want.critical_rate
        assert got.critical_rate_where == want.critical_rate_where
        assert got.critical_rate_interval == want.critical_rate_interval
        assert got.exponent_interval == want.exponent_interval
    assert (back.by_c[0].exponent is None) == (case == "unfitted")


def test_a_summary_with_keys_it_does_not_know_is_rejected():
    stored = {**_figS1_data(S1_PRESENT).to_dict(), "lr_grids": []}
    with pytest.raises(ValueError, match="does not know: \\['lr_grids'\\]"):
        figS1.Summary.from_dict(stored)


# --- summary.json of tiny real runs ---------------------------------------------------

# A full-rank network is in the figS2 run (ranks 1 and N = 4).
TINY = {
    "figS1": (
        figS1,
        figS1.Config(
            n_seeds=2, N=10, n_lr=2, lr_log10=(-2.0, -1.0), report_epochs=(20, 40), metrics_every=20
        ),
    ),
    "figS2": (
        figS2,
        figS2.Config(
            ranks=(1, 4), N=4, n_lr=2, lr_log10=(-1.0, 0.0), n_seeds=2, epochs=40, metrics_every=20
        ),
    ),
    "rnn-critical-lr": (
        critical,
        critical.Config(
            delays=(2, 3, 4),
            lr_log10=((-1.0, 0.0), (-1.0, 0.0)),
            n_lr=2,
            n_seeds=2,
            train_time=1.0,
            N=10,
            n_boot=100,
        ),
    ),
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    for name, (_, cfg) in TINY.items():
        run_experiment(name, out, config=cfg)
    return {name: read_json(out / name / "summary.json") for name in TINY}


@pytest.mark.parametrize("name", list(TINY))
def test_summary_json_of_a_tiny_run_reads_back(name, stored):
    module, cfg = TINY[name]
    on_disk = stored[name]
    measured = {k: v for k, v in on_disk.items() if k not in ENVELOPE_KEYS}
    typed = module.Summary.from_dict(on_disk)  # the envelope is left out
    assert typed.to_dict() == measured
    assert through_json(typed).to_dict() == measured
    # claims and caption restated from the summary read back
    assert module.caption(typed, cfg) == on_disk["caption"]
    claims = [to_jsonable(dataclasses.asdict(c)) for c in module.claims(typed, cfg)]
    assert claims == on_disk["claims"]


def test_the_tiny_figS2_run_counts_its_full_rank_networks(stored):
    full = figS2.Summary.from_dict(stored["figS2"]).full_rank
    assert full.present and full.K == 4
    assert full.n_nets == 4 and len(full.stuck_by_lr) == 2

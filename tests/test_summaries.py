"""Typed experiment summaries: JSON round trips, and ``summary.json`` read back as the type.

Each experiment runs once at a tiny config through :func:`run_experiment`; the typed
summary it built is kept, and its ``summary.json`` is read back with ``Summary.from_dict``.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from ghostlearn.experiments import (
    base,
    fig1,
    fig2,
    fig3,
    fig4,
    learnable_c,
    run_experiment,
    toy_scaling,
)
from ghostlearn.store import read_json, to_jsonable

#: Experiment -> a config small enough to run in seconds.
TINY: dict[str, object] = {
    "fig1": fig1.Config(n_x=101, n_t=201),
    "fig2": fig2.Config(
        n_r=12,
        c_grad=(0.1, 1.0),
        epochs_bc=2000,
        n_lr_d=6,
        instances_d=2,
        epochs_d=2000,
        report_epochs_d=(1000, 2000),
    ),
    "toy-scaling": toy_scaling.Config(
        n_T=3,
        T_range=(10.0, 100.0),
        rtol=0.1,
        points=8,
        epochs=2000,
        fraction_n_lr=5,
        fraction_instances=2,
        fraction_epochs=2000,
    ),
    "fig4": fig4.Config(
        n_seeds=3,
        N=20,
        epochs=200,
        last=20,
        c_log10=(-2.0, 1.0),
        n_c=3,
        recovery_epochs=10,
        runup_epochs=50,
    ),
    "fig3": fig3.Config(
        paper_seed=0,
        census_A=2,
        lr_A=0.02,
        epochs_A=2000,
        flow_every_A=10,
        lr_B=0.1,
        epochs_B=600,
        population_B=2,
        chunk_B=3,
    ),
    "learnable-c": learnable_c.Config(
        lr=0.2, epochs=400, epochs_reset=400, paper_seed=3, search=2, snapshot_every=10, last=20
    ),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """name -> (typed summary built by the run, summary.json as read from disk)."""
    out = tmp_path_factory.mktemp("results")
    result = {}
    for name, cfg in TINY.items():
        module = base.experiment_module(name)
        built = []

        def keep(data, cfg, _summarize=module.summarize, _built=built):
            summary = _summarize(data, cfg)
            _built.append(summary)
            return summary

        with pytest.MonkeyPatch.context() as m:
            m.setattr(module, "summarize", keep)
            run_experiment(name, out, config=cfg)
        (typed,) = built
        result[name] = (typed, read_json(out / name / "summary.json"))
    return result


@pytest.mark.parametrize("name", list(TINY))
def test_summary_is_typed_and_its_fields_stay_clear_of_the_envelope(name):
    cls = base.experiment_module(name).Summary
    assert issubclass(cls, base.Summary)
    assert cls.__dataclass_params__.frozen
    fields = dataclasses.fields(cls)
    assert all(f.kw_only for f in fields)
    names = {f.name for f in fields}
    assert names.isdisjoint(base.ENVELOPE_KEYS)
    for field in names:  # every field is documented
        assert f"{field}:" in cls.__doc__, field


@pytest.mark.parametrize("name", list(TINY))
def test_typed_summary_round_trips_through_json(name, written):
    typed, _ = written[name]
    cls = base.experiment_module(name).Summary
    assert isinstance(typed, cls)
    plain = typed.to_dict()
    text = json.dumps(plain, allow_nan=False)  # strict JSON: non-finite numbers are null
    assert cls.from_dict(json.loads(text)).to_dict() == plain


@pytest.mark.parametrize("name", list(TINY))
def test_summary_json_reads_back_as_the_typed_summary(name, written):
    typed, on_disk = written[name]
    module = base.experiment_module(name)
    measured = {k: v for k, v in on_disk.items() if k not in base.ENVELOPE_KEYS}
    # the file holds exactly the summary's fields, in their order, around the envelope
    assert list(measured) == list(typed.to_dict())
    back = module.Summary.from_dict(on_disk)
    assert back.to_dict() == measured == typed.to_dict()
    # what was read back is judged and captioned exactly as what was written
    cfg = TINY[name]
    assert module.caption(back, cfg) == on_disk["caption"]
    claims = [dataclasses.asdict(c) for c in module.claims(back, cfg)]
    assert to_jsonable(claims) == on_disk["claims"]

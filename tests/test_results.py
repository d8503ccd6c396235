"""The layout of results on disk: one place for every file name."""

import json

from ghostlearn.results import AnalysisRecord, ExperimentFolder, ResultsFolder, RunFolder
from ghostlearn.store import from_jsonable


def test_complete_experiments_are_those_with_a_summary(tmp_path):
    results = ResultsFolder(tmp_path)
    for name in ("fig2", "fig1", "mine"):
        results.experiment(name).path.mkdir()
        results.experiment(name).summary.write_text("{}")
    results.experiment("fig4").path.mkdir()  # interrupted: no summary.json
    (results.experiment("fig4").path / "data.zarr").mkdir()
    assert results.complete(["fig1", "fig2", "fig4"]) == ["fig1", "fig2"]
    assert results.others(["fig1", "fig2", "fig4"]) == ["mine"]
    assert not results.experiment("fig4").is_complete()


def test_an_experiments_files_are_listed_figures_first_when_present(tmp_path):
    folder = ExperimentFolder(tmp_path / "fig3")
    folder.path.mkdir()
    for p in (folder.summary, folder.figure(".pdf"), folder.figure(".png"), folder.extra_figure()):
        p.write_text("x")
    assert [p.name for p in folder.files()] == [
        "figure.png",
        "figure.pdf",
        "figure-extra.png",
        "summary.json",
    ]


def test_run_folder_names_what_train_writes(tmp_path):
    run = RunFolder(tmp_path)
    assert run.store == tmp_path / "train.zarr"
    assert run.names() == ("train.zarr", "training.png", "training.pdf")


def test_analysis_record_writes_optional_keys_only_when_given():
    record = AnalysisRecord(
        source="s.npz",
        group=None,
        ghostlearn_version="0",
        verdict_counts={"ghost-mediated": 1},
        runs=[{"net": 0}],
    )
    assert list(record.to_dict()) == [
        "source",
        "group",
        "ghostlearn_version",
        "verdict_counts",
        "runs",
    ]
    with_input = AnalysisRecord(**{**record.__dict__, "u": [1.0, 0.0]})
    data = json.loads(json.dumps(with_input.to_dict()))
    assert list(data)[4:] == ["u", "runs"]
    assert from_jsonable(AnalysisRecord, data) == with_input

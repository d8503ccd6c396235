"""The command line: argument parsing and bad input (one line, exit status 2)."""

import pytest
from typer.testing import CliRunner

from ghostlearn.cli import UserError, app, parse_floats, parse_ints

runner = CliRunner()


def test_parse_ints_ranges_and_lists():
    assert parse_ints("seeds", "0-3") == [0, 1, 2, 3]
    assert parse_ints("seeds", "5") == [5]
    assert parse_ints("seeds", "0-1,7,9-10") == [0, 1, 7, 9, 10]


@pytest.mark.parametrize("text", ["a-b", "3-1", "1--", "", "1.5"])
def test_parse_ints_rejects_malformed(text):
    with pytest.raises(UserError, match="seeds"):
        parse_ints("seeds", text)


def test_parse_floats_lists_and_logspace():
    assert parse_floats("lr", "0.01,0.02") == [0.01, 0.02]
    values = parse_floats("c", "logspace(-3, 1, 5)")
    assert values[0] == pytest.approx(1e-3) and values[-1] == pytest.approx(10.0)
    assert len(values) == 5
    with pytest.raises(UserError, match="lr must be numbers"):
        parse_floats("lr", "fast")


def test_unknown_figure_lists_valid_ones(tmp_path):
    result = runner.invoke(app, ["reproduce", "fig99", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown figure 'fig99'; valid: fig1, fig2" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_out_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    result = runner.invoke(app, ["reproduce", "fig1", "--out", str(f)])
    assert result.exit_code == 2
    assert "--out must be a directory" in result.output


def test_reproduce_interrupted_says_how_to_resume(tmp_path, monkeypatch):
    """Ctrl-C in the second figure: exit 130 with a hint, and the claims report of the
    first figure, which completed, is on disk."""
    import ghostlearn.experiments

    real = ghostlearn.experiments.run_experiment

    def second_interrupted(name, *args, **kwargs):
        if name == "fig2":
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    monkeypatch.setattr(ghostlearn.experiments, "run_experiment", second_interrupted)
    result = runner.invoke(app, ["reproduce", "fig1", "fig2", "--out", str(tmp_path)])
    assert result.exit_code == 130
    assert "interrupted: run the same command again to resume" in result.output
    assert "Traceback" not in result.output
    claims = (tmp_path / "claims.md").read_text()
    assert "| fig1 |" in claims and "| fig2 |" not in claims


@pytest.mark.parametrize("T", ["0", "-5", "nan"])
def test_toy_critical_lr_bad_T(T):
    result = runner.invoke(app, ["toy", "critical-lr", "--T", T])
    assert result.exit_code == 2
    assert "T must be" in result.output
    assert "Traceback" not in result.output


def test_analyze_help_shows_every_shape():
    """Shapes in square brackets survive the help's formatting."""
    result = runner.invoke(app, ["analyze", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for text in (
        "[snapshots, N]",
        "m [S, N], n [S, N], b [S, N]",
        "M [S, N, K], Nmat [S, K, N], b [S, N]",
        "W [S, N, N], b [S, N]",
        "W_in [S, N, n_in], w_out [S, N], b_out [S], epoch [S], loss [S], D []",
        "accuracy [E] at loss_epoch [E]",
    ):
        assert text in result.output, text
    assert "of shape ," not in result.output


def test_convert_help_names_the_conventions():
    result = runner.invoke(app, ["convert", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    for text in (
        "--map KEY=NAME",
        "--row-convention",
        "M = S_r^T, Nmat = S_l^T",
        "weights_only=True",
    ):
        assert text in flat, text


@pytest.mark.parametrize("option", [["--rank", "2"], ["--n-in", "1"]])
def test_analyze_checkpoint_options_refused_for_training_stores(tmp_path, option):
    result = runner.invoke(app, ["analyze", str(tmp_path), *option])
    assert result.exit_code == 2
    assert f"{option[0]} applies to checkpoint files, not to training stores" in result.output
    assert "Traceback" not in result.output

"""What a user of the package and its command line can count on: no side effects on import,
progress on stderr (log lines when it is not a terminal), a list of what each command wrote,
refusal of an existing output folder, and a complete, documented set of options."""

import os
import subprocess
import sys
import textwrap

import click
import pytest
import typer
from typer.testing import CliRunner

import ghostlearn
from ghostlearn.cli import app
from ghostlearn.store import open_zarr

runner = CliRunner()
# One model and shape for every run here, so the compiled program is shared.
TINY = ["--N", "8", "--T", "20", "--tau", "8", "--dt", "4", "--epochs", "12", "--seeds", "0-1"]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (nothing imported yet) and return the result."""
    environ = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | env
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --------------------------------------------------------------------------- import


def test_import_changes_no_environment_and_imports_no_jax():
    out = run_python(
        """
        import os, sys
        before = dict(os.environ)
        import ghostlearn as gl
        gl.critical_lr(100.0)
        assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
        assert "jax" not in sys.modules
        assert {"train", "analyze_dataset", "RNNConfig", "use_all_cores"} <= set(dir(gl))
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_use_all_cores_sets_the_device_count_before_jax_and_keeps_other_flags():
    out = run_python(
        """
        import os
        import ghostlearn as gl
        n = gl.use_all_cores()
        print(n == (os.cpu_count() or 1), os.environ["XLA_FLAGS"])
        import jax
        print(len(jax.devices()) == n)
        """,
        XLA_FLAGS="--xla_force_host_platform_device_count=3 --xla_dump_hlo_as_text=false",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    first, second = out.stdout.strip().splitlines()
    n = os.cpu_count() or 1
    assert first.split() == [
        "True",
        "--xla_dump_hlo_as_text=false",
        f"--xla_force_host_platform_device_count={n}",
    ]
    assert second == "True"


def test_use_all_cores_after_jax_is_imported_says_it_is_too_late():
    import jax  # noqa: F401 - imported by the suite anyway

    with pytest.raises(RuntimeError, match="must run before JAX is imported"):
        ghostlearn.use_all_cores()


def test_the_command_gives_xla_one_device_per_core_unless_xla_flags_is_set():
    code = """
        import os, sys
        from ghostlearn.cli import main
        sys.argv = ["ghostlearn", "--version"]
        try:
            main()
        except SystemExit:
            pass
        print(os.environ.get("XLA_FLAGS"))
        """
    out = run_python(code)
    assert out.stdout.strip().splitlines() == [
        f"ghostlearn {ghostlearn.__version__}",
        f"--xla_force_host_platform_device_count={os.cpu_count() or 1}",
    ]
    mine = run_python(code, XLA_FLAGS="--xla_cpu_multi_thread_eigen=false")
    assert mine.stdout.strip().splitlines()[-1] == "--xla_cpu_multi_thread_eigen=false"


# --------------------------------------------------------------------------- train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = runner.invoke(app, ["train", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_train_passes_the_time_grid_to_the_model(trained):
    out, _ = trained
    model = open_zarr(out / "train.zarr").attrs["model"]
    assert (model["T"], model["tau"], model["dt"]) == (20.0, 8.0, 4.0)


def test_progress_becomes_log_lines_when_stderr_is_not_a_terminal(trained):
    _, result = trained
    lines = result.stderr.splitlines()
    assert any(line.endswith("training 2 networks: compiling") for line in lines)
    assert any("training 2 networks: compiling done" in line for line in lines)
    assert any("training 2 networks: 100% (12/12 epochs)" in line for line in lines)
    assert any("training 2 networks: done in" in line for line in lines)
    assert "compiling" not in result.stdout


def test_train_ends_by_listing_what_it_wrote(trained):
    out, result = trained
    listed = result.stdout.split("wrote:\n", 1)[1].split()
    assert listed == [str(out / f) for f in ("train.zarr", "training.png", "training.pdf")]
    assert all((out / f).exists() for f in ("train.zarr", "training.png", "training.pdf"))


def test_quiet_silences_progress_but_not_results(tmp_path):
    result = runner.invoke(app, ["--quiet", "train", *TINY, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "wrote:" in result.stdout


def test_an_existing_output_folder_is_refused_unless_overwrite(trained, tmp_path):
    out, _ = trained
    before = (out / "train.zarr" / ".zattrs").read_bytes()
    other = ["train", *TINY, "--lr", "0.03", "--out", str(out)]
    result = runner.invoke(app, other)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: --out {str(out)!r} exists and is not empty; pass --overwrite to replace its "
        "results, or choose a new folder"
    ]
    assert (out / "train.zarr" / ".zattrs").read_bytes() == before
    # A folder with anything else in it is refused too.
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["train", *TINY, "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_same_run_is_not_retrained_and_overwrite_retrains(trained, tmp_path):
    out, _ = trained
    same = ["train", *TINY, "--out", str(out)]
    result = runner.invoke(app, same)
    assert result.exit_code == 0, result.output
    assert "already holds this run" in result.stdout and "wrote: nothing" in result.stdout
    copy = tmp_path / "copy"
    assert runner.invoke(app, ["train", *TINY, "--out", str(copy)]).exit_code == 0
    result = runner.invoke(app, ["train", *TINY, "--lr", "0.03", "--overwrite", "--out", str(copy)])
    assert result.exit_code == 0, result.output
    assert float(open_zarr(copy / "train.zarr")["lr"][0]) == 0.03


@pytest.mark.parametrize("model", [["--rank", "2"], ["--model", "full"]])
def test_c_on_a_model_without_c_is_refused(model, tmp_path):
    result = runner.invoke(app, ["train", *model, "--c", "5", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: --c sets the confidence")
    assert "got --c 5" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- options


def commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def test_every_option_and_argument_has_help_text():
    root = typer.main.get_command(app)
    missing = [
        f"{where} {p.name}"
        for where, cmd in [("ghostlearn", root), *commands(root)]
        for p in cmd.params
        if not getattr(p, "help", None)
    ]
    assert missing == []


def test_help_shows_version_help_completion_and_no_bool_placeholder():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--version" in result.output and "Show the version and exit." in result.output
    assert "--install-completion" in result.output and "--quiet" in result.output
    assert "<bool>" not in result.output
    train_help = runner.invoke(app, ["train", "--help"]).output
    assert "<bool>" not in train_help
    assert all(f" {o} " in train_help for o in ("--T", "--tau", "--dt", "--overwrite"))

"""User checkpoints: the schema's reader, the full-rank reduction, the converter, the CLI.

Round trips are checked bit for bit (the bytes of every array); bad input gets one line
naming the array and the shapes (a ValueError in the API, exit status 2 on the command
line).
"""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from ghostlearn.checkpoints import (
    DEFAULT_RANK,
    NOT_DETERMINABLE,
    analyze_checkpoint,
    checkpoint_from_arrays,
    checkpoint_input,
    convert_state_dicts,
    read_checkpoint,
    svd_reduce,
    task_metrics,
    write_checkpoint,
)
from ghostlearn.cli import app

try:
    import torch
except ImportError:  # the tests that need it skip
    torch = None
try:
    import safetensors.numpy  # noqa: F401

    HAS_SAFETENSORS = True
except ImportError:  # .safetensors cases are left out
    HAS_SAFETENSORS = False

runner = CliRunner()
S, N, K = 3, 6, 2


def same_bits(a, b):
    """Equal shape, dtype and bytes (NaN-, -0.0- and rounding-proof)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def weights(kind, *, seed=0, snapshots=S, dtype=np.float32):
    """Random weights of one kind, with a leading snapshot axis."""
    r = np.random.default_rng(seed)

    def draw(*shape):
        return (r.standard_normal((snapshots, *shape)) / np.sqrt(N)).astype(dtype)

    if kind == "rank1":
        return {"m": draw(N), "n": draw(N), "b": draw(N)}
    if kind == "lowrank":
        return {"M": draw(N, K), "Nmat": draw(K, N), "b": draw(N)}
    return {"W": draw(N, N), "b": draw(N)}


def save_st(path, arrays):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(result):
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


if torch is not None:

    class RowLowRank(torch.nn.Module):
        """A rank-2 network in the row convention (a module-level class: picklable)."""

        def __init__(self, seed):
            super().__init__()
            g = torch.Generator().manual_seed(seed)
            self.S_l = torch.nn.Parameter(torch.randn(N, K, generator=g) / N**0.5)
            self.S_r = torch.nn.Parameter(torch.randn(K, N, generator=g))
            self.b = torch.nn.Parameter(torch.randn(N, generator=g) * 0.1)
            self.w_out = torch.nn.Parameter(torch.randn(N, generator=g) / N**0.5)
            self.b_out = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x, D=0.5):
            return (1 - D) * x + D * torch.tanh(x @ self.S_l @ self.S_r + self.b)


# --------------------------------------------------------------------------- the reader

EXPECTED_K = {"rank1": 1, "lowrank": K, "full": DEFAULT_RANK}


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
@pytest.mark.parametrize("axis", [True, False], ids=["snapshot-axis", "one-snapshot"])
@pytest.mark.parametrize("kind", ["rank1", "lowrank", "full"])
def test_reader_on_each_rank_with_and_without_the_snapshot_axis(tmp_path, kind, axis, fmt):
    w = weights(kind)
    stored = w if axis else {k: v[0] for k, v in w.items()}
    extra = {"epoch": np.array([0, 50, 200]), "loss": np.array([1.0, 0.5, 0.01])}
    if not axis:
        extra = {"epoch": np.array(7), "loss": np.array(0.25)}
    path = tmp_path / f"ckpt.{fmt}"
    if fmt == "npz":
        np.savez(path, **stored, **extra)
    else:
        save_st(path, {**stored, **extra})
    ckpt = read_checkpoint(path)
    n_snap = S if axis else 1
    assert (ckpt.kind, ckpt.N, ckpt.K, ckpt.n_snapshots) == (kind, N, EXPECTED_K[kind], n_snap)
    for name, v in stored.items():
        assert same_bits(ckpt.arrays[name], v if axis else v[None]), name
    np.testing.assert_array_equal(ckpt.epochs, [0, 50, 200] if axis else [7])
    np.testing.assert_array_equal(ckpt.losses, [1.0, 0.5, 0.01] if axis else [0.25])
    assert ckpt.metric_epochs is ckpt.epochs
    assert ckpt.D is None and ckpt.n_in is None
    assert (ckpt.svd is not None) == (kind == "full")
    M, Nmat, b = ckpt.latent_weights()
    assert M.shape == (n_snap, N, ckpt.K) and Nmat.shape == (n_snap, ckpt.K, N)
    assert same_bits(b, ckpt.arrays["b"])


def test_reader_defaults_and_optional_arrays():
    w = weights("lowrank")
    r = np.random.default_rng(1)
    ckpt = checkpoint_from_arrays(
        {
            **w,
            "W_in": r.standard_normal((S, N, 3)),
            "w_out": r.standard_normal((S, 2, N)),
            "b_out": r.standard_normal((S, 2)),
            "D": np.array(0.25),
        },
        n_in=3,
    )
    np.testing.assert_array_equal(ckpt.epochs, np.arange(S))
    assert ckpt.losses is None and not ckpt.metrics
    assert ckpt.D == 0.25 and ckpt.n_in == 3
    assert ckpt.arrays["w_out"].shape == (S, 2, N)
    # The weights are read-only; the caller's arrays are not touched.
    assert not ckpt.arrays["M"].flags.writeable and w["M"].flags.writeable


def test_reader_column_convention_rank1_and_rank_k_agree():
    """A rank-one checkpoint and the same network written as rank K = 1 have one W."""
    w = weights("rank1")
    one = checkpoint_from_arrays(w)
    as_k = checkpoint_from_arrays({"M": w["m"][..., None], "Nmat": w["n"][:, None], "b": w["b"]})
    np.testing.assert_array_equal(one.recurrent_weights(), as_k.recurrent_weights())
    x = np.random.default_rng(2).standard_normal(N)
    W = one.recurrent_weights()[0]
    # W = m n^T acts on the column x as m (n . x).
    np.testing.assert_allclose(W @ x, w["m"][0] * (w["n"][0].astype(np.float64) @ x), rtol=1e-12)


def test_per_epoch_curves_as_before():
    """loss [E] of another length than S is a per-epoch curve at loss_epoch (or 0..E-1)."""
    w = weights("rank1")
    E = 30
    ckpt = checkpoint_from_arrays(
        {
            **w,
            "epoch": np.array([0, 10, 20]),
            "loss": np.linspace(1, 0, E),
            "grad_norm": np.ones(E),
            "accuracy": np.full(E, 0.5),
        }
    )
    assert ckpt.losses is None
    assert set(ckpt.metrics) == {"loss", "grad_norm", "accuracy"}
    np.testing.assert_array_equal(ckpt.metric_epochs, np.arange(E))
    with pytest.raises(
        ValueError, match=r"loss covers epochs 0\.\.3 but the snapshots span epochs 0\.\.20"
    ):
        checkpoint_from_arrays({**w, "epoch": np.array([0, 10, 20]), "loss": np.ones(4)})


# --------------------------------------------------------------------------- full rank


def test_svd_reduction_of_a_rank_k_matrix_is_exact():
    r = np.random.default_rng(3)
    W = r.standard_normal((S, 10, K)) @ r.standard_normal((S, K, 10))
    red = svd_reduce(W, K)
    assert red.M.shape == (S, 10, K) and red.Nmat.shape == (S, K, 10)
    np.testing.assert_allclose(red.M @ red.Nmat, W, atol=1e-12)
    assert np.all(red.discarded_share < 1e-24)
    # Nmat = V_K^T has orthonormal rows; M = U_K S_K has orthogonal columns.
    np.testing.assert_allclose(
        red.Nmat @ np.swapaxes(red.Nmat, 1, 2), np.eye(K)[None].repeat(S, 0), atol=1e-12
    )


def test_svd_discarded_share_of_a_known_spectrum():
    r = np.random.default_rng(4)
    U, _ = np.linalg.qr(r.standard_normal((5, 5)))
    V, _ = np.linalg.qr(r.standard_normal((5, 5)))
    s = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    W = U @ np.diag(s) @ V.T
    for k in range(1, 6):
        red = svd_reduce(W, k)
        share = np.sum(s[k:] ** 2) / np.sum(s**2)  # 0.4545..., 0.2, 0.0909..., 0.0182, 0
        np.testing.assert_allclose(red.discarded_share, [share], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(red.singular_values, [s], rtol=1e-12)
        # Eckart-Young: the share is the relative squared Frobenius error of M Nmat.
        err = np.sum((W - red.M[0] @ red.Nmat[0]) ** 2) / np.sum(W**2)
        assert err == pytest.approx(share, rel=1e-9, abs=1e-24)
    assert svd_reduce(W, 2).discarded_share[0] == pytest.approx(14 / 55)  # (9 + 4 + 1) / 55


def test_svd_signs_do_not_flip_between_snapshots():
    r = np.random.default_rng(5)
    W0 = r.standard_normal((8, 8))
    W = np.stack([W0 * (1 + 0.1 * i) + 0.01 * i * r.standard_normal((8, 8)) for i in range(6)])
    red = svd_reduce(W, 3)
    dots = np.einsum("skn,skn->sk", red.Nmat[1:], red.Nmat[:-1])
    assert np.all(dots > 0.9)
    v0 = red.Nmat[0]
    assert np.all(v0[np.arange(3), np.argmax(np.abs(v0), axis=1)] > 0)


def test_full_rank_checkpoint_rank_choice_and_lowrank_reduction():
    w = weights("full", dtype=np.float64)
    assert checkpoint_from_arrays(w).K == DEFAULT_RANK
    three = checkpoint_from_arrays(w, rank=3)
    assert three.K == 3 and three.svd.M.shape == (S, N, 3)
    assert same_bits(three.reduce(4).arrays["W"], w["W"]) and three.reduce(4).K == 4
    with pytest.raises(ValueError, match=r"rank must be <= N = 6 for a full-rank W, got 7"):
        checkpoint_from_arrays(w, rank=7)
    low = checkpoint_from_arrays(weights("lowrank"))
    assert low.svd is None and low.K == K
    one = low.reduce(1)
    assert one.K == 1 and one.svd.discarded_share.shape == (S,)
    with pytest.raises(ValueError, match=r"rank must be <= K = 2 \(the rank of M Nmat"):
        low.reduce(3)
    with pytest.raises(ValueError, match="this one is rank one, got rank=2"):
        checkpoint_from_arrays(weights("rank1"), rank=2)


# --------------------------------------------------------------------------- bad input


def _bad(kind, **changes):
    w = weights(kind)
    w.update(changes)
    return {k: v for k, v in w.items() if v is not None}


NAN_W = weights("full")["W"].copy()
NAN_W[1, 2, 3] = np.inf

BAD = [
    (
        "shapes-disagree",
        _bad("lowrank", Nmat=np.zeros((S, 3, N), np.float32)),
        {},
        "array Nmat must have shape [S, K, N] with K = 2 (from M (3, 6, 2)), got (3, 3, 6)",
    ),
    (
        "snapshot-counts-disagree",
        _bad("rank1", n=np.zeros((2, N), np.float32)),
        {},
        "array n must have shape [S, N] with S = 3 (from m (3, 6)), got (2, 6)",
    ),
    (
        "non-finite",
        _bad("full", W=NAN_W),
        {},
        "array W must be finite, got 1 non-finite value(s) in shape (3, 6, 6), the first inf "
        "at index [1, 2, 3]",
    ),
    (
        "n_in-mismatch",
        _bad("full", W_in=np.zeros((S, N, 3))),
        {"n_in": 2},
        "n_in = 2 was given but array W_in has shape [S, N, n_in] = (3, 6, 3), i.e. n_in = 3",
    ),
    (
        "n_in-without-W_in",
        _bad("full"),
        {"n_in": 1},
        "n_in = 1 was given but the checkpoint has no array W_in",
    ),
    (
        "no-known-key-set",
        {"x": np.zeros(3), "y": np.zeros(3)},
        {},
        "holds none of the known key sets (rank one: m, n, b; rank K: M, Nmat, b; full rank: "
        "W, b); got x, y",
    ),
    (
        "missing-array",
        _bad("lowrank", Nmat=None),
        {},
        "is missing array(s) Nmat (rank one: m, n, b;",
    ),
    (
        "two-kinds",
        {**weights("rank1"), "W": np.zeros((S, N, N))},
        {},
        "holds arrays of more than one kind: m, n (rank one) and W (full rank); keep one kind",
    ),
    ("unknown-array", _bad("rank1", c=np.ones(S)), {}, "unknown array(s) c; a checkpoint holds"),
    (
        "W-not-square",
        _bad("full", W=np.zeros((S, N, N + 1))),
        {},
        "array W must be square, shape [S, N, N], got (3, 6, 7)",
    ),
    (
        "lead-ndim",
        _bad("rank1", m=np.zeros((S, N, 2))),
        {},
        "array m must have shape [S, N], got (3, 6, 2); a single snapshot may also be given as [N]",
    ),
    (
        "missing-snapshot-axis",
        _bad("rank1", b=np.zeros(N)),
        {},
        "array b must have shape [S, N], got (6,); every array needs the leading snapshot axis",
    ),
    (
        "epochs-not-increasing",
        _bad("rank1", epoch=np.array([0, 20, 10])),
        {},
        "array epoch must be strictly increasing, got [0, 20, 10]",
    ),
    (
        "epoch-count",
        _bad("rank1", epoch=np.array([0, 20])),
        {},
        "array epoch must have one entry per snapshot (S = 3, from m (3, 6)), got shape (2,)",
    ),
    ("D-range", _bad("rank1", D=np.array(1.5)), {}, "array D (dt / tau) must be in (0, 1], got 1.5"),
    (
        "strings",
        {"m": np.array([["a"] * N] * S), "n": np.zeros((S, N)), "b": np.zeros((S, N))},
        {},
        "array m must hold numbers, got dtype <U1",
    ),
    ("empty-snapshots", _bad("rank1", m=np.zeros((0, N)), n=np.zeros((0, N)), b=np.zeros((0, N))), {},
     "the snapshots are empty (shape (0, 6))"),
]  # fmt: skip


@pytest.mark.parametrize(("arrays", "kw", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_checkpoints_one_line_naming_the_array(tmp_path, arrays, kw, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as err:
        read_checkpoint(path, **kw)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(str(path))
    args = ["--n-in", kw["n_in"]] if "n_in" in kw else []
    line = one_error_line(cli("analyze", path, "--out", tmp_path / "o", *args))
    assert message in line
    assert not (tmp_path / "o" / "analysis.json").exists()


def test_bad_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_text("not numpy at all\n")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "text.safetensors").write_text("not a safetensors file either\n")
    (tmp_path / "model.pt").write_bytes(b"anything")
    np.savez(tmp_path / "nothing.npz")
    cases = {
        "empty.npz": "empty.npz is empty (0 bytes)",
        "text.npz": "text.npz is not a NumPy .npz or .npy file",
        "nothing.npz": "nothing.npz holds no arrays",
        "model.pt": "model.pt is a PyTorch file; turn it into a checkpoint first: ghostlearn "
        "convert",
        "missing.npz": "no such file",
    }
    if HAS_SAFETENSORS:
        cases["empty.safetensors"] = "empty.safetensors is empty (0 bytes): not a safetensors file"
        cases["text.safetensors"] = (
            "text.safetensors is not a safetensors file: Error while deserializing header"
        )
    for name, message in cases.items():
        with pytest.raises((ValueError, FileNotFoundError), match=None) as err:
            read_checkpoint(tmp_path / name)
        assert message in str(err.value), (name, str(err.value))
        if name != "missing.npz":
            assert message in one_error_line(cli("analyze", tmp_path / name)), name


def test_too_few_losses_give_points_without_a_verdict(tmp_path):
    path = tmp_path / "one.npz"
    np.savez(path, **{k: v[0] for k, v in weights("rank1").items()}, loss=np.array(0.5))
    result = cli("analyze", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "1 run(s): 1 not-determinable" in result.output
    run = json.loads((tmp_path / "out" / "analysis.json").read_text())["runs"][0]
    assert run["verdict"]["label"] == NOT_DETERMINABLE
    assert run["verdict"]["reason"].startswith(
        "too few epochs to look for drops: the loss is known at 1 epoch(s), the drop "
        "detector needs 3"
    )
    assert run["drops"] == [] and run["snapshots"]["epoch"] == [0]


# The decoupled rank-2 network F_i = -kappa_i + tanh(2 kappa_i + c_i) (M = 2 I, Nmat = I,
# N = K = 2): its fixed points are the products of the roots of each coordinate, a root
# stable where 2 sech^2(2 k + c) < 1, and the class is the product's (both stable: stable
# node; both unstable: unstable node; else saddle).
GAIN_2 = {"M": 2.0 * np.eye(2), "Nmat": np.eye(2)}


def _roots_1d(c):
    """Roots of -k + tanh(2 k + c) and whether each is stable, by bracketing a fine grid."""
    from scipy.optimize import brentq

    f = lambda k: -k + np.tanh(2 * k + c)  # noqa: E731
    g = np.linspace(-3, 3, 60001) + 1e-7
    fg = f(g)
    roots = [brentq(f, g[i], g[i + 1]) for i in np.flatnonzero(fg[:-1] * fg[1:] < 0)]
    return [(k, 2 / np.cosh(2 * k + c) ** 2 < 1) for k in roots]


def _closed_form_points(shift):
    out = []
    for kx, sx in _roots_1d(shift[0]):
        for ky, sy in _roots_1d(shift[1]):
            kind = "stable node" if sx and sy else "unstable node" if not (sx or sy) else "saddle"
            out.append(((kx, ky), kind))
    return out


def _assert_same_points(analysis, truth):
    """Every found fixed point is true, every true one is found, with its class."""
    kappa, _ = analysis.points.fixed()
    found = [(k, str(c)) for k, c in zip(kappa[0], analysis.points.stability[0], strict=True)
             if str(c) not in ("", "ghost")]  # fmt: skip
    assert len(found) == len(truth)
    for point, kind in truth:
        hits = [c for k, c in found if np.max(np.abs(k - point)) < 1e-6]
        assert hits == [kind], (point, kind, found)


def test_a_single_rank2_snapshot_has_its_fixed_points_and_no_verdict():
    ckpt = checkpoint_from_arrays({**GAIN_2, "b": np.zeros(2), "loss": np.array(0.3)})
    analysis = analyze_checkpoint(ckpt)
    truth = _closed_form_points((0.0, 0.0))
    assert len(truth) == 9  # 4 stable nodes, 4 saddles, 1 unstable node
    _assert_same_points(analysis, truth)
    assert analysis.verdict.label == NOT_DETERMINABLE
    assert "too few epochs to look for drops" in analysis.verdict.reason
    assert analysis.drops == [] and analysis.bifurcations == []
    assert analysis.n_fixed.tolist() == [9] and analysis.n_ghosts.tolist() == [0]


def test_an_input_is_a_shift_of_the_bias(tmp_path):
    """--u analyses -kappa + Nmat tanh(M kappa + W_in u + b): the flow with b + W_in u."""
    W_in = np.array([[0.5, 0.0], [0.0, 0.2]])
    path = tmp_path / "inputs.npz"
    np.savez(path, **GAIN_2, b=np.zeros(2), W_in=W_in)
    out = tmp_path / "out"
    result = cli("analyze", path, "--u", "1,0", "--out", out)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert record["u"] == [1.0, 0.0] and record["runs"][0]["settings"]["u"] == [1.0, 0.0]
    # No loss, and a network with inputs cannot be scored: points, no verdict.
    assert record["runs"][0]["verdict"]["label"] == NOT_DETERMINABLE
    analysis = analyze_checkpoint(read_checkpoint(path), u=[1.0, 0.0])
    _assert_same_points(analysis, _closed_form_points((0.5, 0.0)))
    assert record["runs"][0]["snapshots"]["n_fixed"] == [analysis.n_fixed[0]]


@pytest.mark.parametrize(
    ("file", "value", "message"),
    [
        ("inputs", "1", "--u must have one number per input channel (n_in = 2), got 1: --u 1"),
        ("inputs", "1,0,0", "--u must have one number per input channel (n_in = 2), got 3"),
        ("inputs", "nan,1", "--u must be finite numbers, got 'nan,1'"),
        ("inputs", "1;0", "--u must be numbers separated by commas, e.g. 1,0, got '1;0'"),
        ("plain", "1", "--u applies to networks with inputs (W_in), and "),
    ],
)
def test_bad_inputs_are_one_line(tmp_path, file, value, message):
    extra = {"W_in": np.ones((2, 2))} if file == "inputs" else {}
    np.savez(tmp_path / f"{file}.npz", **GAIN_2, b=np.zeros(2), **extra)
    line = one_error_line(cli("analyze", tmp_path / f"{file}.npz", "--u", value))
    assert message in line


def test_checkpoint_input_is_checked():
    ckpt = checkpoint_from_arrays({**GAIN_2, "b": np.zeros(2), "W_in": np.ones((2, 2))})
    np.testing.assert_array_equal(checkpoint_input(ckpt, (1, 0)), [1.0, 0.0])
    with pytest.raises(ValueError, match=r"u must have n_in = 2 entries \(the columns of W_in\), "
                       r"got shape \(1,\)"):  # fmt: skip
        checkpoint_input(ckpt, [1.0])
    with pytest.raises(ValueError, match=r"u must be finite, got \[inf, 0.0\]"):
        checkpoint_input(ckpt, [np.inf, 0.0])
    plain = checkpoint_from_arrays({**GAIN_2, "b": np.zeros(2)}, source="plain.npz")
    with pytest.raises(ValueError, match="plain.npz: an input u is given but the checkpoint has "
                       "no array W_in"):  # fmt: skip
        analyze_checkpoint(plain, u=[1.0])


# --------------------------------------------------------------------------- convert


def test_convert_round_trip_of_a_torch_rnn(tmp_path):
    pytest.importorskip("torch")
    torch.manual_seed(0)
    rnn = torch.nn.RNN(input_size=2, hidden_size=N)
    sd = rnn.state_dict()
    torch.save(sd, tmp_path / "rnn.pt")
    outs = ("rnn.npz", "rnn.safetensors") if HAS_SAFETENSORS else ("rnn.npz",)
    for out in outs:
        result = cli(
            "convert", tmp_path / "rnn.pt", "--out", tmp_path / out, "--D", "1", "--n-in", "2"
        )
        assert result.exit_code == 0, result.output
        assert "W      <- weight_hh_l0" in result.output
        ckpt = read_checkpoint(tmp_path / out, n_in=2)
        assert (ckpt.kind, ckpt.N, ckpt.n_snapshots, ckpt.D, ckpt.n_in) == ("full", N, 1, 1.0, 2)
        assert same_bits(ckpt.arrays["W"][0], sd["weight_hh_l0"].numpy())
        assert same_bits(ckpt.arrays["W_in"][0], sd["weight_ih_l0"].numpy())
        assert same_bits(ckpt.arrays["b"][0], (sd["bias_ih_l0"] + sd["bias_hh_l0"]).numpy())
    # The column convention: torch.nn.RNN's step is x <- tanh(W x + W_in u + b), D = 1.
    u = torch.randn(1, 1, 2)
    h0 = torch.randn(1, 1, N)
    with torch.no_grad():
        _, h1 = rnn(u, h0)
    a = ckpt.arrays
    x = h0.numpy()[0, 0]
    ours = (1 - ckpt.D) * x + ckpt.D * np.tanh(
        a["W"][0] @ x + a["W_in"][0] @ u.numpy()[0, 0] + a["b"][0]
    )
    np.testing.assert_allclose(ours, h1.numpy()[0, 0], rtol=1e-5, atol=1e-6)
    # Nothing but the output is left in the folder (written through a temporary file).
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["rnn.pt", *outs])


def _row_module(torch, seed):
    """A rank-2 network in the row convention: x <- (1 - D) x + D tanh(x @ S_l @ S_r + b)."""
    return RowLowRank(seed)


def test_convert_row_convention_several_files_sorted_by_epoch(tmp_path):
    pytest.importorskip("torch")
    models = {epoch: _row_module(torch, seed) for seed, epoch in enumerate([200, 0, 100])}
    files = []
    for epoch, model in models.items():  # given out of order on purpose
        files.append(tmp_path / f"snap{epoch}.pt")
        torch.save(
            {"model": model.state_dict(), "epoch": epoch, "loss": 1.0 / (1 + epoch)}, files[-1]
        )
    out = tmp_path / "lr.npz"
    result = cli("convert", *files, "--row-convention", "--D", "0.5", "--out", out)
    assert result.exit_code == 0, result.output
    assert "M      <- model.S_r (transposed)" in result.output
    assert "snapshots sorted by epoch: input positions [1, 2, 0]" in result.output
    ckpt = read_checkpoint(out)
    assert (ckpt.kind, ckpt.N, ckpt.K, ckpt.n_snapshots) == ("lowrank", N, K, 3)
    np.testing.assert_array_equal(ckpt.epochs, [0, 100, 200])
    np.testing.assert_array_equal(ckpt.losses, [1.0, 1 / 101, 1 / 201])
    for i, epoch in enumerate([0, 100, 200]):
        sd = models[epoch].state_dict()
        assert same_bits(ckpt.arrays["M"][i], sd["S_r"].numpy().T)  # M = S_r^T
        assert same_bits(ckpt.arrays["Nmat"][i], sd["S_l"].numpy().T)  # Nmat = S_l^T
        assert same_bits(ckpt.arrays["b"][i], sd["b"].numpy())
        assert same_bits(ckpt.arrays["w_out"][i], sd["w_out"].numpy())
        # Same dynamics: the row step x @ S_l @ S_r is M (Nmat x) on the column x.
        x = torch.randn(N)
        with torch.no_grad():
            row = models[epoch](x).numpy()
        a = ckpt.arrays
        col = 0.5 * x.numpy() + 0.5 * np.tanh(a["M"][i] @ (a["Nmat"][i] @ x.numpy()) + a["b"][i])
        np.testing.assert_allclose(col, row, rtol=1e-5, atol=1e-6)


def test_convert_a_list_of_state_dicts_in_one_file(tmp_path):
    pytest.importorskip("torch")
    sds = [_row_module(torch, seed).state_dict() for seed in range(3)]
    torch.save(sds, tmp_path / "all.pt")
    result = cli(
        "convert", tmp_path / "all.pt", "--row-convention", "--epochs", "0,10,20",
        "--out", tmp_path / "all.npz",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ckpt = read_checkpoint(tmp_path / "all.npz")
    np.testing.assert_array_equal(ckpt.epochs, [0, 10, 20])
    for i, sd in enumerate(sds):
        assert same_bits(ckpt.arrays["Nmat"][i], sd["S_l"].numpy().T)


def test_convert_refuses_arbitrary_unpickling(tmp_path):
    pytest.importorskip("torch")
    torch.save(_row_module(torch, 0), tmp_path / "module.pt")  # the module, not a state_dict
    line = one_error_line(cli("convert", tmp_path / "module.pt", "--out", tmp_path / "x.npz"))
    assert "module.pt needs arbitrary unpickling (it holds " in line
    assert "only with torch.load(weights_only=True): save model.state_dict() instead" in line
    assert not (tmp_path / "x.npz").exists()


def test_convert_safetensors_without_torch(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    r = np.random.default_rng(6)
    snaps = [
        {
            "net.weight_hh": r.standard_normal((N, N)).astype(np.float32),
            "net.bias": r.standard_normal(N).astype(np.float32),
            "readout.weight": r.standard_normal((1, N)).astype(np.float32),
        }
        for _ in range(3)
    ]
    files = []
    for i, sd in enumerate(snaps):
        files.append(tmp_path / f"s{i}.safetensors")
        st.save_file(sd, str(files[-1]))
    out = tmp_path / "full.safetensors"
    result = cli(
        "convert", *files, "--map", "b=net.bias", "--map", "w_out=readout.weight", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "W      <- net.weight_hh" in result.output
    ckpt = read_checkpoint(out)
    assert ckpt.kind == "full" and ckpt.n_snapshots == 3
    for i, sd in enumerate(snaps):
        assert same_bits(ckpt.arrays["W"][i], sd["net.weight_hh"])
        assert same_bits(ckpt.arrays["b"][i], sd["net.bias"])
        assert same_bits(ckpt.arrays["w_out"][i], sd["readout.weight"])


def test_write_checkpoint_round_trip_and_refusals(tmp_path):
    arrays = {
        **weights("lowrank", dtype=np.float64),
        "epoch": np.array([1, 2, 5]),
        "D": np.array(0.5),
    }
    for name in ("c.npz", "c.safetensors") if HAS_SAFETENSORS else ("c.npz",):
        write_checkpoint(arrays, tmp_path / name)
        ckpt = read_checkpoint(tmp_path / name)
        for k in ("M", "Nmat", "b"):
            assert same_bits(ckpt.arrays[k], arrays[k])
    with pytest.raises(ValueError, match=r"must end in \.npz or \.safetensors, got 'c\.pt'"):
        write_checkpoint(arrays, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="is missing array"):
        write_checkpoint({"M": arrays["M"], "b": arrays["b"]}, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_convert_state_dicts_api_mapping_and_zero_bias():
    r = np.random.default_rng(7)
    sd = {"enc.J": r.standard_normal((N, N)), "other": np.zeros(2)}
    done = convert_state_dicts([sd], mapping={"W": "J", "b": "0"}, D=0.2)
    assert done.sources == {"b": "0", "W": "enc.J", "D": "given"}
    assert same_bits(done.arrays["W"][0], sd["enc.J"])
    assert same_bits(done.arrays["b"], np.zeros((1, N)))
    with pytest.raises(ValueError, match=r"--map W=nope: no entry 'nope'; the entries are enc\.J"):
        convert_state_dicts([sd], mapping={"W": "nope"})
    with pytest.raises(ValueError, match="no recurrent weights found among the entries enc.J"):
        convert_state_dicts([sd])
    with pytest.raises(ValueError, match="no bias b found among the entries"):
        convert_state_dicts([sd], mapping={"W": "enc.J"})
    with pytest.raises(ValueError, match=r"several entries match W=W: a\.W, b\.W"):
        convert_state_dicts([{"a.W": np.eye(2), "b.W": np.eye(2), "b": np.zeros(2)}])
    with pytest.raises(
        ValueError, match=r"has shape \(6,\) in snapshot 0 but \(5,\) in snapshot 1"
    ):
        convert_state_dicts(
            [{"W": np.eye(N), "b": np.zeros(N)}, {"W": np.eye(5), "b": np.zeros(5)}]
        )
    with pytest.raises(ValueError, match=r"epoch 3 is given to snapshots \[0, 1\]"):
        two = [{"W": np.eye(2), "b": np.zeros(2), "epoch": 3}] * 2
        convert_state_dicts(two)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{d}/x.pt"], "--out must end in .npz or .safetensors, got"),
        (["--out", "{d}/x.npz", "--map", "W"], "--map must be KEY=NAME, e.g. W=rnn.weight_hh_l0"),
        (["--out", "{d}/x.npz", "--map", "Q=a"], "--map key must be one of m, n, b, M, Nmat, W"),
        (["--out", "{d}/x.npz", "--D", "2"], "--D must be in (0, 1], got 2.0"),
        (["--out", "{d}/x.npz", "--epochs", "0,1"], "--epochs must give one epoch per snapshot (1), got 2"),
        (["--out", "{d}/exists.npz"], "exists; pass --overwrite to replace it"),
        (["--out", "{d}/x.npz", "--n-in", "2"], "n_in = 2 was given but the checkpoint has no array W_in"),
    ],
)  # fmt: skip
def test_convert_bad_arguments(tmp_path, args, message):
    np.savez(tmp_path / "sd.npz", W=np.eye(3), b=np.zeros(3))
    (tmp_path / "exists.npz").write_bytes(b"keep me")
    line = one_error_line(
        cli("convert", tmp_path / "sd.npz", *(a.replace("{d}", str(tmp_path)) for a in args))
    )
    assert message in line
    assert (tmp_path / "exists.npz").read_bytes() == b"keep me"
    assert not (tmp_path / "x.npz").exists()


# --------------------------------------------------------------------------- scoring, CLI


def test_task_metrics_match_an_explicit_euler_loop():
    """The delayed-activation trial written out: 20 + 20 steps from x = -0.3, D, readout."""
    w = weights("lowrank", seed=8, dtype=np.float64)
    r = np.random.default_rng(9)
    w_out, b_out = r.standard_normal((S, N)) / np.sqrt(N), r.standard_normal(S) * 0.1
    ckpt = checkpoint_from_arrays({**w, "w_out": w_out, "b_out": b_out, "D": np.array(0.25)})
    got = task_metrics(ckpt)
    target = np.r_[np.zeros(20), np.ones(20)]
    for s in range(S):
        x = np.full(N, -0.3)
        out = []
        for _ in range(40):
            x = 0.75 * x + 0.25 * np.tanh(w["M"][s] @ (w["Nmat"][s] @ x) + w["b"][s])
            out.append(1 / (1 + np.exp(-(w_out[s] @ x + b_out[s]))))
        out = np.array(out)
        assert got["loss"][s] == pytest.approx(np.sum((out - target) ** 2) / 20, rel=1e-4)
        assert got["accuracy"][s] == pytest.approx(np.mean((out > 0.5) == (target > 0.5)))


def _state_dicts_on_disk(tmp_path, kind):
    """Three snapshots as .npz state_dicts with names of another code base."""
    r = np.random.default_rng(10)
    files = []
    for i in range(3):
        if kind == "lowrank":  # row convention, scored through its readout
            sd = {
                "rnn.S_l": r.standard_normal((N, K)) / np.sqrt(N),
                "rnn.S_r": r.standard_normal((K, N)) * (1 + i),
                "rnn.b": np.zeros(N),
                "head.w_out": r.standard_normal(N) / np.sqrt(N),
                "head.b_out": np.array(0.0),
            }
        else:
            sd = {
                "cell.weight_hh": r.standard_normal((N, N)) * (0.5 + 0.5 * i) / np.sqrt(N),
                "cell.bias_ih": r.standard_normal(N) * 0.1,
                "cell.bias_hh": r.standard_normal(N) * 0.1,
                "loss": np.array([1.0, 0.8, 0.05][i]),
            }
        files.append(tmp_path / f"{kind}{i}.npz")
        np.savez(files[-1], **sd)
    return files


@pytest.mark.parametrize("kind", ["lowrank", "full"])
def test_cli_analyze_a_converted_checkpoint(tmp_path, kind):
    files = _state_dicts_on_disk(tmp_path, kind)
    ckpt = tmp_path / f"{kind}.npz"
    extra = ["--row-convention", "--map", "w_out=head.w_out", "--map", "b_out=head.b_out"]
    args = extra if kind == "lowrank" else []
    result = cli("convert", *files, "--epochs", "0,100,200", "--out", ckpt, *args)
    assert result.exit_code == 0, result.output
    out = tmp_path / "analysis"
    result = cli("analyze", ckpt, "--out", out, *(["--rank", "3"] if kind == "full" else []))
    assert result.exit_code == 0, result.output
    assert {"analysis.json", "analysis.png", "analysis.pdf"} <= {p.name for p in out.iterdir()}
    record = json.loads((out / "analysis.json").read_text())
    run = record["runs"][0]
    assert run["model"] == "lowrank"
    assert run["snapshots"]["epoch"] == [0, 100, 200]
    info = record["checkpoint"]
    assert (info["kind"], info["N"], info["n_snapshots"]) == (kind, N, 3)
    if kind == "full":
        assert info["K"] == 3 and len(info["svd"]["discarded_share"]) == 3
        assert "analysed through its leading 3 singular direction(s)" in result.output
        assert info["loss"] == "per snapshot"
    else:
        assert info["K"] == K and "svd" not in info


def test_the_documented_round_trip_runs(tmp_path, monkeypatch):
    """The Python blocks of docs/checkpoints.md, run in order."""
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "checkpoints.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_checkpoints"}
    for block in blocks:
        exec(compile(block, "docs/checkpoints.md", "exec"), namespace)  # noqa: S102
    assert namespace["ckpt"].kind == "lowrank" and namespace["full"].K == 3

"""PyTorch's CPU normal generator in NumPy (``ghostlearn.torchrng``) and ``init="paper"``.

Without PyTorch: the engine against a pure-Python mt19937 and the C++ standard's known
value, the uniform rules against their integer definitions, the fused multiply-add
against exact rational arithmetic, the Box-Muller blocks, the stream accounting and the
cached normal. With PyTorch (``torch==2.13.0`` in CI): bit-identical draws for every shape
the package draws, and ``init="paper"`` equal to ``init="torch"``.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ghostlearn.cli import app
from ghostlearn.rnn import RNNConfig, init_params
from ghostlearn.sweep import parse_spec
from ghostlearn.torchrng import (
    TorchGenerator,
    float32_uniforms,
    float64_uniforms,
    fma_float32,
    logf_cephes,
    normal_block16,
    sincosf_cephes,
    torch_randn,
)

SEEDS = [*range(50), 2**31 - 1, 2**32 - 1, 2**32 + 40, 3_000_000_019, 2**64 - 1]
SIZES = [(), (1,), (2,), (3,), (7,), (15,), (16,), (17,), (31,), (32,), (33,), (100,)]
SIZES += [(10, 1), (4, 4), (5, 100), (100, 5), (257, 3)]


def _bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


# ------------------------------------------------------------ references in pure Python


def _mt19937_words(seed: int, n: int) -> list[int]:
    """Matsumoto & Nishimura's mt19937 (init_genrand, twist, temper), in plain integers."""
    mt = [seed & 0xFFFFFFFF]
    for j in range(1, 624):
        mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + j) & 0xFFFFFFFF)
    out: list[int] = []
    while len(out) < n:
        for i in range(624):
            y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
            mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        for y in mt:
            y ^= y >> 11
            y ^= (y << 7) & 0x9D2C5680
            y ^= (y << 15) & 0xEFC60000
            y ^= y >> 18
            out.append(y)
    return out[:n]


def _round_to_float32(x: Fraction) -> float:
    """Round an exact rational to the nearest float32 (ties to even)."""
    lo = np.float32(float(x))  # within one float32 step of x
    candidates = [np.nextafter(lo, np.float32(-np.inf)), lo, np.nextafter(lo, np.float32(np.inf))]
    dist = [abs(Fraction(float(c)) - x) for c in candidates]
    best = min(dist)
    ties = [c for c, d in zip(candidates, dist, strict=True) if d == best]
    return float(min(ties, key=lambda c: int(np.float32(c).view(np.uint32)) & 1))


# ------------------------------------------------------------ engine and uniforms


@pytest.mark.parametrize("seed", [0, 1, 40, 2**31, 2**32 - 1, 2**32 + 40, 2**64 - 1])
def test_engine_is_mt19937_seeded_with_the_low_32_bits(seed: int) -> None:
    # 1300 words cross two twists of the 624-word state
    assert TorchGenerator(seed).words(1300).tolist() == _mt19937_words(seed, 1300)


def test_engine_gives_the_cxx_standard_mt19937_values() -> None:
    # C++ [rand.predef]: the 10000th output of a default-constructed mt19937 (seed 5489)
    words = TorchGenerator(5489).words(10000)
    assert int(words[0]) == 3499211612
    assert int(words[-1]) == 4123659995


def test_successive_word_draws_continue_one_stream() -> None:
    g = TorchGenerator(7)
    parts = [g.words(n) for n in (0, 1, 623, 5, 700)]
    np.testing.assert_array_equal(np.concatenate(parts), TorchGenerator(7).words(1329))
    g.manual_seed(7)
    np.testing.assert_array_equal(g.words(3), TorchGenerator(7).words(3))


def test_float32_uniforms_are_the_low_24_bits_times_2_to_minus_24() -> None:
    words = [0, 1, 0xFFFFFF, 0x1000000, 0x1FFFFFF, 0xFFFFFFFF, 0x80000000, 123456789]
    words += TorchGenerator(3).words(200).tolist()
    got = float32_uniforms(np.array(words, np.uint32))
    assert got.dtype == np.float32
    assert got.tolist() == [(w % 2**24) / 2**24 for w in words]
    assert got.max() < 1.0 and got.min() >= 0.0


def test_float64_uniforms_join_word_pairs_and_keep_53_bits() -> None:
    words = [0xFFFFFFFF, 0xFFFFFFFF, 0, 1, 0x00200000, 0, 0x001FFFFF, 0xFFFFFFFF]
    words += TorchGenerator(4).words(200).tolist()
    got = float64_uniforms(np.array(words, np.uint32))
    expected = [
        ((hi << 32 | lo) % 2**53) / 2**53 for hi, lo in zip(words[::2], words[1::2], strict=True)
    ]
    assert got.tolist() == expected
    assert got[0] == 1.0 - 2.0**-53 and got[1] == 2.0**-53 and got[2] == 0.0


# ------------------------------------------------------------ float32 arithmetic


def test_fma_float32_rounds_the_exact_result_once() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(3000).astype(np.float32)
    b = (rng.standard_normal(3000) * 10.0 ** rng.integers(-3, 4, 3000)).astype(np.float32)
    # cancellation: c close to -a b, and c of unrelated size
    c = np.where(
        rng.random(3000) < 0.5,
        -(a.astype(np.float64) * b) * (1 + rng.standard_normal(3000) * 1e-6),
        rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 9, 3000),
    ).astype(np.float32)
    got = fma_float32(a, b, c)
    for i in range(len(a)):
        exact = Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(float(c[i]))
        assert float(got[i]) == _round_to_float32(exact), (a[i], b[i], c[i])


def test_fma_float32_avoids_double_rounding() -> None:
    # (1 + 2^-15)(1 - 2^-15) + (2^24 + 2) = 2^24 + 3 - 2^-30, just below the midpoint of
    # 2^24 + 2 and 2^24 + 4; float64 rounds it to the midpoint, which then ties to even.
    a, b, c = np.float32(1 + 2**-15), np.float32(1 - 2**-15), np.float32(2**24 + 2)
    naive = np.float32(np.float64(a) * np.float64(b) + np.float64(c))
    assert float(naive) == 2**24 + 4
    assert float(fma_float32(a, b, c)) == 2**24 + 2


def test_logf_cephes_is_within_one_ulp_on_the_kernels_inputs() -> None:
    u = (np.arange(0, 2**24, 97, dtype=np.float64) * 2.0**-24).astype(np.float32)
    x = np.concatenate([np.float32(1) - u, np.float32([2.0**-24, 0.5, 0.70710677, 1.0])])
    ref = np.log(x.astype(np.float64))
    ulp = np.spacing(np.maximum(np.abs(ref), 2.0**-149).astype(np.float32)).astype(float)
    err = np.abs(logf_cephes(x) - ref) / ulp
    assert err.max() <= 1.0
    assert logf_cephes(np.float32([1.0]))[0] == 0.0


def test_sincosf_cephes_is_within_two_ulp_on_the_kernels_inputs() -> None:
    u = (np.arange(0, 2**24, 89, dtype=np.float64) * 2.0**-24).astype(np.float32)
    theta = np.float32(2 * math.pi) * u
    sin, cos = sincosf_cephes(theta)
    t64 = theta.astype(np.float64)
    for got, ref in ((sin, np.sin(t64)), (cos, np.cos(t64))):
        ulp = np.spacing(np.maximum(np.abs(ref), 2.0**-24).astype(np.float32)).astype(float)
        assert (np.abs(got - ref) / ulp).max() <= 2.0
        # every octant is visited, and away from the zeros the signs are right
        away = np.abs(ref) > 1e-3
        np.testing.assert_array_equal(np.sign(got[away]), np.sign(ref[away]))
    assert set(np.floor(t64 / (math.pi / 4)).astype(int)) == set(range(8))


def test_normal_block16_pairs_element_j_with_j_plus_8() -> None:
    u = float32_uniforms(TorchGenerator(11).words(16 * 64)).reshape(64, 16)
    out = normal_block16(u)
    assert out.shape == (64, 16) and out.dtype == np.float32
    u64 = u.astype(np.float64)
    radius = np.sqrt(-2.0 * np.log(1.0 - u64[:, :8]))
    theta = 2.0 * math.pi * u64[:, 8:]
    expected = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=2e-6)
    # changing u[3] moves out[3] and out[11] only; changing u[12] moves out[4], out[12]
    for k, moved in ((3, {3, 11}), (12, {4, 12})):
        v = u[0].copy()
        v[k] = np.float32(0.5) if v[k] != 0.5 else np.float32(0.25)
        changed = set(np.flatnonzero(normal_block16(v) != out[0]).tolist())
        assert changed == moved


def test_normal_block16_rejects_other_block_sizes() -> None:
    with pytest.raises(ValueError, match=r"u must have a last axis of length 16, got shape \(8,\)"):
        normal_block16(np.zeros(8, np.float32))


# ------------------------------------------------------------ randn without torch


@pytest.mark.parametrize("n", [16, 17, 31, 32, 33, 100])
def test_randn_fills_blocks_and_redraws_a_ragged_tail(n: int) -> None:
    words = TorchGenerator(5).words(n + 16 + 1)
    u = float32_uniforms(words)
    full = n - n % 16
    expected = np.empty(n, np.float32)
    expected[:full] = normal_block16(u[:full].reshape(-1, 16)).reshape(-1)
    used = n
    if n % 16:
        expected[n - 16 :] = normal_block16(u[n : n + 16])
        used += 16
    g = TorchGenerator(5)
    np.testing.assert_array_equal(_bits(g.randn(n)), _bits(expected))
    assert int(g.words(1)[0]) == int(words[used])  # the stream advanced by `used` words


def test_small_randn_takes_the_float64_path_and_caches_the_second_normal() -> None:
    words = TorchGenerator(9).words(8)
    (u1, u2), (v1, v2) = float64_uniforms(words[:4]), float64_uniforms(words[4:])
    r, s = math.sqrt(-2 * math.log1p(-u2)), math.sqrt(-2 * math.log1p(-v2))
    pairs = [r * math.cos(2 * math.pi * u1), r * math.sin(2 * math.pi * u1)]
    pairs += [s * math.cos(2 * math.pi * v1), s * math.sin(2 * math.pi * v1)]
    g = TorchGenerator(9)
    first = g.randn(3)
    assert first.tolist() == [float(np.float32(p)) for p in pairs[:3]]
    assert g.cached_normal == pairs[3]
    g.randn(20)  # 16 or more: neither uses nor clears the cache
    assert g.randn(()).item() == float(np.float32(pairs[3]))
    assert g.cached_normal is None
    g.manual_seed(9)
    assert g.cached_normal is None and g.randn(1)[0] == first[0]


def test_torch_randn_takes_a_seed_or_a_generator() -> None:
    g = TorchGenerator(40)
    a, b = torch_randn(g, (100,)), torch_randn(g, (100, 1))
    np.testing.assert_array_equal(a, torch_randn(40, (100,)))
    assert not np.array_equal(a, b[:, 0])
    assert torch_randn(0, (0,)).shape == (0,)


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (-1, r"seed must be in \[0, 2\*\*64\), got -1"),
        (2**64, r"seed must be in \[0, 2\*\*64\), got 18446744073709551616"),
        (1.5, r"seed must be an integer, got 1.5"),
        (True, r"seed must be an integer, got True"),
    ],
)
def test_bad_seeds_are_rejected(seed: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TorchGenerator(seed)  # type: ignore[arg-type]


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"shape must have non-negative dimensions, got \(3, -1\)"):
        TorchGenerator(0).randn(3, -1)


def test_paper_init_needs_no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = RNNConfig(model="lowrank", rank=2, N=20)
    before = init_params(cfg, 3, init="paper")
    monkeypatch.setitem(sys.modules, "torch", None)  # any `import torch` now fails
    after = init_params(cfg, 3, init="paper")
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    g = TorchGenerator(3)
    Mt, Nt = g.randn(20, 2) / np.float32(math.sqrt(20)), g.randn(2, 20) / np.float32(math.sqrt(20))
    np.testing.assert_array_equal(after["M"], Nt.T)
    np.testing.assert_array_equal(after["Nmat"], Mt.T)


@pytest.mark.parametrize(
    ("init", "message"),
    [
        (
            "torch",
            "init='torch' needs PyTorch, which is not installed; choose one of 'numpy', "
            "'paper' (the same weights without PyTorch)",
        ),
        ("xavier", "init must be one of 'numpy', 'paper', 'torch', got 'xavier'"),
    ],
)
def test_cli_init_errors_are_one_line_with_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, init: str, message: str
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    args = ["train", "--out", str(tmp_path / "run"), "--N", "8", "--epochs", "2"]
    result = CliRunner().invoke(app, [*args, "--seeds", "0", "--init", init])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if "Error" in line]
    assert errors == [f"Error: {message}"]
    assert "Traceback" not in result.output


def test_sweep_specs_accept_the_paper_init() -> None:
    spec = parse_spec({"train": {"epochs": 5, "lr": 0.1, "init": "paper"}, "grid": {"seed": [0]}})
    assert spec.train["init"] == "paper"
    with pytest.raises(
        ValueError, match=r"init must be one of 'numpy', 'paper', 'torch', got 'pt'"
    ):
        parse_spec({"train": {"epochs": 5, "lr": 0.1, "init": "pt"}, "grid": {"seed": [0]}})


# ------------------------------------------------------------ against PyTorch itself


@pytest.fixture(scope="module")
def torch() -> Any:
    torch = pytest.importorskip("torch")
    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in ("AVX2", "AVX512"):
        pytest.skip(
            f"PyTorch runs its scalar normal kernel here (CPU capability {capability}); "
            "torchrng reproduces the AVX2 kernel of x86-64"
        )
    return torch


def _package_draws(N: int) -> list[list[tuple[int, ...]]]:
    """The draw sequences of init_params: rank1, lowrank for each K <= N, full."""
    seqs = [[(N,), (N,)]]
    seqs += [[(N, K), (K, N), (N,), ()] for K in (1, 2, 5, 100) if K <= N]
    seqs.append([(N, N), (N,), ()])
    return seqs


@pytest.mark.parametrize("N", [10, 50, 100, 257])
def test_randn_is_bit_identical_to_torch_for_every_package_shape(torch: Any, N: int) -> None:
    # N = 257 (66049 numbers per full matrix) on half the small seeds, to stay fast
    for seed in SEEDS if N < 257 else SEEDS[:25] + SEEDS[50:]:
        for shapes in _package_draws(N):
            g, tg = TorchGenerator(seed), torch.Generator().manual_seed(seed)
            for shape in shapes:
                ours = g.randn(*shape)
                theirs = torch.randn(shape, generator=tg, dtype=torch.float32).numpy()
                assert ours.shape == theirs.shape
                np.testing.assert_array_equal(_bits(ours), _bits(theirs), err_msg=f"{seed} {shape}")


def test_successive_calls_of_mixed_sizes_continue_torchs_stream(torch: Any) -> None:
    for seed in SEEDS[::5]:
        g, tg = TorchGenerator(seed), torch.Generator().manual_seed(seed)
        for shape in SIZES + SIZES[::-1]:
            ours = g.randn(*shape)
            theirs = torch.randn(shape, generator=tg).numpy()
            np.testing.assert_array_equal(_bits(ours), _bits(theirs), err_msg=f"{seed} {shape}")
        np.testing.assert_array_equal(g.rand(5), torch.rand(5, generator=tg).numpy())


def test_global_manual_seed_draws_the_same_stream(torch: Any) -> None:
    with torch.random.fork_rng():
        torch.manual_seed(40)
        m, n = torch.randn(100), torch.randn(100, 1)
        b = torch.randn(1)
    g = TorchGenerator(40)
    np.testing.assert_array_equal(_bits(g.randn(100)), _bits(m.numpy()))
    np.testing.assert_array_equal(_bits(g.randn(100, 1)), _bits(n.numpy()))
    np.testing.assert_array_equal(_bits(g.randn(1)), _bits(b.numpy()))


@pytest.mark.parametrize(
    "cfg",
    [RNNConfig(N=N) for N in (10, 100)]
    + [RNNConfig(N=10, train_c=True)]
    + [RNNConfig(model="lowrank", rank=K, N=N) for N, K in ((10, 1), (50, 5), (100, 2), (257, 100))]
    + [RNNConfig(model="full", N=N) for N in (10, 257)],
)
def test_paper_init_equals_torch_init(torch: Any, cfg: RNNConfig) -> None:
    for seed in (0, 1, 40, 99, 2**32 + 40):
        for dtype in ("float32", "float64"):
            paper = init_params(cfg, seed, init="paper", dtype=dtype)
            real = init_params(cfg, seed, init="torch", dtype=dtype)
            assert paper.keys() == real.keys()
            for k in paper:
                assert paper[k].dtype == real[k].dtype
                np.testing.assert_array_equal(paper[k], real[k], err_msg=f"{seed} {k}")


def test_fig4_population_starts_from_torchs_weights(torch: Any) -> None:
    # Fig 4: rank one, N = 100, seeds 0-99. Identical starting bits mean identical
    # training runs (the engine is deterministic), so the learned/stuck classification of
    # paper-init and torch-init networks agrees on 100 of 100 without training them.
    cfg = RNNConfig(N=100)
    for seed in range(100):
        paper, real = init_params(cfg, seed, init="paper"), init_params(cfg, seed, init="torch")
        for k in ("m", "n", "b"):
            np.testing.assert_array_equal(_bits(paper[k]), _bits(real[k]), err_msg=f"{seed} {k}")

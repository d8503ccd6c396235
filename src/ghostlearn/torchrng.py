"""PyTorch's CPU normal generator, re-implemented in NumPy (no PyTorch needed).

``torch.manual_seed(seed)`` followed by float32 ``torch.randn`` calls on CPU is how the
paper's authors drew their initial weights. This module reproduces those numbers bit for
bit (as float32) from the same seed, so that ``init="paper"`` gives the authors' networks
on machines without PyTorch. The algorithm, as PyTorch 2.x runs it on an x86-64 CPU with
AVX2 (every such CPU since 2013; AVX-512 machines take the same kernel):

1. **Engine.** A 32-bit Mersenne Twister (mt19937). ``manual_seed(seed)`` keeps the low 32
   bits ``s = seed mod 2^32`` and fills the 624-word state with Knuth's recurrence
   ``state[0] = s``, ``state[j] = 1812433253 (state[j-1] xor (state[j-1] >> 30)) + j``
   (mod 2^32), exactly as ``numpy.random.RandomState(s)``; the first output word comes
   after a full twist. The generator also holds one cached float64 normal (see 4), cleared
   by ``manual_seed``.
2. **Uniforms.** A float32 uniform takes one word ``w``: ``u = (w mod 2^24) * 2^-24``, in
   ``[0, 1)``. A float64 uniform takes two words ``hi, lo``:
   ``u = (((hi << 32) | lo) mod 2^53) * 2^-53``.
3. **randn of n >= 16 float32 numbers** (any shape; it is filled as a flat array):
   fill ``u[0:n]`` with float32 uniforms, then for each block ``u[16 b : 16 b + 16]``,
   for ``j = 0..7``::

       u1 = 1 - u[j],  u2 = u[j + 8]                      (float32)
       radius = sqrt(-2 log u1),  theta = (2 pi) u2         (float32; 2 pi rounded to float32)
       out[j] = radius cos(theta),  out[j + 8] = radius sin(theta)

   If ``n`` is not a multiple of 16, the last 16 numbers are then drawn again: 16 fresh
   uniforms are written over ``out[n-16:n]`` and transformed as one block. The stream
   therefore advances by ``n`` words, plus 16 when ``n mod 16 != 0``.
   ``log``, ``sin`` and ``cos`` are not the correctly rounded functions: PyTorch's AVX2
   kernel uses the Cephes single-precision polynomials of ``avx_mathfun.h``
   (:func:`logf_cephes`, :func:`sincosf_cephes`), and its compiler fuses every
   multiply-add in them into one fused multiply-add (one rounding), which
   :func:`fma_float32` reproduces. Correctly rounded ``log``, ``sin``, ``cos`` instead
   would change 17% of the numbers by 1-3 units in the last place, and the same
   polynomials without fused multiply-adds 1% by 1-2 units.
4. **randn of n < 16 numbers** (e.g. one bias) takes a scalar float64 path, one number at
   a time: if a cached normal is present it is returned (and the cache emptied);
   otherwise two float64 uniforms ``u1, u2`` (four words) give
   ``r = sqrt(-2 log1p(-u2))``, ``theta = 2 pi u1``; ``r sin(theta)`` is cached in the
   generator and ``r cos(theta)`` returned. Each number is rounded to float32. The cache
   survives across calls: ``randn(3)`` leaves one normal that the next ``randn`` of fewer
   than 16 numbers returns first; ``randn`` of 16 or more neither uses nor clears it.

PyTorch's scalar fallback (``ATEN_CPU_CAPABILITY=default``, CPUs without AVX2, and builds
without the AVX2 kernel such as arm64) computes step 3 with the C library's ``logf``,
``sinf`` and ``cosf`` and with ``theta`` rounded from a float64 product, and so draws
slightly different numbers (measured with PyTorch 2.13 on 2 million draws: 38% differ,
by at most 2.3e-6, median 1.2e-7); the fallback is not reproduced here.

Everything here is NumPy; the engine's words come from :class:`numpy.random.MT19937`
loaded with the state of step 1. Nothing touches a global random state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "TorchGenerator",
    "fma_float32",
    "float32_uniforms",
    "float64_uniforms",
    "logf_cephes",
    "mt19937_seed_state",
    "normal_block16",
    "sincosf_cephes",
    "torch_randn",
]

_MT_N = 624
_SEED_LIMIT = 2**64

_F32 = np.float32
# Constants of the Cephes single-precision log / sin / cos, as float32.
_SQRT_HALF = _F32(0.707106781186547524)
_LOG_P = tuple(
    _F32(v)
    for v in (
        7.0376836292e-2,
        -1.1514610310e-1,
        1.1676998740e-1,
        -1.2420140846e-1,
        1.4249322787e-1,
        -1.6668057665e-1,
        2.0000714765e-1,
        -2.4999993993e-1,
        3.3333331174e-1,
    )
)
_LOG_Q1 = _F32(-2.12194440e-4)
_LOG_Q2 = _F32(0.693359375)  # ln 2 = Q2 - Q1, split so that e * Q2 is exact
_FOUR_OVER_PI = _F32(1.27323954473516)
_MINUS_PI_OVER_4 = (  # -pi/4 in three parts (Cody-Waite reduction)
    _F32(-0.78515625),
    _F32(-2.4187564849853515625e-4),
    _F32(-3.77489497744594108e-8),
)
_SIN_P = (_F32(-1.9515295891e-4), _F32(8.3321608736e-3), _F32(-1.6666654611e-1))
_COS_P = (_F32(2.443315711809948e-005), _F32(-1.388731625493765e-003), _F32(4.166664568298827e-002))
_TWO_PI_F32 = _F32(2.0 * math.pi)
_SIGN = np.uint32(0x80000000)


# --------------------------------------------------------------------------------------
# Engine and uniforms


def mt19937_seed_state(seed: int) -> np.ndarray:
    """The 624-word mt19937 state that ``torch.manual_seed(seed)`` sets (step 1).

    Args:
        seed: integer in ``[0, 2^64)``; only ``seed mod 2^32`` matters.

    Returns:
        uint32 array [624]: ``state[0] = seed mod 2^32``,
        ``state[j] = 1812433253 (state[j-1] xor (state[j-1] >> 30)) + j mod 2^32``.

    Raises:
        ValueError: if ``seed`` is not an integer in ``[0, 2^64)``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not 0 <= int(seed) < _SEED_LIMIT:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    state = [int(seed) & 0xFFFFFFFF]
    for j in range(1, _MT_N):
        prev = state[-1]
        state.append((1812433253 * (prev ^ (prev >> 30)) + j) & 0xFFFFFFFF)
    return np.array(state, dtype=np.uint32)


def float32_uniforms(words: np.ndarray) -> np.ndarray:
    """Float32 uniforms in ``[0, 1)`` from 32-bit words: ``(w mod 2^24) * 2^-24`` (exact)."""
    w = np.asarray(words, dtype=np.uint64)
    return (w & np.uint64(0xFFFFFF)).astype(np.float32) * _F32(2.0**-24)


def float64_uniforms(words: np.ndarray) -> np.ndarray:
    """Float64 uniforms in ``[0, 1)`` from consecutive word pairs ``(hi, lo)`` (exact).

    ``u = (((hi << 32) | lo) mod 2^53) * 2^-53``; ``words`` has even length ``2 k``
    and the result length ``k``.
    """
    w = np.asarray(words, dtype=np.uint64).reshape(-1, 2)
    bits = ((w[:, 0] << np.uint64(32)) | w[:, 1]) & np.uint64((1 << 53) - 1)
    return bits.astype(np.float64) * 2.0**-53


# --------------------------------------------------------------------------------------
# float32 arithmetic of PyTorch's AVX2 normal kernel


def fma_float32(a: ArrayLike, b: ArrayLike, c: ArrayLike) -> np.ndarray:
    """Fused multiply-add ``a * b + c`` of float32 arrays with a single rounding.

    The product of two float32 numbers is exact in float64; the sum with ``c`` is formed
    in float64 with round-to-odd (the float64 sum, nudged by one float64 unit towards the
    exact value when it was inexact and its last bit is even; the exact error comes from
    Knuth's two-sum), and rounding that to float32 is then the correctly rounded
    ``a * b + c`` (float64 has more than 24 + 1 bits). For finite inputs whose result
    does not overflow.

    Args:
        a, b, c: float32 arrays or scalars (broadcast together).

    Returns:
        float32 array ``round32(a * b + c)``.
    """
    p = np.asarray(a, np.float32).astype(np.float64) * np.asarray(b, np.float32)
    c64 = np.asarray(c, np.float32).astype(np.float64)
    s = p + c64
    # two-sum: err = (p + c) - s exactly
    bv = s - p
    err = (p - (s - bv)) + (c64 - bv)
    # round to odd: an inexact s with an even last bit moves one float64 step towards the
    # exact sum; s != 0 there (a float64 sum that rounds to zero is exact), so the step is
    # +1 on the bit pattern when err has the sign of s and -1 otherwise
    bits = np.atleast_1d(s).view(np.int64).reshape(np.shape(s))
    nudge = (err != 0) & ((bits & 1) == 0)
    step = np.where((err > 0) == (s > 0), 1, -1)
    return np.where(nudge, bits + step, bits).view(np.float64).astype(np.float32)


def logf_cephes(x: np.ndarray) -> np.ndarray:
    """Natural log in float32 as PyTorch's AVX2 kernel computes it (Cephes ``logf``).

    With ``x = m 2^e``, ``m`` in ``[0.5, 1)``: if ``m < sqrt(1/2)`` then ``e -= 1`` and
    ``t = 2 m - 1`` (formed as ``(m - 1) + m``), else ``t = m - 1``; then with ``z = t^2``
    and ``P(t) = p0 t^8 + ... + p8`` (Horner, each step one fused multiply-add)::

        y = fma(t P(t) , z, e q1)     # t^3 P(t) + e q1
        y = fma(-z, 1/2, y)
        log x = fma(e, q2, t + y)     # ln 2 = q2 - q1

    Args:
        x: float32 array, entries in ``(0, inf)`` (here ``1 - u`` in ``[2^-24, 1]``).

    Returns:
        float32 array, within 1 unit in the last place of ``ln x`` on ``[2^-24, 1]``
        (0.82 at most over the 2^24 inputs ``1 - k 2^-24`` the kernel can see).
    """
    x = np.maximum(np.asarray(x, np.float32), np.float32(np.finfo(np.float32).tiny))
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(np.float32) + _F32(1)
    m = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(np.float32)
    low = m < _SQRT_HALF
    t = (m - _F32(1)) + np.where(low, m, _F32(0))
    e = e - np.where(low, _F32(1), _F32(0))
    z = t * t
    y = np.full_like(t, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = fma_float32(y, t, p)
    y = y * t
    y = fma_float32(y, z, e * _LOG_Q1)
    y = fma_float32(-z, _F32(0.5), y)
    return fma_float32(e, _LOG_Q2, t + y)


def sincosf_cephes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sin x, cos x)`` in float32 as PyTorch's AVX2 kernel computes them (Cephes).

    ``j = 2 floor((floor(|x| 4/pi) + 1) / 2)`` (the even octant count), then
    ``r = |x| - j pi/4`` in three fused steps with ``pi/4 = d1 + d2 + d3``. With ``z = r^2``,
    ``C = 1 - z/2 + z^2 (c0 z^2 + c1 z + c2)`` and ``S = r + r z (s0 z^2 + s1 z + s2)``
    (every multiply-add fused): ``sin`` takes ``S`` when ``j mod 4 == 0`` and ``C`` when
    ``j mod 4 == 2``; ``cos`` takes the other one; the sign of ``sin`` flips when
    ``j mod 8 >= 4`` (and with the sign of ``x``), that of ``cos`` when ``(j - 2) mod 8 < 4``.

    Args:
        x: float32 array with ``|x| < 2^24`` (here ``theta`` in ``[0, 2 pi)``).

    Returns:
        ``(sin x, cos x)``, float32 arrays, within 2 units in the last place of
        ``max(|value|, 2^-24)`` on ``[0, 2 pi]`` (1.49 at most over the 2^24 inputs
        ``float32(2 pi) k 2^-24`` the kernel can see).
    """
    x = np.asarray(x, np.float32)
    sign_sin = x.view(np.uint32) & _SIGN
    ax = np.abs(x)
    j = (ax * _FOUR_OVER_PI).astype(np.int32).view(np.uint32)
    j = (j + np.uint32(1)) & ~np.uint32(1)
    jf = j.view(np.int32).astype(np.float32)
    r = ax
    for d in _MINUS_PI_OVER_4:
        r = fma_float32(jf, d, r)
    sign_sin = sign_sin ^ ((j & np.uint32(4)) << np.uint32(29))
    sign_cos = (~(j - np.uint32(2)) & np.uint32(4)) << np.uint32(29)
    sin_poly = (j & np.uint32(2)) == 0
    z = r * r
    c = fma_float32(_COS_P[0], z, _COS_P[1])
    c = fma_float32(c, z, _COS_P[2])
    c = c * z
    c = fma_float32(c, z, -(z * _F32(0.5)))
    c = c + _F32(1)
    s = fma_float32(_SIN_P[0], z, _SIN_P[1])
    s = fma_float32(s, z, _SIN_P[2])
    s = fma_float32(s * z, r, r)
    # the kernel selects with masks and additions; reproduce them (they fix signed zeros)
    s_part = np.where(sin_poly, s, _F32(0))
    c_part = np.where(sin_poly, _F32(0), c)
    sin = c_part + s_part
    cos = (c - c_part) + (s - s_part)
    sin = (sin.view(np.uint32) ^ sign_sin).view(np.float32)
    cos = (cos.view(np.uint32) ^ sign_cos).view(np.float32)
    return sin, cos


def normal_block16(u: np.ndarray) -> np.ndarray:
    """Box-Muller on blocks of 16 float32 uniforms, pairing element ``j`` with ``j + 8``.

    Args:
        u: float32 array [..., 16] of uniforms in ``[0, 1)``.

    Returns:
        float32 array [..., 16]: ``out[j] = radius cos(theta)``,
        ``out[j + 8] = radius sin(theta)`` with ``radius = sqrt(-2 log(1 - u[j]))`` and
        ``theta = (2 pi) u[j + 8]``, ``j = 0..7`` (step 3 of the module doc).
    """
    u = np.asarray(u, np.float32)
    if u.shape[-1:] != (16,):
        raise ValueError(f"u must have a last axis of length 16, got shape {u.shape}")
    radius = np.sqrt(_F32(-2) * logf_cephes(_F32(1) - u[..., :8]))
    sin, cos = sincosf_cephes(_TWO_PI_F32 * u[..., 8:])
    # the kernel ends with fma(n, std=1, mean=0): same value, and -0 becomes +0
    return np.concatenate([radius * cos + _F32(0), radius * sin + _F32(0)], axis=-1)


# --------------------------------------------------------------------------------------
# Generator


class TorchGenerator:
    """The state of a PyTorch CPU generator: mt19937 words and the cached normal.

    ``TorchGenerator(seed)`` is ``torch.Generator().manual_seed(seed)``; each method
    advances the state as the PyTorch call of the same name does, so successive draws
    continue one stream. Example::

        g = TorchGenerator(40)
        m = g.randn(100)        # torch.randn(100) after torch.manual_seed(40)
        n = g.randn(100, 1)     # the next torch.randn(100, 1)

    Args:
        seed: integer in ``[0, 2^64)``.

    Raises:
        ValueError: if ``seed`` is not an integer in ``[0, 2^64)``.
    """

    def __init__(self, seed: int) -> None:
        self._bits = np.random.MT19937()
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> TorchGenerator:
        """Reseed (``torch.Generator.manual_seed``): new engine state, cache emptied."""
        state = mt19937_seed_state(seed)
        self._bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": state, "pos": _MT_N},
        }
        self.cached_normal: float | None = None
        return self

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` 32-bit outputs of the engine (uint32 [n])."""
        if n <= 0:
            return np.zeros(0, np.uint32)
        return self._bits.random_raw(int(n)).astype(np.uint32)

    def rand(self, *shape: int) -> np.ndarray:
        """``torch.rand(*shape)``: float32 uniforms, one word each (step 2)."""
        dims = _dims(shape)
        return float32_uniforms(self.words(math.prod(dims))).reshape(dims)

    def normal_scalar(self) -> float:
        """One float64 normal of the scalar path (step 4); uses and refills the cache."""
        if self.cached_normal is not None:
            value, self.cached_normal = self.cached_normal, None
            return value
        u1, u2 = (float(v) for v in float64_uniforms(self.words(4)))
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self.cached_normal = r * math.sin(theta)
        return r * math.cos(theta)

    def randn(self, *shape: int) -> np.ndarray:
        """``torch.randn(*shape)`` in float32 (steps 3 and 4 of the module doc).

        Args:
            *shape: non-negative dimensions, or one tuple of them (``()`` is one number).

        Returns:
            float32 array of ``shape``.
        """
        dims = _dims(shape)
        n = math.prod(dims)
        if n < 16:
            vals = [self.normal_scalar() for _ in range(n)]
            return np.array(vals, dtype=np.float64).astype(np.float32).reshape(dims)
        u = self.rand(n)
        full = n - n % 16
        out = np.empty(n, np.float32)
        out[:full] = normal_block16(u[:full].reshape(-1, 16)).reshape(-1)
        if n % 16:
            out[n - 16 :] = normal_block16(self.rand(16))
        return out.reshape(dims)


def torch_randn(seed_or_generator: int | TorchGenerator, shape: Sequence[int]) -> np.ndarray:
    """``torch.randn(shape)`` (float32, CPU) without PyTorch.

    Args:
        seed_or_generator: a seed (as after ``torch.manual_seed(seed)``) or a
            :class:`TorchGenerator`, which is advanced.
        shape: dimensions; ``()`` draws one number.

    Returns:
        float32 array of ``shape``, bit-identical to PyTorch on x86-64 CPUs with AVX2.
    """
    gen = (
        seed_or_generator
        if isinstance(seed_or_generator, TorchGenerator)
        else TorchGenerator(seed_or_generator)
    )
    return gen.randn(*tuple(shape))


def _dims(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"shape must have non-negative dimensions, got {dims}")
    return dims

"""CPU attention kernels: the register-blocked microkernels, NaN propagation and the split backward."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest

import boostr
from boostr.kernels.cpu.attention_mk import NV_QK, VW, col_exp, col_max, gemm_qk, gemm_qk_max, row_exp
from boostr.testing.attention_refs import attention_bwd_ref, attention_mask, attention_ref


@nb.njit(cache=False)
def _gemm(a, a_rs, a_cs, b, c, cm, m, n, k, acc, with_max):  # type: ignore[no-untyped-def]
    if with_max:
        gemm_qk_max(a, 0, a_rs, a_cs, b, 0, b.shape[1], c, 0, c.shape[1], m, n, k, acc, cm)
    else:
        gemm_qk(a, 0, a_rs, a_cs, b, 0, b.shape[1], c, 0, c.shape[1], m, n, k, acc, cm)


@pytest.mark.parametrize(("m", "k"), [(1, 1), (7, 5), (8, 64), (13, 80), (33, 3)])
@pytest.mark.parametrize("transposed", [False, True])
def test_gemm_qk_any_rows_and_strided_a(m, k, transposed):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(m * 100 + k)
    n = 2 * NV_QK * VW
    a = rng.standard_normal((k, m) if transposed else (m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = rng.standard_normal((m, n)).astype(np.float32)
    c0 = c.copy()
    cm = np.full(n, -np.inf, np.float32)
    rs, cs = (1, m) if transposed else (k, 1)
    _gemm(a, rs, cs, b, c, cm, m, n, k, True, True)
    want = c0 + (a.T if transposed else a).astype(np.float64) @ b
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cm, c.max(0), rtol=0, atol=0)
    _gemm(a, rs, cs, b, c, cm, m, n, k, False, False)
    np.testing.assert_allclose(c, want - c0, rtol=1e-5, atol=1e-5)


@nb.njit(cache=False)
def _softmax_ops(s, m, out, tot, row):  # type: ignore[no-untyped-def]
    for c0 in range(0, s.shape[1], VW):
        col_max(s, c0, s.shape[1], s.shape[0], m, c0, out, c0)
    for c0 in range(0, s.shape[1], VW):
        col_exp(s, c0, s.shape[1], s.shape[0], out, c0, tot, c0)
    row_exp(row, 0, row.shape[0], np.float32(1.5))


def test_vector_exp_and_column_max():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    s = (rng.standard_normal((11, 2 * VW)) * 20).astype(np.float32)
    s[3, 1] = -np.inf
    s[:, 2] = -200.0  # underflows to exactly 0 after the shift
    s0 = s.astype(np.float64)
    m = np.full(2 * VW, -np.inf, np.float32)
    out, tot = np.empty(2 * VW, np.float32), np.zeros(2 * VW, np.float32)
    row = rng.standard_normal(2 * VW).astype(np.float32)
    row0 = row.astype(np.float64)
    _softmax_ops(s, m, out, tot, row)
    np.testing.assert_array_equal(out, s0.max(0).astype(np.float32))
    want = np.exp(s0 - out.astype(np.float64))
    np.testing.assert_allclose(s, want, rtol=1e-5, atol=1e-37)  # the f32 shift s - m costs |s - m| * 2^-24
    np.testing.assert_allclose(tot, want.sum(0), rtol=1e-5)
    np.testing.assert_allclose(row, np.exp(row0 - 1.5), rtol=2e-6)


def test_nan_propagates_through_the_fused_forward():  # type: ignore[no-untyped-def]
    c = boostr.get_client("cpu")
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((1, 2, 5, 64)).astype(np.float32), rng.standard_normal((1, 2, 7, 64)).astype(np.float32)
    q[0, 0, 2, 3] = np.nan
    out, lse = c.flash_attention_fwd(c.from_numpy(q), c.from_numpy(k), c.from_numpy(k))
    o, lv = out.numpy(), lse.numpy()
    assert np.isnan(o[0, 0, 2]).all() and np.isnan(lv[0, 0, 2])
    assert np.isnan(o).sum() == 64 and np.isnan(lv).sum() == 1


@pytest.mark.parametrize("causal", [False, True])
def test_split_backward_single_kv_head(causal):  # type: ignore[no-untyped-def]
    """B * H_kv = 1 with many key tiles: the backward splits the keys and sums the dq partials."""
    c = boostr.get_client("cpu")
    rng = np.random.default_rng(4)
    q = rng.standard_normal((1, 4, 150, 80)).astype(np.float32)  # D 80: padded to 96 inside
    k, v = (rng.standard_normal((1, 1, 300, 80)).astype(np.float32) for _ in range(2))
    do = rng.standard_normal(q.shape).astype(np.float32)
    ts = [c.from_numpy(a) for a in (q, k, v)]
    out, lse = c.flash_attention_fwd(*ts, causal=causal)
    ro, _ = attention_ref(q, k, v, causal)
    np.testing.assert_allclose(out.numpy(), ro, rtol=1e-4, atol=1e-5)
    grads = c.flash_attention_bwd(c.from_numpy(do), *ts, out, lse, causal=causal)
    ref = attention_bwd_ref(do, q, k, v, attention_mask(150, 300, causal), 1.0 / math.sqrt(80))
    for g, r in zip(grads, ref):
        np.testing.assert_allclose(g.numpy(), r, rtol=1e-3, atol=2e-5)

"""The conformance machinery itself: it must be able to fail (assert_close, nmse, run_case, CLI)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import boostr
from boostr.errors import UnsupportedDType
from boostr.runtime.cpu import CpuClient
from boostr.testing import assert_close, compare, nmse, refs, tolerance
from boostr.testing.cases import cases, run_case


def test_nmse_formula():
    e = np.array([1.0, 2.0, 2.0])
    a = np.array([1.0, 2.0, 3.0])
    assert nmse(a, e) == pytest.approx(1.0 / 9.0)
    assert nmse(e, e) == 0.0
    assert nmse(np.zeros(2), np.zeros(2)) == 0.0
    assert nmse(np.ones(2), np.zeros(2)) == math.inf


def test_assert_close_catches_errors():
    e = np.array([1.0, -2.0, math.nan, math.inf, 0.0])
    assert_close(e.astype(np.float32), e, "f32")
    c = assert_close(e * (1 + 1e-6), e, "f32")
    assert c.ok and 0 < c.max_abs < 1e-5 and c.nmse < 1e-11
    for bad in ([1.001, -2, math.nan, math.inf, 0], [1, -2, 0.0, math.inf, 0], [1, -2, math.nan, -math.inf, 0],
                [1, -2, math.nan, math.inf, math.inf], [1, -2, math.nan, math.inf, 1e-3]):  # fmt: skip
        with pytest.raises(AssertionError, match="nmse"):
            assert_close(np.array(bad), e, "f32", "cpu")
    with pytest.raises(AssertionError):
        assert_close(np.ones(3), np.ones(4), "f32")


def test_tolerances_order():
    assert tolerance("cpu", "f64").rtol < tolerance("cpu", "f32").rtol < tolerance("cpu", "f16").rtol
    assert tolerance("cpu", "f16").rtol < tolerance("cpu", "bf16").rtol < tolerance("cpu", "fp8_e5m2").rtol
    assert tolerance("wgpu:0", "f32").rtol >= tolerance("cpu", "f32").rtol
    assert tolerance("cuda:1", "i32").atol == 0.0
    assert not compare(np.array([1.0]), np.array([1.1]), tolerance("cpu", "bf16")).ok


def test_refs_semantics():
    np.testing.assert_allclose(refs.softmax(np.array([[0.0, math.log(3.0)]])), [[0.25, 0.75]])
    assert np.isnan(refs.softmax(np.array([[-math.inf, -math.inf]]))).all()
    assert refs.logsumexp(np.array([[-math.inf, -math.inf]]), 1)[0] == -math.inf
    _, i = refs.sort(np.array([[2.0, math.nan, 1.0, 2.0]]), descending=True)
    assert i.tolist() == [[1, 0, 3, 2]]
    assert refs.topk(np.array([3.0, 1.0, 3.0]), 2)[1].tolist() == [0, 2]
    assert refs.argext(np.array([[1.0, math.nan, 5.0, math.nan]]), 1, True).tolist() == [1]
    assert refs.cumsum(np.array([[1.0, 2.0, 3.0]]), 1).tolist() == [[1, 3, 6]]
    assert refs.var(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(5 / 3)
    np.testing.assert_allclose(refs.erf(np.array([0.5])), [math.erf(0.5)])
    np.testing.assert_allclose(refs.softplus(np.array([-800.0, 0.0, 800.0])), [0.0, math.log(2.0), 800.0])
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(refs.matmul_loops(a, a.T), a @ a.T)
    assert refs.scatter(np.zeros(3), 0, np.array([1, 1]), np.array([2.0, 3.0]), True).tolist() == [0, 5, 0]


class _WrongExp(CpuClient):
    """A deliberately broken backend: exp is off by 1e-3 relative."""

    def _k_unary(self, op, x, out):
        super()._k_unary(op, x, out)
        if op == "exp":
            super()._k_binary("mul", out, 1.001, out)


class _RefusesF16(CpuClient):
    compute_dtypes = frozenset(d for d in CpuClient.compute_dtypes if d is not boostr.f16)


class _SilentDowncast(CpuClient):
    """Claims not to compute f16 but runs it anyway."""

    compute_dtypes = frozenset(d for d in CpuClient.compute_dtypes if d is not boostr.f16)

    def _check_compute(self, op, dt):
        if dt.is_fp8:
            raise UnsupportedDType(op, dt, self.device_name)


def test_run_case_detects_wrong_results_and_dtype_contract():
    exp = next(c for c in cases("elementwise", "exp") if c.variant == "257")
    assert run_case(exp, CpuClient(), boostr.f32).status == "pass"
    r = run_case(exp, _WrongExp(), boostr.f32)
    assert r.status == "fail" and "tolerance" in r.message
    assert run_case(exp, _RefusesF16(), boostr.f16).status == "unsupported"
    assert run_case(exp, CpuClient(), boostr.fp8_e4m3).status == "unsupported"
    r = run_case(exp, _SilentDowncast(), boostr.f16)
    assert r.status == "fail" and "not refused" in r.message


def test_every_family_has_cases():
    from boostr.testing.cases import FAMILIES

    for fam in FAMILIES:
        assert cases(fam), fam
    ids = [(c.family, c.id) for c in cases()]
    assert len(ids) == len(set(ids)), "case ids must be unique within a family"


def test_conformance_cli(capsys):
    from boostr.cli.conformance import main

    assert main(["-b", "cpu", "--op", "softmax", "-d", "f32", "-d", "f16"]) == 0
    out = capsys.readouterr().out
    assert "reduce/softmax" in out and "f16" in out and "|" in out
    assert main(["-b", "cpu", "--op", "exp", "--long", "-d", "fp8_e4m3"]) == 0
    assert "unsupported" in capsys.readouterr().out
    assert main(["-b", "tpu"]) == 2
    assert main(["--op", "no-such-op"]) == 2

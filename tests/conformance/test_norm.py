"""rms_norm, layer_norm and add_rms_norm on every backend: cases and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from boostr.testing import assert_close
from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("norm")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("norm")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


def test_add_rms_norm_matches_two_ops(client):
    rng = np.random.default_rng(0)
    x = client.from_numpy(rng.standard_normal((3, 33)).astype(np.float32))
    r = client.from_numpy(rng.standard_normal((3, 33)).astype(np.float32))
    w = client.from_numpy(rng.uniform(0.5, 2, 33).astype(np.float32))
    out, summed = client.add_rms_norm(x, r, w)
    assert_close(summed.numpy(), client.add(x, r).numpy(), "f32", client.device_name)
    assert_close(out.numpy(), client.rms_norm(client.add(x, r), w).numpy(), "f32", client.device_name)


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, x, w: c.rms_norm(x, c.from_numpy(np.ones(4, np.float32))), "weight"),
        (lambda c, x, w: c.rms_norm(x, c.from_numpy(np.ones((1, 8), np.float32))), "weight"),
        (lambda c, x, w: c.rms_norm(x, c.cast(w, "f64") if "f64" in _names(c) else c.cast(w, "i32")), "weight"),
        (lambda c, x, w: c.rms_norm(c.cast(x, "i32")), "x"),
        (lambda c, x, w: c.rms_norm(c.from_numpy(np.float32(1.0))), "x"),
        (lambda c, x, w: c.rms_norm(x, w, eps=-1.0), "eps"),
        (lambda c, x, w: c.layer_norm(x, w, c.from_numpy(np.ones(3, np.float32))), "bias"),
        (lambda c, x, w: c.layer_norm(c.cast(x, "bool")), "x"),
        (lambda c, x, w: c.add_rms_norm(x, c.from_numpy(np.ones((2, 4), np.float32)), w), "residual"),
        (lambda c, x, w: c.add_rms_norm(x, x, c.from_numpy(np.ones(9, np.float32))), "weight"),
        (lambda c, x, w: c.rms_norm(x.numpy(), w), "x"),
    ],
    ids=["weight-len", "weight-2d", "weight-dtype", "x-int", "x-0d", "eps-negative", "bias-len", "x-bool",
         "residual-shape", "addrms-weight", "numpy-input"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    x = client.from_numpy(np.ones((2, 8), np.float32))
    w = client.from_numpy(np.ones(8, np.float32))
    raises_arg(lambda: fn(client, x, w), arg)


def _names(c):
    return {d.name for d in c.storage_dtypes}

"""Ops make no host<->device transfers: data leaves the device only at the API boundary."""

from __future__ import annotations

import numpy as np
import pytest

import boostr
from boostr.ops.traits import PRIMITIVE_TRAITS
from boostr.runtime.protocol import client_op_names
from boostr.testing.cases import Case, cases
from boostr.testing.cases._core import _device, seed_of, supports

# ops with no registered case: a representative call each, inputs built before the counted block
EXTRA = {
    "binary": lambda c, x: c.binary("mul", x, x),
    "empty": lambda c, x: c.empty(3, 4),
    "empty_like": lambda c, x: c.empty_like(x),
    "ones_like": lambda c, x: c.ones_like(x),
}
PRIMITIVE_OPS = sorted(
    n for t in PRIMITIVE_TRAITS for n in vars(t) if not n.startswith("_") and callable(getattr(t, n))
)


def _representatives() -> dict[str, Case]:
    reps: dict[str, Case] = {}
    for c in cases():
        if c.op not in reps and any(d in c.dtypes for d in (boostr.f32, boostr.i32, boostr.bool_)):
            reps[c.op] = c
    return reps


REPS = _representatives()


def test_every_primitive_op_has_a_representative():
    missing = [op for op in PRIMITIVE_OPS if op not in REPS and op not in EXTRA]
    assert not missing, f"add a conformance case (or an EXTRA call) for {missing}"


@pytest.mark.parametrize("op", sorted(set(REPS) | set(EXTRA)))
def test_op_makes_no_transfers(client, op):
    if op not in client_op_names():
        pytest.fail(f"{op} has a case but is not a public op")
    if op in EXTRA:
        x = client.from_numpy(np.ones((2, 3), np.float32))
        with client.count_transfers() as t:
            EXTRA[op](client, x)
    else:
        case = REPS[op]
        dt = next(d for d in (boostr.f32, boostr.i32, boostr.bool_) if d in case.dtypes)
        if not supports(case, client, dt):
            pytest.skip(f"{dt.name} unsupported here")
        raw = case.build(np.random.default_rng(seed_of(case, dt)), dt)
        dev = {k: _device(client, v, dt) for k, v in raw.items()}
        if case.view is not None:
            dev = case.view(dev)
        with client.count_transfers() as t:
            case.call(client, **dev)
    assert t.total == 0, f"{op} made {t.h2d} uploads and {t.d2h} downloads"


def test_boundary_transfers_are_counted(client):
    with client.count_transfers() as t:
        x = client.from_numpy(np.ones(4, np.float32))
    assert t.h2d >= 1
    with client.count_transfers() as t:
        x.numpy()
    assert t.d2h >= 1

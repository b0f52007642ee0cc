"""nn modules: Module registration and state dicts, Linear/Embedding with float and quantized weights
(quant_embedding on every backend, including rows that are not whole u32 words), fused projections."""

from __future__ import annotations

import numpy as np
import pytest

import boostr
from boostr import InvalidArgument
from boostr.nn import Embedding, Linear, Module, ModuleList, RMSNorm, fuse_linears
from boostr.quant import QuantTensor


def _q(client, x: np.ndarray, fmt: str) -> QuantTensor:  # type: ignore[no-untyped-def]
    cpu = boostr.get_client("cpu")
    return cpu.quantize(cpu.from_numpy(x), fmt).to(client)


class Toy(Module):
    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.proj = Linear(client.ones(3, 4), client.zeros(3))
        self.blocks = ModuleList([RMSNorm(client.ones(4)) for _ in range(2)])
        self.scale = client.full((1,), 2.0)
        self._cache = client.zeros(5)  # private: never a parameter


def test_module_registration_and_state_dict(client):  # type: ignore[no-untyped-def]
    m = Toy(client)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "proj.weight", "proj.bias", "blocks.0.weight", "blocks.1.weight"]
    assert [n for n, _ in m.named_modules()] == ["", "proj", "blocks", "blocks.0", "blocks.1"]
    sd = m.state_dict()
    new = {k: client.mul(v, 3.0) for k, v in sd.items()}
    assert m.load_state_dict(new) == []
    np.testing.assert_array_equal(m.proj.weight.numpy(), np.full((3, 4), 3.0, np.float32))
    assert m.nbytes() == sum(v.nbytes for v in sd.values())
    with pytest.raises(InvalidArgument, match="unexpected"):
        m.load_state_dict({**new, "ghost": new["scale"]})
    with pytest.raises(InvalidArgument, match="shape"):
        m.load_state_dict({**new, "scale": client.zeros(2)})
    assert m.load_state_dict({"scale": new["scale"]}, strict=False) == sorted(set(sd) - {"scale"})


def test_linear_float_and_quant(client):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 64)).astype(np.float32)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    y = Linear(client.from_numpy(w), client.from_numpy(b))(client.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, x @ w.T + b, rtol=1e-4, atol=1e-4)
    qw = _q(client, w, "Q8_0")
    yq = Linear(qw)(client.from_numpy(x)).numpy()
    np.testing.assert_allclose(yq, x @ qw.dequantize().numpy().T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("fmt", "k"), [("Q8_0", 64), ("Q8_0", 32), ("Q4_0", 32), ("MXFP4", 32), ("Q4_K", 256)])
def test_quant_embedding(client, fmt, k):  # type: ignore[no-untyped-def]
    """Only the selected rows are decoded; 34-, 18- and 17-byte rows are not whole u32 words."""
    rng = np.random.default_rng(1)
    table = _q(client, rng.standard_normal((37, k)).astype(np.float32), fmt)
    ids = np.array([[0, 36, 5], [5, 17, 1]])
    out = Embedding(table)(client.from_numpy(ids, client.default_int)).numpy()
    np.testing.assert_array_equal(out, table.dequantize().numpy()[ids])
    assert out.shape == (2, 3, k)


def test_fuse_linears(client):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    x = client.from_numpy(rng.standard_normal((1, 2, 64)).astype(np.float32))
    for make in (lambda a: client.from_numpy(a), lambda a: _q(client, a, "Q4_1")):
        lins = [Linear(make(rng.standard_normal((n, 64)).astype(np.float32))) for n in (32, 16, 16)]
        before = [lin(x).numpy() for lin in lins]
        fused = fuse_linears(lins)
        assert fused is not None and fused.out_features == 64
        np.testing.assert_allclose(fused(x).numpy(), np.concatenate(before, -1), rtol=1e-5, atol=1e-5)
        for lin, want in zip(lins, before):  # the originals are views into the fused weight now
            np.testing.assert_allclose(lin(x).numpy(), want, rtol=1e-5, atol=1e-5)
    mixed = [Linear(client.ones(4, 64)), Linear(_q(client, np.ones((4, 64), np.float32), "Q8_0"))]
    assert fuse_linears(mixed) is None


def test_norms(client):  # type: ignore[no-untyped-def]
    from boostr.nn import LayerNorm

    rng = np.random.default_rng(3)
    x, r = rng.standard_normal((2, 5, 32)).astype(np.float32), rng.standard_normal((2, 5, 32)).astype(np.float32)
    w, b = rng.standard_normal(32).astype(np.float32), rng.standard_normal(32).astype(np.float32)
    tx, tr, tw, tb = (client.from_numpy(a) for a in (x, r, w, b))
    ref_rms = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * w
    np.testing.assert_allclose(RMSNorm(tw, 1e-5)(tx).numpy(), ref_rms, rtol=1e-5, atol=1e-5)
    normed, summed = RMSNorm(tw, 1e-5).add_norm(tx, tr)
    s = x + r
    np.testing.assert_allclose(summed.numpy(), s, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(normed.numpy(), s / np.sqrt((s * s).mean(-1, keepdims=True) + 1e-5) * w, 1e-5, 1e-5)
    ref_ln = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b
    np.testing.assert_allclose(LayerNorm(tw, tb, 1e-5)(tx).numpy(), ref_ln, rtol=1e-4, atol=1e-4)
    with pytest.raises(InvalidArgument):
        RMSNorm(client.ones(2, 2))

"""safetensors: single-file and sharded round trips, an HF-style checkpoint loading as a model
(split-half RoPE) that matches the float64 reference, and malformed or hostile checkpoints."""

from __future__ import annotations

import json
import struct

import ml_dtypes
import numpy as np
import pytest

from boostr import FormatError
from boostr.formats import detect_format, module_to_hf, open_safetensors, save_safetensors, save_sharded
from boostr.models import load_model
from boostr.quant import QuantTensor
from boostr.testing import nmse
from boostr.testing.llama_ref import gguf_reference_weights, reference_logits


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "a": rng.standard_normal((4, 8)).astype(np.float32),
        "b": rng.standard_normal((16,)).astype(np.float16),
        "c": rng.standard_normal((2, 3)).astype(ml_dtypes.bfloat16),
        "d": np.arange(5, dtype=np.int64),
    }


def test_single_file_round_trip(tmp_path, client):  # type: ignore[no-untyped-def]
    arrs = _arrays()
    save_safetensors(tmp_path / "x.safetensors", arrs, metadata={"format": "np"})
    assert detect_format(tmp_path / "x.safetensors") == "safetensors"
    ck = open_safetensors(tmp_path / "x.safetensors")
    assert sorted(ck.names) == sorted(arrs) and ck.metadata == {"format": "np"}
    for k, v in arrs.items():
        assert ck.shape(k) == v.shape
        np.testing.assert_array_equal(np.asarray(ck.host_array(k), np.float64), np.asarray(v, np.float64))
        if np.dtype(v.dtype).kind == "f":
            got = ck.load(k, client).numpy()
            np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(v, np.float32))


def test_sharded_round_trip(tmp_path):  # type: ignore[no-untyped-def]
    arrs = _arrays()
    paths = save_sharded(tmp_path / "ck", arrs, max_shard_bytes=64)
    assert len(paths) >= 3
    index = tmp_path / "ck" / "model.safetensors.index.json"
    assert detect_format(index) == "safetensors-index"
    doc = json.loads(index.read_text())
    assert set(doc["weight_map"]) == set(arrs)
    ck = open_safetensors(index)
    for k, v in arrs.items():
        np.testing.assert_array_equal(np.asarray(ck.host_array(k), np.float64), np.asarray(v, np.float64))


def _bad_header(tmp_path):  # type: ignore[no-untyped-def]
    p = tmp_path / "bad.safetensors"
    p.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    return p


def _bad_offsets(tmp_path):  # type: ignore[no-untyped-def]
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 20], "data_offsets": [0, 4 << 20]}}).encode()
    p = tmp_path / "off.safetensors"
    p.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return p


def _escaping_index(tmp_path):  # type: ignore[no-untyped-def]
    d = tmp_path / "evil"
    d.mkdir()
    p = d / "model.safetensors.index.json"
    p.write_text(json.dumps({"weight_map": {"w": "../../etc/passwd"}}))
    return p


def _missing_shard_tensor(tmp_path):  # type: ignore[no-untyped-def]
    d = tmp_path / "ck2"
    save_sharded(d, {"a": np.zeros(4, np.float32)})
    p = d / "model.safetensors.index.json"
    doc = json.loads(p.read_text())
    doc["weight_map"]["ghost"] = doc["weight_map"]["a"]
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize("make", [_bad_header, _bad_offsets, _escaping_index, _missing_shard_tensor])
def test_malformed_checkpoints(tmp_path, make):  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError):
        open_safetensors(make(tmp_path))


def test_hf_checkpoint_loads_and_matches_reference(tmp_path, client, synthetic):  # type: ignore[no-untyped-def]
    """Weights of a synthetic GGUF saved HF-style (names, config.json, split-half RoPE), sharded."""
    weights, cfg, _ = gguf_reference_weights(synthetic["f32-tied-gqa"])
    cfg.rope_interleaved = False  # HF checkpoints rotate split halves
    d = tmp_path / "hf"
    save_sharded(d, {module_to_hf(k): v for k, v in weights.items()}, max_shard_bytes=1 << 18)
    (d / "config.json").write_text(json.dumps(cfg.to_hf()))
    assert detect_format(d) == "hf-dir"
    model = load_model(d, backend=client, progress=False)
    assert not model.config.rope_interleaved and model.tied
    ids = [3, 17, 250, 99, 4]
    out = model(client.from_numpy(np.asarray([ids]), client.default_int)).numpy()[0]
    assert nmse(out, reference_logits(weights, cfg, ids)) < 1e-9


@pytest.mark.parametrize("name", ["q4_k-untied-gqa", "yarn"])
def test_convert_gguf_to_hf_and_back(tmp_path, synthetic, name):  # type: ignore[no-untyped-def]
    """GGUF -> HF safetensors (q/k rows un-permuted to split halves) -> GGUF (permuted back): the
    logits of all three models agree, and the quantized weights survive the GGUF round trip."""
    from boostr.models import save_gguf, save_hf

    ids = [3, 17, 250, 99, 4, 8]
    m0 = load_model(synthetic[name], backend="cpu", progress=False)
    want = m0(m0.client.from_numpy(np.asarray([ids]))).numpy()
    save_hf(m0, tmp_path / "hf", max_shard_bytes=1 << 19)
    m1 = load_model(tmp_path / "hf", backend="cpu", progress=False)
    assert not m1.config.rope_interleaved
    np.testing.assert_allclose(m1(m1.client.from_numpy(np.asarray([ids]))).numpy(), want, rtol=1e-4, atol=1e-4)
    for src, dst in ((m0, tmp_path / "a.gguf"), (m1, tmp_path / "b.gguf")):
        save_gguf(src, dst)
        m2 = load_model(dst, backend="cpu", progress=False)
        assert m2.config.rope_interleaved
        got = m2(m2.client.from_numpy(np.asarray([ids]))).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    m3 = load_model(tmp_path / "a.gguf", backend="cpu", progress=False)
    assert m3.tokenizer.encode("The capital") == m0.tokenizer.encode("The capital")
    for key, p in m0.state_dict().items():  # GGUF -> GGUF keeps every weight bit for bit
        q = m3.state_dict()[key]
        assert type(q) is type(p), key
        assert np.array_equal(*(t.raw() if isinstance(t, QuantTensor) else t.numpy() for t in (p, q))), key

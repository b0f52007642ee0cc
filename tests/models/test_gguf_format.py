"""GGUF: round trips through write_gguf / open_gguf, format detection, and malformed or hostile
files (truncated, wrong magic, huge counts and lengths, bad offsets, unknown types, shapes that do
not match the bytes) raising FormatError before any large allocation."""

from __future__ import annotations

import struct
import tracemalloc

import ml_dtypes
import numpy as np
import pytest

import boostr
from boostr import FormatError
from boostr.formats import GGUFTensor, detect_format, open_gguf, validate_gguf, write_gguf
from boostr.quant import QuantTensor


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_bytes(kvs: list[bytes] = (), infos: list[tuple] = (), data: bytes = b"", n_tensors: int | None = None,
               n_kv: int | None = None, magic: bytes = b"GGUF", version: int = 3) -> bytes:  # fmt: skip
    """A hand-built GGUF: ``kvs`` are encoded key-values, ``infos`` (name, dims, type id, offset)."""
    head = magic + struct.pack("<IQQ", version, len(infos) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)  # fmt: skip
    body = b"".join(kvs)
    for name, dims, tid, off in infos:
        body += _s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        body += struct.pack("<IQ", tid, off)
    out = head + body
    out += b"\0" * (-len(out) % 32)
    return out + data


def kv_u32(key: str, v: int) -> bytes:
    return _s(key) + struct.pack("<II", 4, v)


GOOD = dict(kvs=[kv_u32("general.alignment", 32)], infos=[("w", (4, 2), 0, 0)], data=b"\0" * 32)


def _write(tmp_path, raw: bytes):  # type: ignore[no-untyped-def]
    p = tmp_path / "m.gguf"
    p.write_bytes(raw)
    return p


def test_hand_built_file_is_valid(tmp_path):  # type: ignore[no-untyped-def]
    spans = validate_gguf(_write(tmp_path, gguf_bytes(**GOOD)))
    assert [(s.name, s.dims, s.nbytes) for s in spans] == [("w", (4, 2), 32)]
    f = open_gguf(tmp_path / "m.gguf")
    assert f.shape("w") == (2, 4) and f.type_name("w") == "F32"


BAD = {
    "truncated": lambda: gguf_bytes(**GOOD)[:-8],
    "wrong-magic": lambda: gguf_bytes(**GOOD, magic=b"GGUX"),
    "version-1": lambda: gguf_bytes(**GOOD, version=1),
    "big-endian": lambda: gguf_bytes(**GOOD, version=0x03000000),
    "huge-tensor-count": lambda: gguf_bytes(**GOOD, n_tensors=1 << 60),
    "huge-kv-count": lambda: gguf_bytes(**GOOD, n_kv=1 << 62),
    "huge-string": lambda: gguf_bytes(kvs=[struct.pack("<Q", 1 << 62) + b"key"]),
    "huge-array": lambda: gguf_bytes(kvs=[_s("a") + struct.pack("<IIQ", 9, 8, 1 << 61)]),
    "unknown-value-type": lambda: gguf_bytes(kvs=[_s("k") + struct.pack("<II", 77, 0)]),
    "bad-alignment": lambda: gguf_bytes(kvs=[kv_u32("general.alignment", 12)]),
    "unknown-tensor-type": lambda: gguf_bytes(infos=[("w", (4, 2), 99, 0)], data=b"\0" * 32),
    "offset-out-of-range": lambda: gguf_bytes(infos=[("w", (4, 2), 0, 1 << 40)], data=b"\0" * 32),
    "misaligned-offset": lambda: gguf_bytes(infos=[("w", (4, 2), 0, 4)], data=b"\0" * 64),
    "bytes-short-of-shape": lambda: gguf_bytes(infos=[("w", (1 << 20, 1 << 20), 0, 0)], data=b"\0" * 32),
    "row-not-whole-blocks": lambda: gguf_bytes(infos=[("w", (33, 1), 8, 0)], data=b"\0" * 64),
    "five-dims": lambda: gguf_bytes(infos=[("w", (1, 1, 1, 1, 1), 0, 0)], data=b"\0" * 32),
    "zero-dim": lambda: gguf_bytes(infos=[("w", (4, 0), 0, 0)], data=b"\0" * 32),
    "duplicate-tensor": lambda: gguf_bytes(infos=[("w", (8,), 0, 0), ("w", (8,), 0, 32)], data=b"\0" * 64),
    "duplicate-key": lambda: gguf_bytes(kvs=[kv_u32("a", 1), kv_u32("a", 2)]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_raises_format_error_without_big_allocation(tmp_path, case):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, BAD[case]())
    tracemalloc.start()
    try:
        with pytest.raises(FormatError):
            f = open_gguf(path)
            for name in f.names:
                f.host_array(name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{case}: {peak} bytes allocated before the error"


def test_detect_format(tmp_path):  # type: ignore[no-untyped-def]
    assert detect_format(_write(tmp_path, gguf_bytes(**GOOD))) == "gguf"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01PK not a model")
    with pytest.raises(FormatError, match="unknown model format"):
        detect_format(junk)
    with pytest.raises(FormatError, match="does not exist"):
        detect_format(tmp_path / "missing.gguf")


def test_write_read_round_trip(tmp_path, client):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((3, 64)).astype(np.float32)
    cpu = boostr.get_client("cpu")
    q8 = cpu.quantize(cpu.from_numpy(f32), "Q8_0").raw().reshape(3, -1)
    md = {"general.name": "rt", "x.int": 7, "x.neg": -3, "x.float": 0.5, "x.bool": True, "x.list": [1, 2, 3],
          "x.strs": ["a", "b c"]}  # fmt: skip
    tensors = [
        GGUFTensor("a.weight", "F32", (3, 64), data=f32),
        GGUFTensor("b.weight", "F16", (3, 64), data=f32.astype(np.float16)),
        GGUFTensor("c.weight", "BF16", (3, 64), make=lambda: f32.astype(ml_dtypes.bfloat16)),
        GGUFTensor("d.weight", "Q8_0", (3, 64), data=q8),
    ]
    path = tmp_path / "rt.gguf"
    write_gguf(path, "llama", md, tensors)
    g = open_gguf(path)
    assert g.architecture == "llama"
    for k, v in md.items():
        assert g.metadata[k] == v
    assert g.shape("d.weight") == (3, 64) and g.type_name("d.weight") == "Q8_0"
    np.testing.assert_array_equal(g.load("a.weight", client).numpy(), f32)
    np.testing.assert_array_equal(np.asarray(g.load("b.weight", client).numpy(), np.float32),
                                  f32.astype(np.float16).astype(np.float32))  # fmt: skip
    np.testing.assert_array_equal(np.asarray(g.load("c.weight", client).numpy(), np.float32),
                                  f32.astype(ml_dtypes.bfloat16).astype(np.float32))  # fmt: skip
    qt = g.load("d.weight", client)
    assert isinstance(qt, QuantTensor) and qt.format.name == "Q8_0"
    np.testing.assert_array_equal(qt.raw(), q8.reshape(-1))
    deq = g.load("d.weight", client, dequantize=True)
    np.testing.assert_allclose(deq.numpy(), qt.dequantize().numpy(), rtol=0, atol=0)


def test_write_rejects_wrong_byte_count(tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError, match="bytes given"):
        write_gguf(tmp_path / "x.gguf", "llama", {}, [GGUFTensor("w", "F32", (4,), data=np.zeros(3, np.float32))])


def test_model_with_missing_weights(tmp_path):  # type: ignore[no-untyped-def]
    from boostr.models import load_model
    from boostr.testing.synthetic import PRESETS, metadata

    path = tmp_path / "empty.gguf"
    write_gguf(path, "llama", metadata(PRESETS["tiny"]), [])
    with pytest.raises(FormatError, match="lack"):
        load_model(path, backend="cpu", progress=False)

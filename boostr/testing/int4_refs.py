"""float64 references and checkpoint packers of the 4-bit formats (NF4, AWQ, GPTQ), for clarity.

Packers follow the quantizers' own code (bitsandbytes kQuantizeBlockwise nibble order, AutoAWQ
``WQLinear_GEMM.from_linear`` with ``order_map``, AutoGPTQ ``QuantLinear.pack`` with ``zeros -= 1``);
the references unpack with explicit loops and the inverse maps (``AWQ_REVERSE_ORDER``), written
independently of the packers and of the kernels.
"""

from __future__ import annotations

import numpy as np

NF4_TABLE = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0,
]  # fmt: skip
AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]


# ------------------------------------------------------------------ packers (codes -> checkpoint)
def pack_nf4(codes: np.ndarray) -> np.ndarray:
    """codes [N, K] in 0..15 -> bitsandbytes packed u8 [ceil(N*K/2)] (first weight in the high nibble)."""
    flat = codes.reshape(-1).astype(np.uint8)
    if flat.size % 2:
        flat = np.concatenate([flat, np.zeros(1, np.uint8)])
    return ((flat[0::2] << 4) | flat[1::2]).astype(np.uint8)


def pack_awq(q: np.ndarray) -> np.ndarray:
    """codes [R, N] (R = K for qweight, G for qzeros) -> int32 [R, ceil(N/8)] in AutoAWQ's order."""
    order_map = [0, 2, 4, 6, 1, 3, 5, 7]
    r, n = q.shape
    pad = np.zeros((r, -(-n // 8) * 8), np.uint32)
    pad[:, :n] = q
    out = np.zeros((r, pad.shape[1] // 8), np.uint32)
    for col in range(out.shape[1]):
        for i in range(8):
            out[:, col] |= pad[:, col * 8 + order_map[i]] << np.uint32(4 * i)
    return out.view(np.int32)


def pack_gptq_qweight(q: np.ndarray) -> np.ndarray:
    """codes [K, N] -> int32 [K/8, N]: word [r, n] holds k = 8r + j in bits 4j."""
    k, n = q.shape
    out = np.zeros((k // 8, n), np.uint32)
    for j in range(8):
        out |= q[j::8].astype(np.uint32) << np.uint32(4 * j)
    return out.view(np.int32)


def pack_gptq_qzeros(stored: np.ndarray) -> np.ndarray:
    """stored zeros [G, N] in 0..15 (v1: zero - 1) -> int32 [G, ceil(N/8)]: column n in bits 4 (n % 8)."""
    g, n = stored.shape
    pad = np.zeros((g, -(-n // 8) * 8), np.uint32)
    pad[:, :n] = stored
    out = np.zeros((g, pad.shape[1] // 8), np.uint32)
    for j in range(8):
        out |= pad[:, j::8] << np.uint32(4 * j)
    return out.view(np.int32)


# ------------------------------------------------------------------ references (checkpoint -> W f64)
def _nib(word: int, pos: int) -> int:
    return (int(word) >> (4 * pos)) & 15


def ref_nf4(packed: np.ndarray, absmax: np.ndarray, n: int, k: int, blocksize: int) -> np.ndarray:
    """W [N, K] = NF4_TABLE[nibble] * absmax[block] (the f32 product bitsandbytes computes, in f64)."""
    w = np.zeros(n * k)
    table = np.array(NF4_TABLE, np.float32)
    for i in range(n * k):
        byte = int(packed[i // 2])
        code = byte >> 4 if i % 2 == 0 else byte & 15
        w[i] = np.float32(table[code] * np.float32(absmax[i // blocksize]))
    return w.reshape(n, k)


def ref_awq(qweight: np.ndarray, qzeros: np.ndarray, scales: np.ndarray, group_size: int) -> np.ndarray:
    """W [N, K]: (q[k, n] - z[g, n]) * s[g, n], g = k // group_size, nibble AWQ_REVERSE_ORDER[n % 8]."""
    k = qweight.shape[0]
    n = scales.shape[1]
    gs = k if group_size == -1 else group_size
    w = np.zeros((n, k))
    for kk in range(k):
        g = kk // gs
        for nn in range(n):
            pos = AWQ_REVERSE_ORDER[nn % 8]
            q = _nib(qweight[kk, nn // 8], pos)
            z = _nib(qzeros[g, nn // 8], pos)
            w[nn, kk] = (q - z) * float(scales[g, nn])
    return w


def ref_gptq(qweight: np.ndarray, qzeros: np.ndarray, scales: np.ndarray, group_size: int,
             g_idx: np.ndarray | None = None, zero_offset: int = 1) -> np.ndarray:  # fmt: skip
    """W [N, K]: (q[k, n] - (z'[g, n] + zero_offset)) * s[g, n], g = g_idx[k] or k // group_size."""
    k = 8 * qweight.shape[0]
    n = qweight.shape[1]
    gs = k if group_size == -1 else group_size
    w = np.zeros((n, k))
    for kk in range(k):
        g = int(g_idx[kk]) if g_idx is not None else kk // gs
        for nn in range(n):
            q = _nib(qweight[kk // 8, nn], kk % 8)
            z = _nib(qzeros[g, nn // 8], nn % 8) + zero_offset
            w[nn, kk] = (q - z) * float(scales[g, nn])
    return w


__all__ = [
    "NF4_TABLE", "pack_awq", "pack_gptq_qweight", "pack_gptq_qzeros", "pack_nf4", "ref_awq", "ref_gptq", "ref_nf4",
]  # fmt: skip

"""Constructors of Int4QuantTensor from checkpoint arrays (validated on the host, then uploaded).

Arrays may be numpy arrays, anything ``np.asarray`` takes (CPU torch tensors) or boostr Tensors
(downloaded). Every check happens before any upload, so bad input raises InvalidArgument or
FormatError naming the argument and kernels never see out-of-range indices. Layouts: the module
doc of ``boostr/quant/int4.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError, InvalidArgument
from ..tensor import Tensor
from .int4 import NF4_BLOCKSIZES, Int4QuantTensor
from .quant_tensor import _client_of, upload_bytes


def _host(arg: str, a: Any) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.numpy()
    try:
        arr = np.asarray(a)
    except Exception as exc:  # e.g. a CUDA torch tensor
        raise InvalidArgument(arg, f"expected a host array, received {type(a).__name__} ({exc})") from exc
    return np.ascontiguousarray(arr)


def _int32(arg: str, a: Any, ndim: int) -> np.ndarray:
    arr = _host(arg, a)
    if arr.dtype not in (np.int32, np.uint32) or arr.ndim != ndim:
        raise InvalidArgument(arg, f"expected a {ndim}-d int32 array, received {arr.ndim}-d {arr.dtype}")
    return arr.view(np.int32)


def _f16(arg: str, a: Any) -> np.ndarray:
    arr = _host(arg, a)
    if arr.dtype != np.float16 or arr.ndim != 2:
        raise InvalidArgument(arg, f"expected a 2-d float16 array [groups, N], received {arr.ndim}-d {arr.dtype}")
    return arr


def _group(group_size: Any, k: int) -> int:
    if not isinstance(group_size, (int, np.integer)) or isinstance(group_size, bool):
        raise InvalidArgument("group_size", f"expected an int, received {type(group_size).__name__}")
    gs = k if int(group_size) == -1 else int(group_size)
    if gs <= 0 or gs % 8 or k % gs:
        raise InvalidArgument(
            "group_size", f"expected -1 or a positive multiple of 8 dividing K={k}, received {group_size}"
        )
    return gs


def _check_k(k: int, arg: str) -> None:
    if k <= 0 or k % 8:
        raise InvalidArgument(arg, f"expected K (in_features) a positive multiple of 8, received K={k}")


def _upload(client: Any, *arrays: np.ndarray | None) -> list[Tensor | None]:
    return [None if a is None else upload_bytes(client, a.reshape(-1).view(np.uint8)) for a in arrays]


def from_nf4(packed: Any, absmax: Any, shape: Any, blocksize: int = 64, backend: Any = None) -> Int4QuantTensor:
    """NF4 weights from bitsandbytes: ``packed`` u8 (``Params4bit`` data, any shape, ceil(N*K/2)
    bytes), ``absmax`` f32 [ceil(N*K/blocksize)] (``quant_state.absmax``), ``shape`` = (N, K)
    (``quant_state.shape``), ``blocksize`` (``quant_state.blocksize``).

    Double-quantized absmax (``compress_statistics=True``: u8 absmax with ``state2``) is refused:
    dequantize it first (``bitsandbytes.functional.dequantize_blockwise(qs.absmax, qs.state2) +
    qs.offset``) and pass the f32 result.
    """
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or any(not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0 for v in shape)
    ):
        raise InvalidArgument("shape", f"expected (N, K) positive ints, received {shape!r}")
    n, k = int(shape[0]), int(shape[1])
    _check_k(k, "shape")
    if blocksize not in NF4_BLOCKSIZES:
        raise InvalidArgument("blocksize", f"expected one of {NF4_BLOCKSIZES}, received {blocksize!r}")
    q = _host("packed", packed)
    if q.dtype not in (np.uint8, np.int8):
        raise InvalidArgument("packed", f"expected uint8 packed nibbles, received {q.dtype}")
    if q.size != (n * k + 1) // 2:
        raise FormatError(f"NF4 packed data of shape {(n, k)} needs {(n * k + 1) // 2} bytes, received {q.size}")
    a = _host("absmax", absmax)
    if a.dtype == np.uint8:
        raise FormatError(
            "double-quantized NF4 absmax (compress_statistics=True) is not supported: pass the f32 absmax "
            "(bitsandbytes.functional.dequantize_blockwise(quant_state.absmax, quant_state.state2) + offset)"
        )
    if a.dtype != np.float32:
        raise InvalidArgument("absmax", f"expected float32 absmax, received {a.dtype}")
    nblk = -(-(n * k) // blocksize)
    if a.size != nblk:
        raise FormatError(
            f"NF4 absmax of shape {(n, k)} with blocksize {blocksize} needs {nblk} values, received {a.size}"
        )
    client = _client_of(backend)
    data, sc = _upload(client, q.view(np.uint8), a)
    assert data is not None and sc is not None
    return Int4QuantTensor("NF4", (n, k), data, sc, blocksize)


def _zeros_scales(qzeros: Any, scales: Any, groups: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    s = _f16("scales", scales)
    if s.shape != (groups, n):
        raise InvalidArgument("scales", f"expected shape {(groups, n)} [K / group_size, N], received {s.shape}")
    z = _int32("qzeros", qzeros, 2)
    nw = -(-n // 8)
    if z.shape != (groups, nw):
        raise InvalidArgument(
            "qzeros", f"expected shape {(groups, nw)} [K / group_size, ceil(N / 8)], received {z.shape}"
        )
    return z, s


def from_awq(qweight: Any, qzeros: Any, scales: Any, group_size: int, backend: Any = None) -> Int4QuantTensor:
    """AWQ (AutoAWQ GEMM) weights: ``qweight`` int32 [K, ceil(N/8)], ``qzeros`` int32
    [K/gs, ceil(N/8)], ``scales`` f16 [K/gs, N] (N is read from scales); ``group_size`` -1 = one group."""
    qw = _int32("qweight", qweight, 2)
    s0 = _f16("scales", scales)
    k, n = qw.shape[0], s0.shape[1]
    _check_k(k, "qweight")
    if n <= 0 or qw.shape[1] != -(-n // 8):
        raise InvalidArgument("qweight", f"expected shape [K, ceil(N/8)] with N={n} from scales, received {qw.shape}")
    gs = _group(group_size, k)
    z, s = _zeros_scales(qzeros, s0, k // gs, n)
    client = _client_of(backend)
    data, sc, zz = _upload(client, qw, s, z)
    assert data is not None and sc is not None
    return Int4QuantTensor("AWQ", (n, k), data, sc, gs, zz)


def from_gptq(
    qweight: Any,
    qzeros: Any,
    scales: Any,
    group_size: int,
    g_idx: Any = None,
    backend: Any = None,
    checkpoint_format: str = "gptq",
) -> Int4QuantTensor:
    """GPTQ (AutoGPTQ / exllama) weights: ``qweight`` int32 [K/8, N], ``qzeros`` int32
    [G, ceil(N/8)], ``scales`` f16 [G, N] (N is read from scales), ``g_idx`` int [K] with values
    in [0, G) (act-order) or None; G = K / group_size (-1: one group). ``checkpoint_format``
    "gptq" (v1: stored zeros are zero - 1) or "gptq_v2" (stored as they are). A g_idx equal to
    k // group_size is dropped (the plain kernels run)."""
    if checkpoint_format not in ("gptq", "gptq_v2"):
        raise InvalidArgument("checkpoint_format", f"expected 'gptq' or 'gptq_v2', received {checkpoint_format!r}")
    qw = _int32("qweight", qweight, 2)
    s0 = _f16("scales", scales)
    k, n = 8 * qw.shape[0], s0.shape[1]
    _check_k(k, "qweight")
    if n <= 0 or qw.shape[1] != n:
        raise InvalidArgument("qweight", f"expected shape [K/8, N] with N={n} from scales, received {qw.shape}")
    gs = _group(group_size, k)
    groups = k // gs
    z, s = _zeros_scales(qzeros, s0, groups, n)
    gi = None
    if g_idx is not None:
        g = _host("g_idx", g_idx)
        if g.dtype.kind not in "iu" or g.shape != (k,):
            raise InvalidArgument("g_idx", f"expected an int array of shape ({k},), received {g.dtype} {g.shape}")
        if g.size and (int(g.min()) < 0 or int(g.max()) >= groups):
            raise InvalidArgument("g_idx", f"expected group indices in [0, {groups}), received [{g.min()}, {g.max()}]")
        if not np.array_equal(g, np.arange(k) // gs):
            gi = g.astype(np.int32)
    client = _client_of(backend)
    data, sc, zz, gg = _upload(client, qw, s, z, gi)
    assert data is not None and sc is not None
    return Int4QuantTensor("GPTQ", (n, k), data, sc, gs, zz, gg, 1 if checkpoint_format == "gptq" else 0)


__all__ = ["from_awq", "from_gptq", "from_nf4"]

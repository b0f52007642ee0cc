"""NF4 (bitsandbytes) and INT4 group-quantized weights (AWQ, GPTQ) as QuantTensors.

Every format holds a logical weight ``W [N, K]`` (N = out_features, K = in_features, the
``x @ W^T`` convention of ``quant_matmul``) in the checkpoint's own packing, uploaded as it is:

NF4 (bitsandbytes ``quantize_4bit(quant_type="nf4")``, ``Params4bit``): W flattened row-major
(``i = n * K + k``) in blocks of ``blocksize`` weights.
  data   u8  [ceil(N*K / 2)]: weight 2j is the HIGH nibble of byte j, weight 2j+1 the low one;
  scales f32 [ceil(N*K / blocksize)] (absmax; double-quantized absmax is refused);
  ``W[i] = NF4_CODE[nibble(i)] * absmax[i // blocksize]``.
AWQ (AutoAWQ ``WQLinear_GEMM``), G = K / group_size groups along K:
  data   int32 [K, ceil(N/8)] (qweight): q[k, n] is bits ``4 * AWQ_SHIFT[n % 8]`` of word
         [k, n // 8] (packing order [0, 2, 4, 6, 1, 3, 5, 7]: nibble i holds column order[i]);
  zeros  int32 [G, ceil(N/8)] (qzeros), packed like qweight;  scales f16 [G, N];
  ``W[n, k] = (q[k, n] - z[k // gs, n]) * s[k // gs, n]``.
GPTQ (AutoGPTQ / exllama, act-order included):
  data   int32 [K / 8, N] (qweight): q[k, n] is bits ``4 * (k % 8)`` of word [k // 8, n];
  zeros  int32 [G, ceil(N/8)] (qzeros): z'[g, n] is bits ``4 * (n % 8)`` of word [g, n // 8];
  scales f16 [G, N];  g_idx int32 [K] or None (then g(k) = k // group_size);
  z = z' + zero_offset: 1 for AutoGPTQ (v1) checkpoints, which store zero - 1; 0 for "gptq_v2";
  ``W[n, k] = (q[k, n] - z[g(k), n]) * s[g(k), n]``.

Device layout: every buffer is a byte stream in the QuantTensor layout (u8, or u32 words where
u8 is not a storage dtype: byte i is bits 8 * (i % 4) of word i // 4, the end zero-padded), the
values little endian as in the checkpoint. K is a multiple of 8 and group sizes are multiples of
8 (or -1: one group), so every 8-weight chunk along K has one scale and zero (kernels decode
8 weights at a time). Constructors: ``boostr.quant.int4_load`` (``QuantTensor.from_nf4`` /
``from_awq`` / ``from_gptq``).
References: bitsandbytes csrc/kernels.cu (kDequantizeBlockwise, nf4 table), AutoAWQ
awq/modules/linear/gemm.py + awq/utils/packing_utils.py, AutoGPTQ qlinear_cuda_old.py (pack:
``zeros -= 1``; forward: ``zeros + 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FormatError, InvalidArgument
from ..tensor import Tensor
from .quant_tensor import QuantTensor, _client_of, byte_dtype, byte_elems, upload_bytes

NF4_CODE = np.array(
    [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
     -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
     0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
     0.7229568362236023, 1.0],
    dtype=np.float32,
)  # fmt: skip
"""The 16 NF4 levels (bitsandbytes ``create_normal_map()``; exactly f32 values)."""
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)
"""AutoAWQ packing: nibble i of a word holds column ``8 * (n // 8) + AWQ_ORDER[i]``."""
AWQ_SHIFT = (0, 4, 1, 5, 2, 6, 3, 7)
"""The inverse (AutoAWQ's AWQ_REVERSE_ORDER): column n sits in nibble ``AWQ_SHIFT[n % 8]``."""
NF4_BLOCKSIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096)


@dataclass(frozen=True)
class Int4Format:
    """One 4-bit weight format (``NF4``, ``AWQ`` or ``GPTQ``); compares equal to its name."""

    name: str
    family: str

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Int4Format):
            return self.name == other.name
        if isinstance(other, str):
            return other.upper() == self.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name


INT4_FORMATS: dict[str, Int4Format] = {
    "NF4": Int4Format("NF4", "blockwise"),
    "AWQ": Int4Format("AWQ", "group"),
    "GPTQ": Int4Format("GPTQ", "group"),
}


def buffer_bytes(fmt: str, n: int, k: int, group_size: int, act_order: bool) -> dict[str, int]:
    """Bytes of each device buffer (``data``, ``scales``, ``zeros``, ``g_idx``) of a ``[n, k]`` weight."""
    if fmt == "NF4":
        return {"data": (n * k + 1) // 2, "scales": 4 * -(-(n * k) // group_size), "zeros": 0, "g_idx": 0}
    groups, nw = k // group_size, -(-n // 8)
    data = 4 * k * nw if fmt == "AWQ" else 4 * (k // 8) * n
    return {"data": data, "scales": 2 * groups * n, "zeros": 4 * groups * nw, "g_idx": 4 * k if act_order else 0}


class Int4QuantTensor(QuantTensor):
    """4-bit weights ``[N, K]`` (NF4, AWQ or GPTQ) on one device; see the module doc for layouts.

    Works wherever a 2-d QuantTensor does: ``client.quant_matmul(x [..., M, K], w)`` ->
    ``[..., M, N]``, ``w.dequantize(dtype)`` -> ``[N, K]``, ``w.to(backend)``.
    """

    __slots__ = ("g_idx", "group_size", "scales", "zero_offset", "zeros")

    def __init__(
        self,
        fmt: Int4Format | str,
        shape: tuple[int, int],
        data: Tensor,
        scales: Tensor,
        group_size: int,
        zeros: Tensor | None = None,
        g_idx: Tensor | None = None,
        zero_offset: int = 0,
    ) -> None:
        name = str(fmt).upper()
        if name not in INT4_FORMATS:
            raise FormatError(f"unknown 4-bit format {fmt!r}; known: {', '.join(INT4_FORMATS)}")
        self.format = INT4_FORMATS[name]  # type: ignore[assignment]
        n, k = (int(v) for v in shape)
        self.shape = (n, k)
        self.group_size = int(group_size)
        self.zero_offset = int(zero_offset)
        want = buffer_bytes(name, n, k, self.group_size, g_idx is not None)
        client = data.client if isinstance(data, Tensor) else None
        for arg, t in (("data", data), ("scales", scales), ("zeros", zeros), ("g_idx", g_idx)):
            if want[arg] == 0:
                if t is not None and arg != "scales":
                    raise InvalidArgument(arg, f"{name} has no {arg} buffer, received one")
                continue
            if not isinstance(t, Tensor) or t.ndim != 1 or not t.is_contiguous() or t.client is not client:
                raise InvalidArgument(arg, f"expected a contiguous 1-d byte Tensor on data's client, received {t!r}")
            if t.dtype is not byte_dtype(client) or t.numel != byte_elems(client, want[arg]):
                raise FormatError(
                    f"{name} {arg} of a {self.shape} weight needs {want[arg]} bytes as "
                    f"{byte_dtype(client)}, received {t.numel} {t.dtype}"
                )
            if t.offset * t.dtype.itemsize % 4:
                raise InvalidArgument(arg, "expected a buffer starting on a 4-byte boundary")
        self.data, self.scales, self.zeros, self.g_idx = data, scales, zeros, g_idx

    # ------------------------------------------------------------- metadata
    @property
    def act_order(self) -> bool:
        return self.g_idx is not None

    @property
    def groups(self) -> int:
        """Scale groups (NF4: absmax blocks)."""
        return -(-self.numel // self.group_size) if self.format == "NF4" else self.shape[1] // self.group_size

    def buffers(self) -> dict[str, Tensor]:
        """The device byte streams by name (absent ones left out)."""
        got = {"data": self.data, "scales": self.scales, "zeros": self.zeros, "g_idx": self.g_idx}
        return {k: v for k, v in got.items() if v is not None}

    @property
    def nbytes(self) -> int:
        """Bytes of all buffers on the device (without word padding)."""
        return sum(self._sizes().values())

    def _sizes(self) -> dict[str, int]:
        return buffer_bytes(self.format.name, self.shape[0], self.shape[1], self.group_size, self.act_order)

    @property
    def bits_per_weight(self) -> float:
        return self.nbytes * 8 / max(1, self.numel)

    # ------------------------------------------------------------------ ops
    def to(self, backend: Any) -> Int4QuantTensor:
        """The same buffers on another backend (bytes copied as they are)."""
        client = _client_of(backend)
        if client is self.client:
            return self
        sizes = self._sizes()
        moved = {k: upload_bytes(client, _bytes_of(t, sizes[k])) for k, t in self.buffers().items()}
        n, k = self.shape
        return Int4QuantTensor(self.format.name, (n, k), moved["data"], moved["scales"], self.group_size,
                               moved.get("zeros"), moved.get("g_idx"), self.zero_offset)  # fmt: skip

    def raw(self) -> np.ndarray:
        """The packed weight bytes (``data``) as a host uint8 array (a download)."""
        return _bytes_of(self.data, self._sizes()["data"])

    def host_arrays(self) -> dict[str, np.ndarray]:
        """The checkpoint arrays (downloads): NF4 ``packed`` u8, ``absmax`` f32; AWQ / GPTQ ``qweight``,
        ``qzeros`` int32, ``scales`` f16 and, with act-order, ``g_idx`` int32 (shapes of the module doc)."""
        n, k = self.shape
        sizes = self._sizes()
        b = {name: _bytes_of(t, sizes[name]) for name, t in self.buffers().items()}
        if self.format == "NF4":
            return {"packed": b["data"], "absmax": b["scales"].view(np.float32)}
        nw, g = -(-n // 8), k // self.group_size
        qshape = (k, nw) if self.format == "AWQ" else (k // 8, n)
        out: dict[str, np.ndarray] = {
            "qweight": b["data"].view(np.int32).reshape(qshape),
            "qzeros": b["zeros"].view(np.int32).reshape(g, nw),
            "scales": b["scales"].view(np.float16).reshape(g, n),
        }
        if "g_idx" in b:
            out["g_idx"] = b["g_idx"].view(np.int32)
        return out

    def __repr__(self) -> str:
        extra = f"blocksize={self.group_size}" if self.format == "NF4" else f"group_size={self.group_size}"
        if self.act_order:
            extra += ", act_order"
        return (
            f"QuantTensor({self.format.name}, shape={self.shape}, {extra}, {self.bits_per_weight:.4g} bpw, "
            f"{self.nbytes} bytes, device={self.device})"
        )


def _bytes_of(t: Tensor, nbytes: int) -> np.ndarray:
    return np.ascontiguousarray(t.numpy().reshape(-1).view(np.uint8)[:nbytes])


__all__ = ["AWQ_ORDER", "AWQ_SHIFT", "INT4_FORMATS", "NF4_CODE", "Int4Format", "Int4QuantTensor", "buffer_bytes"]

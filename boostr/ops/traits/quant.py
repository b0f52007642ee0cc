"""Quantized ops on GGML block formats: dequantize, quant_matmul, quantize, quant_swiglu.

Backends implement three hooks (the default bodies here refuse with UnsupportedDType,
naming the format, until a backend has a kernel for it):

- ``_quant_dequantize(raw, fmt, out)``: raw u8 block bytes -> ``out`` f32 ``[rows, K]``;
- ``_quant_matmul(x, raw, fmt, n, k, out)``: ``out [R, N] = x [R, K] @ W^T`` for x f32
  contiguous and W the ``[N, K]`` blocks in ``raw``, never materializing W in float;
- ``_quant_quantize(x, fmt, out)``: f32 contiguous ``x [R, K]`` -> ``out`` u8 blocks.

``raw`` / ``out`` block bytes are u8, or u32 words on backends without u8 storage (layout in
``boostr/quant/quant_tensor.py``). ``quant_caps`` says which formats a backend's hooks take per
op; ``_quant_dequantize`` may write ``out`` in any dtype of ``quant_dequant_dtypes``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ... import dtype as _dt
from ...errors import InvalidArgument, UnsupportedDType
from ...quant.formats import QuantFormat, get_format
from ...quant.int4 import Int4QuantTensor
from ...quant.quant_tensor import QuantTensor, byte_dtype, byte_elems, expected_bytes
from ...tensor import Tensor
from .quant_int4 import Int4QuantOps


def _refuse(op: str, fmt: QuantFormat, backend: str) -> UnsupportedDType:
    return UnsupportedDType(op, fmt.name, backend, hint=f"no {fmt.name} kernel on this backend yet")


class QuantOps(Int4QuantOps):
    """dequantize / quant_matmul / quantize / quant_swiglu over QuantTensor weights (4-bit NF4 /
    AWQ / GPTQ ``Int4QuantTensor`` ones go to ``Int4QuantOps``)."""

    quant_caps: ClassVar[dict[str, frozenset[str]]] = {}
    """Format names the backend's hooks implement, by op (``dequantize``, ``quant_matmul``,
    ``quantize``); empty by default. Backends with kernels override it."""
    quant_dequant_dtypes: frozenset[_dt.DType] = frozenset({_dt.f32})
    """Output dtypes ``_quant_dequantize`` writes directly (others are cast from f32)."""

    def quant_formats(self, op: str = "dequantize") -> frozenset[str]:
        """Names of the formats this backend runs ``op`` for with its own kernels."""
        if op not in ("dequantize", "quant_matmul", "quantize"):
            raise InvalidArgument("op", f"expected dequantize, quant_matmul or quantize, received {op!r}")
        return frozenset(self.quant_caps.get(op, ()))

    def _check_quant(self, arg: str, qt: Any) -> QuantTensor:
        if not isinstance(qt, QuantTensor):
            raise InvalidArgument(arg, f"expected a boostr.quant.QuantTensor, received {type(qt).__name__}")
        if qt.client is not self:
            raise InvalidArgument(arg, f"expected a QuantTensor on {self.device_name}, received one on {qt.device}")
        return qt

    def dequantize(self, qt: QuantTensor, dtype: Any = _dt.f32) -> Tensor:
        """Dequantize to a float Tensor of ``qt.shape``.

        Layout: ``qt [..., K]`` (blocks along K) -> ``[..., K]`` in ``dtype`` (f32 is bit-exact
        with gguf-py; other float dtypes are rounded from f32).
        """
        qt = self._check_quant("qt", qt)
        dt = _dt.dtype(dtype)
        if not dt.is_float:
            raise InvalidArgument("dtype", f"expected a float dtype, received {dt}")
        if isinstance(qt, Int4QuantTensor):
            return self._int4_dequant_op(qt, dt)
        out = self._new((qt.rows, qt.shape[-1]), dt if dt in self.quant_dequant_dtypes else _dt.f32)
        if out.numel:
            self._quant_dequantize(qt.data, qt.format, out)
        res = out.reshape(*qt.shape)
        return res if res.dtype is dt else self.cast(res, dt)

    def quant_matmul(self, x: Tensor, w: QuantTensor) -> Tensor:
        """``x @ W^T`` with quantized ``W``.

        Layout: ``x [..., M, K]`` (f32, f16 or bf16), ``w [N, K]`` -> ``[..., M, N]`` in x's
        dtype, accumulated in f32; W is decoded block by block, never held in float.
        """
        self._check_tensor("x", x)
        w = self._check_quant("w", w)
        if w.ndim != 2:
            raise InvalidArgument("w", f"expected a 2-d [N, K] QuantTensor, received shape {w.shape}")
        if isinstance(w, Int4QuantTensor):
            return self._int4_matmul_op(x, w)
        if not x.dtype.is_float or x.dtype.is_fp8 or x.dtype is _dt.f64:
            raise InvalidArgument("x", f"expected f32, f16 or bf16 activations, received {x.dtype}")
        n, k = w.shape
        if x.ndim == 0 or x.shape[-1] != k:
            raise InvalidArgument("x", f"expected [..., M, K={k}] to match w {w.shape}, received {x.shape}")
        rows = x.numel // k if k else 0
        x2 = self.cast(x, _dt.f32).reshape(rows, k).contiguous()
        out = self._new((rows, n), _dt.f32)
        if out.numel:
            self._quant_matmul(x2, w.data, w.format, n, k, out)
        res = out.reshape(*x.shape[:-1], n)
        return res if x.dtype is _dt.f32 else self.cast(res, x.dtype)

    def quantize(self, x: Tensor, format: Any) -> QuantTensor:
        """Quantize a float tensor ``x [..., K]`` (K a multiple of the block) into ``format`` blocks."""
        self._check_tensor("x", x)
        fmt = get_format(format)
        if not x.dtype.is_float or x.ndim == 0:
            raise InvalidArgument("x", f"expected a float tensor [..., K], received {x.dtype} of shape {x.shape}")
        nbytes = expected_bytes(fmt, x.shape)
        k = x.shape[-1]
        x2 = self.cast(x, _dt.f32).reshape(x.numel // k, k).contiguous()
        out = self._new((byte_elems(self, nbytes),), byte_dtype(self))
        if nbytes:
            self._quant_quantize(x2, fmt, out)
        return QuantTensor(out, fmt, x.shape)

    def quant_swiglu(self, x: Tensor, w_gate: QuantTensor, w_up: QuantTensor) -> Tensor:
        """``silu(x @ gate^T) * (x @ up^T)``: the gated FFN input of LLaMA-style models.

        Layout: ``x [..., M, K]``, ``w_gate``, ``w_up`` ``[F, K]`` -> ``[..., M, F]``.
        """
        gate = self._check_quant("w_gate", w_gate)
        up = self._check_quant("w_up", w_up)
        if gate.shape != up.shape:
            raise InvalidArgument("w_up", f"expected the shape of w_gate {gate.shape}, received {up.shape}")
        return self.mul(self.silu(self.quant_matmul(x, gate)), self.quant_matmul(x, up))

    def quant_embedding(self, qt: QuantTensor, ids: Any, dtype: Any = _dt.f32) -> Tensor:
        """Embedding lookup in a quantized table: only the selected rows' blocks are decoded.

        Layout: ``qt [V, D]`` (blocks along D), ``ids [...]`` ints -> ``[..., D]`` in ``dtype``.
        The rows' block bytes are picked with ``index_select`` on ``qt.data`` viewed ``[V, row
        bytes]`` and dequantized. On u32-word storage a row that is not a whole number of words is
        read as part of a group of g = 2 or 4 rows (a whole number of words), which is decoded and
        the wanted row gathered from it. Ids out of range: as in ``index_select``.
        """
        qt = self._check_quant("qt", qt)
        if isinstance(qt, Int4QuantTensor):
            raise UnsupportedDType("quant_embedding", qt.format.name, self.device_name, hint="4-bit tables: dequantize")
        if qt.ndim != 2:
            raise InvalidArgument("qt", f"expected a [V, D] quantized table, received shape {qt.shape}")
        idx = self._index_tensor("ids", ids)
        flat = idx.reshape(-1) if idx.numel else idx.reshape(0)
        n = flat.shape[0]
        v, d = qt.shape
        rb = qt.format.row_bytes(d)
        words = byte_dtype(self) is not _dt.u8
        g = 1 if not words or rb % 4 == 0 else 2 if rb % 2 == 0 else 4
        if g == 1:
            sel = self.index_select(qt.data.narrow(0, 0, v * (rb // 4 if words else rb)).reshape(v, -1), 0, flat)
            out = self.dequantize(QuantTensor(sel.reshape(-1), qt.format, (n, d)), dtype)
        else:
            wpg = g * rb // 4
            grp = self.cast(self.floor(self.div(flat, g)), flat.dtype)
            sub = self.sub(flat, self.mul(grp, g))
            cols = self.arange(wpg, dtype=flat.dtype).reshape(1, wpg)
            wid = self.minimum(self.add(self.mul(grp, wpg).reshape(n, 1), cols), qt.data.numel - 1)
            sel = self.gather(qt.data, 0, wid.reshape(-1))
            rows = self.dequantize(QuantTensor(sel, qt.format, (n * g, d)), dtype).reshape(n, g, d)
            out = self.gather(rows, 1, self.contiguous(sub.reshape(n, 1, 1).expand(n, 1, d)))
        return out.reshape(*idx.shape, d)

    # ---- backend hooks (refuse until a backend implements them)
    def _quant_dequantize(self, raw: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        raise _refuse("dequantize", fmt, self.device_name)

    def _quant_matmul(self, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
        raise _refuse("quant_matmul", fmt, self.device_name)

    def _quant_quantize(self, x: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        raise _refuse("quantize", fmt, self.device_name)

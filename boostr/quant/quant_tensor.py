"""QuantTensor: GGML block-quantized weights resident on a backend device.

Layout: logical shape ``[..., K]``; the rows (all leading dims, row-major) are stored one
after another, each as ``K / block_elems`` blocks of ``block_bytes`` bytes (exactly the
GGUF tensor data). ``data`` is a flat Tensor of the client holding that byte stream:
u8 (one element per byte) on backends that store u8, else u32 words (WebGPU): byte ``i`` is
bits ``8 * (i % 4)`` of word ``i // 4`` (little endian), the END of the stream zero-padded to a
whole word. Blocks are not realigned; kernels address bytes by offset (``quant/bytes.wgsl``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import FormatError, InvalidArgument
from ..tensor import Tensor
from .formats import QuantFormat, get_format


def _client_of(backend: Any) -> Any:
    from ..runtime.registry import get_client

    if backend is None or isinstance(backend, str):
        return get_client(backend)
    if hasattr(backend, "_k_upload") and hasattr(backend, "kind"):
        return backend
    raise InvalidArgument("backend", f"expected a backend name or client, received {type(backend).__name__}")


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, Sequence) or not shape:
        raise InvalidArgument("shape", f"expected a non-empty sequence of ints [..., K], received {shape!r}")
    out = []
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise InvalidArgument("shape", f"expected non-negative ints, received {tuple(shape)!r}")
        out.append(int(n))
    return tuple(out)


def _host_bytes(blocks: Any) -> np.ndarray:
    """A flat uint8 view of ``blocks`` without copying when it is contiguous (a memmap stays a view)."""
    if isinstance(blocks, np.ndarray):
        if blocks.dtype not in (np.uint8, np.int8):
            raise InvalidArgument("blocks", f"expected uint8 block bytes, received a {blocks.dtype} array")
        arr = blocks if blocks.flags.c_contiguous else np.ascontiguousarray(blocks)
        return arr.reshape(-1).view(np.uint8)
    if isinstance(blocks, (bytes, bytearray, memoryview)):
        mv = memoryview(blocks)
        if not mv.c_contiguous:
            raise InvalidArgument("blocks", "expected a C-contiguous buffer of block bytes")
        return np.frombuffer(mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv, dtype=np.uint8)
    raise InvalidArgument(
        "blocks", f"expected bytes, memoryview, a uint8 numpy array or a u8 Tensor, received {type(blocks).__name__}"
    )


def byte_dtype(client: Any) -> _dt.DType:
    """The dtype ``data`` has on ``client``: the client's ``quant_byte_dtype`` (u32 words on WebGPU,
    whose quant kernels address words), else u8, or u32 words where u8 is not a storage dtype."""
    forced = getattr(client, "quant_byte_dtype", None)
    if forced is not None:
        return forced  # type: ignore[no-any-return]
    return _dt.u8 if _dt.u8 in client.storage_dtypes else _dt.u32


def byte_elems(client: Any, nbytes: int) -> int:
    """Elements of a ``data`` tensor holding ``nbytes`` bytes on ``client``."""
    return nbytes if byte_dtype(client) is _dt.u8 else (nbytes + 3) // 4


def upload_bytes(client: Any, host: np.ndarray) -> Tensor:
    """Flat uint8 ``host`` as a ``data`` tensor of ``client`` (words zero-padded at the end)."""
    if byte_dtype(client) is _dt.u8:
        return client.from_numpy(host, _dt.u8)
    if host.size % 4:
        host = np.concatenate([host, np.zeros(4 - host.size % 4, np.uint8)])
    return client.from_numpy(host.view(np.uint32), _dt.u32)


def expected_bytes(fmt: QuantFormat, shape: tuple[int, ...]) -> int:
    """Bytes of a ``fmt`` tensor of ``shape``; InvalidArgument unless K is a positive multiple of the block."""
    k = shape[-1]
    if k == 0 or k % fmt.block_elems:
        raise InvalidArgument(
            "shape", f"last dim K={k} must be a positive multiple of {fmt.name}'s block of {fmt.block_elems} weights"
        )
    return math.prod(shape[:-1]) * fmt.row_bytes(k)


class QuantTensor:
    """Block-quantized weights ``[..., K]`` of one GGML format on one device.

    >>> qt = QuantTensor.from_raw(raw_bytes, "Q4_K", (4096, 4096), backend="cpu")
    >>> w = qt.dequantize()          # f32 Tensor [4096, 4096]
    >>> y = qt.client.quant_matmul(x, qt)
    """

    __slots__ = ("data", "format", "shape")

    def __init__(self, data: Tensor, fmt: QuantFormat | str | int, shape: Sequence[int]) -> None:
        self.format = get_format(fmt)
        self.shape = _shape(shape)
        if not isinstance(data, Tensor) or data.ndim != 1 or not data.is_contiguous():
            raise InvalidArgument("data", "expected a contiguous 1-d Tensor of block bytes")
        if data.dtype is not byte_dtype(data.client):
            raise InvalidArgument("data", f"expected {byte_dtype(data.client)} block bytes, received {data.dtype}")
        want = expected_bytes(self.format, self.shape)
        if data.numel != byte_elems(data.client, want):
            raise FormatError(
                f"{self.format.name} tensor of shape {self.shape} needs {want} bytes "
                f"({self.format.block_bytes}-byte blocks of {self.format.block_elems}), received {data.numel}"
            )
        self.data = data

    @classmethod
    def from_raw(cls, blocks: Any, format: Any, shape: Sequence[int], backend: Any = None) -> QuantTensor:
        """Wrap raw GGUF block bytes (bytes, memoryview, uint8 numpy array or memmap, u8 Tensor).

        ``format``: GGML type name (``"Q4_K"``) or type id. Uploads the bytes as they are
        (no float copy); validates the length against ``shape`` before touching the data.
        """
        fmt = get_format(format)
        shp = _shape(shape)
        client = _client_of(backend)
        if isinstance(blocks, Tensor):
            if blocks.dtype is not byte_dtype(blocks.client):
                want_dt = byte_dtype(blocks.client)
                raise InvalidArgument("blocks", f"expected a {want_dt} Tensor of block bytes, received {blocks.dtype}")
            qt = cls(blocks.reshape(-1).contiguous(), fmt, shp)  # validated on its own client
            return qt.to(client)
        host = _host_bytes(blocks)
        want = expected_bytes(fmt, shp)
        if host.size != want:
            raise FormatError(f"{fmt.name} tensor of shape {shp} needs {want} bytes, received {host.size}")
        return cls(upload_bytes(client, host), fmt, shp)

    @classmethod
    def from_nf4(cls, packed: Any, absmax: Any, shape: Any, blocksize: int = 64, backend: Any = None) -> QuantTensor:
        """bitsandbytes NF4 weights ``[N, K]``: see ``boostr.quant.int4_load.from_nf4``."""
        from .int4_load import from_nf4

        return from_nf4(packed, absmax, shape, blocksize, backend)

    @classmethod
    def from_awq(cls, qweight: Any, qzeros: Any, scales: Any, group_size: int, backend: Any = None) -> QuantTensor:
        """AutoAWQ GEMM weights ``[N, K]``: see ``boostr.quant.int4_load.from_awq``."""
        from .int4_load import from_awq

        return from_awq(qweight, qzeros, scales, group_size, backend)

    @classmethod
    def from_gptq(cls, qweight: Any, qzeros: Any, scales: Any, group_size: int, g_idx: Any = None,
                  backend: Any = None, checkpoint_format: str = "gptq") -> QuantTensor:  # fmt: skip
        """AutoGPTQ / exllama weights ``[N, K]`` (act-order ``g_idx``): see ``boostr.quant.int4_load.from_gptq``."""
        from .int4_load import from_gptq

        return from_gptq(qweight, qzeros, scales, group_size, g_idx, backend, checkpoint_format)

    # ------------------------------------------------------------- metadata
    @property
    def client(self) -> Any:
        return self.data.client

    @property
    def device(self) -> str:
        return self.data.device

    @property
    def backend(self) -> str:
        return self.data.backend

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of block data on the device (without the word padding)."""
        return expected_bytes(self.format, self.shape)

    @property
    def bits_per_weight(self) -> float:
        return self.format.bits_per_weight

    @property
    def rows(self) -> int:
        return math.prod(self.shape[:-1])

    # ------------------------------------------------------------------ ops
    def dequantize(self, dtype: Any = _dt.f32) -> Tensor:
        """The weights as a float Tensor of ``shape`` (bit-exact with gguf-py in f32)."""
        return self.client.dequantize(self, dtype)

    def to(self, backend: Any) -> QuantTensor:
        """The same blocks on another backend (bytes copied as they are)."""
        client = _client_of(backend)
        if client is self.client:
            return self
        return QuantTensor(upload_bytes(client, self.raw()), self.format, self.shape)

    def cpu(self) -> QuantTensor:
        return self.to("cpu")

    def raw(self) -> np.ndarray:
        """The block bytes as a host uint8 array (a download)."""
        return self.data.numpy().reshape(-1).view(np.uint8)[: self.nbytes]

    def __repr__(self) -> str:
        return (
            f"QuantTensor({self.format.name}, shape={self.shape}, {self.bits_per_weight:.4g} bpw, "
            f"{self.nbytes} bytes, device={self.device})"
        )

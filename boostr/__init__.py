"""boostr: one Runtime/Client protocol, three backends (CPU, CUDA, WebGPU), LLM primitives.

>>> import boostr
>>> x = boostr.randn(4, 8, backend="cpu")
>>> (x.softmax(-1).sum(-1) - 1).abs().max().item() < 1e-6
True
"""

from __future__ import annotations

from . import dtype as dtypes
from .api import *  # noqa: F403  (module-level factories: zeros, randn, from_numpy, ...)
from .api import __all__ as _api_all
from .config import set_backend, use_backend
from .dtype import (
    DType,
    bf16,
    bfloat16,
    bool_,
    f16,
    f32,
    f64,
    float16,
    float32,
    float64,
    fp8_e4m3,
    fp8_e5m2,
    i8,
    i16,
    i32,
    i64,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    u8,
    u32,
    uint8,
    uint32,
)
from .errors import BackendUnavailable, BoostrError, FormatError, InvalidArgument, KernelCompileError, UnsupportedDType
from .ops.traits import Generator
from .runtime.registry import available_backends, backend_status, get_client
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable", "BoostrError", "DType", "FormatError", "Generator", "InvalidArgument",
    "KernelCompileError", "Tensor", "UnsupportedDType", "available_backends", "backend_status", "bf16",
    "bfloat16", "bool_", "dtypes", "f16", "f32", "f64", "float16", "float32", "float64", "fp8_e4m3", "fp8_e5m2",
    "get_client", "i8", "i16", "i32", "i64", "int8", "int16", "int32", "int64", "promote_types", "set_backend",
    "u8", "u32", "uint8", "uint32", "use_backend", *_api_all,
]  # fmt: skip

"""The typed errors of boostr.errors."""

from __future__ import annotations

import pytest

import boostr
from boostr.errors import (
    BackendUnavailable,
    BoostrError,
    FormatError,
    InvalidArgument,
    KernelCompileError,
    UnsupportedDType,
)


def test_hierarchy():
    for cls in (InvalidArgument, UnsupportedDType, BackendUnavailable, KernelCompileError, FormatError):
        assert issubclass(cls, BoostrError)
    assert issubclass(InvalidArgument, ValueError)
    assert issubclass(FormatError, ValueError)
    assert issubclass(UnsupportedDType, TypeError)
    assert issubclass(BackendUnavailable, RuntimeError)
    assert boostr.InvalidArgument is InvalidArgument


def test_invalid_argument_names_the_argument():
    e = InvalidArgument("dim", "expected an int in [-2, 2), received 5")
    assert e.arg == "dim" and e.reason.startswith("expected")
    assert "'dim'" in str(e) and "received 5" in str(e)
    with pytest.raises(ValueError):
        raise e


def test_unsupported_dtype_fields():
    e = UnsupportedDType("matmul", boostr.fp8_e4m3, "wgpu:0", "cast first")
    assert e.op == "matmul" and e.dtype is boostr.fp8_e4m3 and e.backend == "wgpu:0"
    assert "matmul" in str(e) and "fp8_e4m3" in str(e) and "wgpu:0" in str(e) and "cast first" in str(e)


def test_backend_unavailable_says_why():
    e = BackendUnavailable("cuda", "CuPy is not installed (pip install boostr[cuda])")
    assert e.backend == "cuda" and "CuPy" in str(e) and "cuda" in str(e)


def test_kernel_compile_error_numbers_the_source():
    src = "fn main() {\n  let x = 1\n}\n"
    e = KernelCompileError("softmax_f32", "error: expected ';' at line 2", src)
    msg = str(e)
    assert "softmax_f32" in msg and "expected ';'" in msg
    assert "    1  fn main() {" in msg and "    2    let x = 1" in msg and "    3  }" in msg
    assert e.name == "softmax_f32" and e.source == src
    assert "source" not in str(KernelCompileError("k", "log"))


def test_client_errors_are_typed():
    c = boostr.get_client("cpu")
    with pytest.raises(InvalidArgument) as e:
        c.softmax(c.from_numpy([1, 2]), dim=3)
    assert e.value.arg == "dim"
    with pytest.raises(UnsupportedDType):
        c.exp(c.zeros(2, dtype="fp8_e4m3"))

"""Creation primitives: empty/zeros/ones/full, arange/linspace/eye, *_like, and
seeded counter-based random numbers (the same numbers on every backend).

Layout: every result is a new contiguous tensor of the requested shape.
"""

from __future__ import annotations

import math
from typing import Any

from ... import dtype as _dt
from ...dtype import DType
from ...errors import InvalidArgument
from ...tensor import Tensor, _shape_arg
from ._base import TraitBase


class Generator:
    """A seeded Philox stream: each draw uses the next counter offset.

    ``g = boostr.Generator(seed=0)``; ``client.randn(3, 4, generator=g)``. Two
    generators with the same seed give the same numbers on every backend.
    """

    def __init__(self, seed: int = 0) -> None:
        if not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise InvalidArgument("seed", f"expected an int in [0, 2**64), received {seed!r}")
        self.seed = seed
        self.offset = 0

    def next_offset(self) -> int:
        off = self.offset
        self.offset += 1
        return off

    def manual_seed(self, seed: int) -> Generator:
        self.__init__(seed)  # type: ignore[misc]
        return self


default_generator = Generator(0)


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    s = _shape_arg(shape)
    if any(n < 0 for n in s):
        raise InvalidArgument("shape", f"expected non-negative sizes, received {s}")
    return s


class CreationOps(TraitBase):
    """Tensor factories (``dtype`` defaults to f32 for floats)."""

    def empty(self, *shape: Any, dtype: DType | str = _dt.f32) -> Tensor:
        dt = _dt.dtype(dtype)
        self._check_storage("empty", dt)
        return self._new(_shape(shape), dt)

    def full(self, shape: Any, value: bool | int | float, dtype: DType | str | None = None) -> Tensor:
        """A tensor of ``shape`` filled with ``value`` (dtype inferred from value if None)."""
        if not isinstance(value, (bool, int, float)):
            raise InvalidArgument("value", f"expected a Python number, received {type(value).__name__}")
        if dtype is None:
            dt = _dt.bool_ if isinstance(value, bool) else self.default_int if isinstance(value, int) else _dt.f32
        else:
            dt = _dt.dtype(dtype)
        self._check_storage("full", dt)
        out = self._new(_shape((shape,) if isinstance(shape, int) else tuple(shape)), dt)
        if out.numel:
            v = bool(value) if dt.kind == "b" else int(value) if dt.is_int else float(value)
            self._k_fill(out, v)
        return out

    def zeros(self, *shape: Any, dtype: DType | str = _dt.f32) -> Tensor:
        return self.full(_shape(shape), 0, dtype)

    def ones(self, *shape: Any, dtype: DType | str = _dt.f32) -> Tensor:
        return self.full(_shape(shape), 1, dtype)

    def empty_like(self, x: Tensor, dtype: DType | str | None = None) -> Tensor:
        self._check_tensor("x", x)
        return self.empty(x.shape, dtype=x.dtype if dtype is None else dtype)

    def zeros_like(self, x: Tensor, dtype: DType | str | None = None) -> Tensor:
        self._check_tensor("x", x)
        return self.full(x.shape, 0, x.dtype if dtype is None else dtype)

    def ones_like(self, x: Tensor, dtype: DType | str | None = None) -> Tensor:
        self._check_tensor("x", x)
        return self.full(x.shape, 1, x.dtype if dtype is None else dtype)

    def full_like(self, x: Tensor, value: bool | int | float, dtype: DType | str | None = None) -> Tensor:
        self._check_tensor("x", x)
        return self.full(x.shape, value, x.dtype if dtype is None else dtype)

    def arange(
        self,
        start: int | float,
        end: int | float | None = None,
        step: int | float = 1,
        dtype: DType | str | None = None,
    ) -> Tensor:
        """``[start, end)`` by ``step`` (``arange(n)`` is ``[0, n)``); ints give the default int dtype."""
        if end is None:
            start, end = 0, start
        for name, v in (("start", start), ("end", end), ("step", step)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise InvalidArgument(name, f"expected a finite number, received {v!r}")
        if step == 0:
            raise InvalidArgument("step", "expected a non-zero step")
        n = max(0, math.ceil((end - start) / step))
        all_int = all(isinstance(v, int) for v in (start, end, step))
        dt = _dt.dtype(dtype) if dtype is not None else (self.default_int if all_int else _dt.f32)
        self._check_storage("arange", dt)
        out = self._new((n,), dt)
        if n:
            self._k_arange(out, start, step)
        return out

    def linspace(self, start: float, end: float, steps: int, dtype: DType | str = _dt.f32) -> Tensor:
        """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
        if not isinstance(steps, int) or steps < 0:
            raise InvalidArgument("steps", f"expected a non-negative int, received {steps!r}")
        dt = _dt.dtype(dtype)
        self._check_storage("linspace", dt)
        out = self._new((steps,), dt)
        if steps:
            self._k_arange(out, float(start), (float(end) - float(start)) / (steps - 1) if steps > 1 else 0.0)
        return out

    def eye(self, n: int, m: int | None = None, dtype: DType | str = _dt.f32) -> Tensor:
        """Identity-like ``[n, m]`` matrix."""
        m = n if m is None else m
        out = self.zeros(n, m, dtype=dtype)
        k = min(n, m)
        if k:
            self._k_fill(out._view((k,), (m + 1,), 0), 1 if not out.dtype.is_float else 1.0)
        return out

    # ---------------------------------------------------------------- random
    def _random(
        self, shape: tuple[int, ...], dist: str, dt: DType, a: float, b: float, generator: Generator | None
    ) -> Tensor:
        self._check_storage(dist, dt)
        gen = default_generator if generator is None else generator
        out = self._new(shape, dt)
        off = gen.next_offset()
        if out.numel:
            self._k_random(out, dist, gen.seed, off, a, b)
        return out

    def rand(self, *shape: Any, dtype: DType | str = _dt.f32, generator: Generator | None = None) -> Tensor:
        """Uniform in [0, 1)."""
        dt = _dt.dtype(dtype)
        if not dt.is_float:
            raise InvalidArgument("dtype", f"rand expects a float dtype, received {dt}")
        return self._random(_shape(shape), "uniform", dt, 0.0, 1.0, generator)

    def uniform(
        self, shape: Any, low: float = 0.0, high: float = 1.0, dtype: DType | str = _dt.f32,
        generator: Generator | None = None,
    ) -> Tensor:  # fmt: skip
        dt = _dt.dtype(dtype)
        if not dt.is_float:
            raise InvalidArgument("dtype", f"uniform expects a float dtype, received {dt}")
        return self._random(_shape(tuple(shape)), "uniform", dt, float(low), float(high), generator)

    def randn(self, *shape: Any, dtype: DType | str = _dt.f32, generator: Generator | None = None) -> Tensor:
        """Standard normal (Box-Muller over Philox)."""
        dt = _dt.dtype(dtype)
        if not dt.is_float:
            raise InvalidArgument("dtype", f"randn expects a float dtype, received {dt}")
        return self._random(_shape(shape), "normal", dt, 0.0, 1.0, generator)

    def randint(
        self, low: int, high: int, shape: Any, dtype: DType | str | None = None,
        generator: Generator | None = None,
    ) -> Tensor:  # fmt: skip
        """Integers uniform in ``[low, high)``."""
        if not isinstance(low, int) or not isinstance(high, int) or high <= low or high - low > 2**32:
            raise InvalidArgument("high", f"expected ints with 0 < high - low <= 2**32, received [{low}, {high})")
        dt = self.default_int if dtype is None else _dt.dtype(dtype)
        if not dt.is_int:
            raise InvalidArgument("dtype", f"randint expects an integer dtype, received {dt}")
        shp = _shape((shape,) if isinstance(shape, int) else tuple(shape))
        return self._random(shp, "randint", dt, float(low), float(high), generator)

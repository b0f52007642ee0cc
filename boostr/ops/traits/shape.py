"""Shape primitives that move data: contiguous, slice assignment, cat, stack,
split, chunk, pad, repeat, repeat_interleave, roll, flip, tril/triu.

Pure views (reshape, permute, narrow, expand, ...) live on ``Tensor``; the ops
here build new contiguous tensors from strided copies (``_k_copy``) and fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import dtype as _dt
from ...dtype import promote_types
from ...errors import InvalidArgument
from ...tensor import Tensor, normalize_dim
from ._base import TraitBase


class ShapeOps(TraitBase):
    """Copying shape ops."""

    def contiguous(self, x: Tensor) -> Tensor:
        """A row-major copy of ``x`` (the same tensor if already contiguous)."""
        self._check_tensor("x", x)
        if x.is_contiguous():
            return x
        out = self._new(x.shape, x.dtype)
        if out.numel:
            self._k_copy(x, out)
        return out

    def copy(self, x: Tensor) -> Tensor:
        """A new contiguous copy of ``x`` (always a new buffer)."""
        self._check_tensor("x", x)
        out = self._new(x.shape, x.dtype)
        if out.numel:
            self._k_copy(x, out)
        return out

    def slice_assign(self, dst: Tensor, value: Tensor | bool | int | float) -> None:
        """In place: ``dst[...] = value`` for a view ``dst`` (value broadcast and cast)."""
        self._check_tensor("dst", dst)
        if _has_overlap(dst):
            raise InvalidArgument("dst", "cannot assign into a broadcast (stride-0) view")
        if isinstance(value, Tensor):
            self._check_tensor("value", value)
            try:
                src = value.expand(*dst.shape)
            except InvalidArgument as exc:
                raise InvalidArgument("value", f"shape {value.shape} does not broadcast to {dst.shape}") from exc
            if dst.numel:
                if src.storage is dst.storage:
                    src = self.copy(src)
                self._k_copy(src, dst)
        elif isinstance(value, (bool, int, float)):
            if dst.numel:
                d = dst.dtype
                self._k_fill(dst, bool(value) if d.kind == "b" else int(value) if d.is_int else float(value))
        else:
            raise InvalidArgument("value", f"expected a Tensor or a Python number, received {type(value).__name__}")

    def cat(self, tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
        """Concatenate along ``dim``; dtypes promote; other dims must match."""
        ts = list(tensors)
        if not ts:
            raise InvalidArgument("tensors", "expected at least one tensor")
        for i, t in enumerate(ts):
            self._check_tensor(f"tensors[{i}]", t)
        ref = ts[0]
        if ref.ndim == 0:
            raise InvalidArgument("tensors[0]", "cannot concatenate 0-d tensors (use stack)")
        d = normalize_dim(dim, ref.ndim)
        dt = ref.dtype
        for i, t in enumerate(ts[1:], 1):
            if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != d):
                raise InvalidArgument(f"tensors[{i}]", f"shape {t.shape} does not match {ref.shape} outside dim {d}")
            dt = promote_types(dt, t.dtype)
        shape = list(ref.shape)
        shape[d] = sum(t.shape[d] for t in ts)
        out = self._new(shape, dt)
        pos = 0
        for t in ts:
            n = t.shape[d]
            if n and t.numel:
                self._k_copy(t, out.narrow(d, pos, n))
            pos += n
        return out

    def stack(self, tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
        """Stack equal-shaped tensors along a new ``dim``."""
        ts = list(tensors)
        if not ts:
            raise InvalidArgument("tensors", "expected at least one tensor")
        for i, t in enumerate(ts):
            self._check_tensor(f"tensors[{i}]", t)
            if t.shape != ts[0].shape:
                raise InvalidArgument(f"tensors[{i}]", f"expected shape {ts[0].shape}, received {t.shape}")
        d = normalize_dim(dim, ts[0].ndim + 1)
        return self.cat([t.unsqueeze(d) for t in ts], d)

    def split(self, x: Tensor, split_size: int | Sequence[int], dim: int = 0) -> list[Tensor]:
        """Views of ``x`` split along ``dim`` into chunks of ``split_size`` (or the listed sizes)."""
        self._check_tensor("x", x)
        d = normalize_dim(dim, x.ndim)
        n = x.shape[d]
        if isinstance(split_size, int):
            if split_size <= 0:
                raise InvalidArgument("split_size", f"expected a positive int, received {split_size}")
            sizes = [min(split_size, n - i) for i in range(0, n, split_size)] or [0]
        else:
            sizes = [int(s) for s in split_size]
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise InvalidArgument("split_size", f"sizes {sizes} must be >= 0 and sum to {n}")
        out, pos = [], 0
        for s in sizes:
            out.append(x.narrow(d, pos, s))
            pos += s
        return out

    def chunk(self, x: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
        """Split into ``chunks`` views of (nearly) equal size (the last may be smaller)."""
        if not isinstance(chunks, int) or chunks <= 0:
            raise InvalidArgument("chunks", f"expected a positive int, received {chunks!r}")
        self._check_tensor("x", x)
        n = x.shape[normalize_dim(dim, x.ndim)]
        return self.split(x, max(1, -(-n // chunks)), dim)

    def pad(self, x: Tensor, pad: Sequence[int], value: bool | int | float = 0) -> Tensor:
        """Constant padding; ``pad = (last_lo, last_hi, prev_lo, prev_hi, ...)`` as in torch."""
        self._check_tensor("x", x)
        p = [int(v) for v in pad]
        if len(p) % 2 or len(p) // 2 > x.ndim or any(v < 0 for v in p):
            raise InvalidArgument("pad", f"expected non-negative (lo, hi) pairs for up to {x.ndim} dims, received {p}")
        shape = list(x.shape)
        starts = [0] * x.ndim
        for i in range(len(p) // 2):
            d = x.ndim - 1 - i
            shape[d] += p[2 * i] + p[2 * i + 1]
            starts[d] = p[2 * i]
        out = self.full(shape, value, x.dtype)
        inner = out
        for d in range(x.ndim):
            inner = inner.narrow(d, starts[d], x.shape[d])
        if x.numel:
            self._k_copy(x, inner)
        return out

    def repeat(self, x: Tensor, *repeats: Any) -> Tensor:
        """Tile ``x``: ``repeat(x, 2, 3)`` on ``[a, b]`` gives ``[2a, 3b]`` (torch.Tensor.repeat)."""
        self._check_tensor("x", x)
        reps = [
            int(r) for r in (repeats[0] if len(repeats) == 1 and isinstance(repeats[0], (list, tuple)) else repeats)
        ]
        if len(reps) < x.ndim or any(r < 0 for r in reps):
            raise InvalidArgument("repeats", f"expected >= {x.ndim} non-negative ints, received {reps}")
        xs = x.reshape(*([1] * (len(reps) - x.ndim)), *x.shape)
        inter_shape: list[int] = []
        expand_shape: list[int] = []
        for r, n in zip(reps, xs.shape, strict=True):
            inter_shape += [1, n]
            expand_shape += [r, n]
        tiled = self.contiguous(xs.reshape(*inter_shape).expand(*expand_shape))
        return tiled.reshape(*[r * n for r, n in zip(reps, xs.shape, strict=True)])

    def repeat_interleave(self, x: Tensor, repeats: int, dim: int = 0) -> Tensor:
        """Repeat each element ``repeats`` times along ``dim`` (GQA's KV-head expansion)."""
        self._check_tensor("x", x)
        if not isinstance(repeats, int) or repeats < 0:
            raise InvalidArgument("repeats", f"expected a non-negative int, received {repeats!r}")
        d = normalize_dim(dim, x.ndim)
        u = x.unsqueeze(d + 1)
        shape = list(u.shape)
        shape[d + 1] = repeats
        out = self.contiguous(u.expand(*shape))
        final = list(x.shape)
        final[d] *= repeats
        return out.reshape(*final)

    def roll(self, x: Tensor, shifts: int, dim: int) -> Tensor:
        """Rotate elements along ``dim`` by ``shifts`` (positive moves toward higher indices)."""
        self._check_tensor("x", x)
        d = normalize_dim(dim, x.ndim)
        n = x.shape[d]
        out = self._new(x.shape, x.dtype)
        if not x.numel:
            return out
        s = shifts % n
        if s == 0:
            self._k_copy(x, out)
            return out
        self._k_copy(x.narrow(d, 0, n - s), out.narrow(d, s, n - s))
        self._k_copy(x.narrow(d, n - s, s), out.narrow(d, 0, s))
        return out

    def flip(self, x: Tensor, dims: int | Sequence[int]) -> Tensor:
        """Reverse the order of elements along ``dims``."""
        self._check_tensor("x", x)
        out = x
        for dd in [dims] if isinstance(dims, int) else list(dims):
            d = normalize_dim(dd, x.ndim)
            n = x.shape[d]
            if n > 1:
                idx = self.arange(n - 1, -1, -1, dtype=self.default_int)
                out = self.index_select(out, d, idx)
        return out if out is not x else self.copy(x)

    def _tri(self, x: Tensor, k: int, upper: bool) -> Tensor:
        self._check_tensor("x", x)
        if x.ndim < 2:
            raise InvalidArgument("x", f"expected at least 2 dims, received shape {x.shape}")
        r, c = x.shape[-2:]
        rows = self.arange(r, dtype=self.default_int).reshape(r, 1)
        cols = self.arange(c, dtype=self.default_int).reshape(1, c)
        diff = self.sub(cols, rows)
        mask = self.ge(diff, k) if upper else self.le(diff, k)
        return self.where(mask, x, False if x.dtype is _dt.bool_ else 0)

    def tril(self, x: Tensor, k: int = 0) -> Tensor:
        """Keep elements on and below the k-th diagonal of the last two dims."""
        return self._tri(x, k, False)

    def triu(self, x: Tensor, k: int = 0) -> Tensor:
        """Keep elements on and above the k-th diagonal of the last two dims."""
        return self._tri(x, k, True)


def _has_overlap(t: Tensor) -> bool:
    return any(s == 0 and n > 1 for n, s in zip(t.shape, t.strides, strict=True))

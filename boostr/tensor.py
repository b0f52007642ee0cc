"""Tensor: a typed, strided view of a backend buffer. Views only, no math here.

A Tensor is ``(storage, shape, strides, offset, dtype, client)``. ``strides`` and
``offset`` count elements, never bytes, and are never negative. Every view
method (reshape, permute, narrow, ``[]``, expand, ...) makes a new Tensor over
the same storage; math delegates to ``self.client``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dtype as _dt
from .dtype import DType
from .errors import InvalidArgument
from .tensor_ops import TensorMath

if TYPE_CHECKING:
    from .runtime.client import ClientBase


_STRIDES: dict[tuple[int, ...], tuple[int, ...]] = {}  # contiguous strides by shape (bounded)


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides (in elements) for ``shape``."""
    key = shape if type(shape) is tuple else tuple(shape)
    got = _STRIDES.get(key)
    if got is not None:
        return got
    strides = []
    acc = 1
    for n in reversed(key):
        strides.append(acc)
        acc *= max(int(n), 1)
    out = tuple(reversed(strides))
    if len(_STRIDES) >= 4096:
        _STRIDES.clear()
    _STRIDES[key] = out
    return out


def _strides_contiguous(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Row-major contiguity of ``strides`` over ``shape`` (size-1 dims may have any stride)."""
    expect = 1
    for n, s in zip(reversed(shape), reversed(strides), strict=True):
        if n == 1:
            continue
        if s != expect:
            return False
        expect *= n
    return True


def normalize_dim(dim: int, ndim: int, arg: str = "dim") -> int:
    """Map a possibly negative ``dim`` into ``[0, ndim)`` or raise InvalidArgument."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise InvalidArgument(arg, f"expected an int, received {type(dim).__name__}")
    lo, hi = -max(ndim, 1), max(ndim, 1)
    if not lo <= dim < hi:
        raise InvalidArgument(arg, f"expected an int in [{lo}, {hi}), received {dim}")
    return int(dim) % max(ndim, 1)


def _shape_arg(shape: tuple[Any, ...], arg: str = "shape") -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:  # hot path: a tuple of plain ints is returned as is
        if type(n) is not int:
            break
    else:
        return shape
    out = []
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise InvalidArgument(arg, f"expected ints, received {shape!r}")
        out.append(int(n))
    return tuple(out)


class Tensor(TensorMath):
    """An n-dimensional array on one backend device.

    Layout: ``shape`` and ``strides`` in elements; element ``idx`` lives at
    ``offset + sum(i * s for i, s in zip(idx, strides))`` of ``storage``.
    """

    __slots__ = ("__weakref__", "_contig", "_storage", "client", "dtype", "offset", "shape", "strides")

    def __init__(
        self,
        storage: Any,
        shape: Sequence[int],
        dtype: DType,
        client: ClientBase,
        strides: Sequence[int] | None = None,
        offset: int = 0,
    ) -> None:
        self._storage = storage
        self.shape: tuple[int, ...] = tuple(int(n) for n in shape)
        if strides is None:
            self.strides: tuple[int, ...] = contiguous_strides(self.shape)
            self._contig: bool | None = True
        else:
            self.strides = tuple(int(s) for s in strides)
            self._contig = None  # computed on first is_contiguous()
        self.offset = int(offset)
        self.dtype = dtype
        self.client = client

    # ------------------------------------------------------------------ metadata
    @property
    def storage(self) -> Any:
        """The backend buffer (numpy array, CuPy array or wgpu buffer wrapper)."""
        return self._storage

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim)]

    @property
    def device(self) -> str:
        """Device name, e.g. ``cpu``, ``cuda:0``, ``wgpu:0``."""
        return self.client.device_name

    @property
    def backend(self) -> str:
        return self.client.kind

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def is_contiguous(self) -> bool:
        """Row-major contiguous (size-1 dims may have any stride); computed once per tensor."""
        c = self._contig
        if c is None:
            c = self._contig = _strides_contiguous(self.shape, self.strides)
        return c

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # --------------------------------------------------------------------- views
    def _view(self, shape: Sequence[int], strides: Sequence[int], offset: int) -> Tensor:
        return Tensor(self._storage, shape, self.dtype, self.client, strides, offset)

    def contiguous(self) -> Tensor:
        """This tensor if row-major contiguous, else a contiguous copy."""
        return self if self.is_contiguous() else self.client.contiguous(self)

    def reshape(self, *shape: Any) -> Tensor:
        """A view with a new shape (one dim may be -1); copies only if the strides forbid a view."""
        fixed = _shape_arg(shape)
        if self.is_contiguous() and -1 not in fixed and (not fixed or min(fixed) >= 0):
            if math.prod(fixed) == math.prod(self.shape):  # hot path: a contiguous view, nothing to infer
                return _contiguous_view(self._storage, fixed, self.offset, self.dtype, self.client)
        new = list(fixed)
        if new.count(-1) > 1:
            raise InvalidArgument("shape", f"only one -1 allowed, received {tuple(new)}")
        if -1 in new:
            known = math.prod(n for n in new if n != -1)
            if known == 0 or self.numel % known:
                raise InvalidArgument("shape", f"cannot infer -1 for {tuple(new)} from {self.numel} elements")
            new[new.index(-1)] = self.numel // known
        if any(n < 0 for n in new) or math.prod(new) != self.numel:
            raise InvalidArgument("shape", f"{tuple(new)} does not hold {self.numel} elements of shape {self.shape}")
        strides = self._reshape_strides(tuple(new))
        if strides is None:
            return self.contiguous()._view(new, contiguous_strides(new), 0)
        return self._view(new, strides, self.offset)

    view = reshape

    def _reshape_strides(self, new: tuple[int, ...]) -> tuple[int, ...] | None:
        """Strides for viewing ``self`` as ``new`` without a copy, or None."""
        if self.is_contiguous():
            return contiguous_strides(new)
        # merge old dims into contiguous chunks, then split them (numpy's algorithm)
        old = [(n, s) for n, s in zip(self.shape, self.strides, strict=True) if n != 1]
        out: list[int] = []
        oi = 0
        ni = 0
        newl = list(new)
        while ni < len(newl):
            if newl[ni] == 1:
                out.append(1)
                ni += 1
                continue
            if oi >= len(old):
                return None
            # gather a chunk of old dims whose product equals a chunk of new dims
            np_, op_ = newl[ni], old[oi][0]
            nj, oj = ni, oi
            while np_ != op_:
                if np_ < op_:
                    nj += 1
                    np_ *= newl[nj]
                else:
                    oj += 1
                    op_ *= old[oj][0]
            for k in range(oi, oj):
                if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                    return None
            stride = old[oj][1]
            chunk = []
            for k in range(nj, ni - 1, -1):
                chunk.append(stride)
                stride *= newl[k]
            out.extend(reversed(chunk))
            ni, oi = nj + 1, oj + 1
        return tuple(out)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s = normalize_dim(start_dim, self.ndim, "start_dim")
        e = normalize_dim(end_dim, self.ndim, "end_dim")
        if s > e:
            raise InvalidArgument("end_dim", f"expected end_dim >= start_dim, received {start_dim}, {end_dim}")
        return self.reshape(*self.shape[:s], math.prod(self.shape[s : e + 1]), *self.shape[e + 1 :])

    def permute(self, *dims: Any) -> Tensor:
        d = _shape_arg(dims, "dims")
        nd = tuple(normalize_dim(x, self.ndim, "dims") for x in d)
        if sorted(nd) != list(range(self.ndim)):
            raise InvalidArgument("dims", f"expected a permutation of {self.ndim} dims, received {d}")
        return self._view([self.shape[i] for i in nd], [self.strides[i] for i in nd], self.offset)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        a = normalize_dim(dim0, self.ndim, "dim0")
        b = normalize_dim(dim1, self.ndim, "dim1")
        order = list(range(self.ndim))
        order[a], order[b] = order[b], order[a]
        return self.permute(*order)

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy/torch spelling
        return self.permute(*reversed(range(self.ndim)))

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = normalize_dim(dim, self.ndim)
        n = self.shape[d]
        if start < 0:
            start += n
        if not (0 <= start <= n and 0 <= length and start + length <= n):
            raise InvalidArgument("start", f"narrow({dim}, {start}, {length}) is outside a dim of size {n}")
        shape = list(self.shape)
        shape[d] = length
        return self._view(shape, self.strides, self.offset + start * self.strides[d])

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast view (stride 0) to ``shape``; -1 keeps a dim."""
        new = _shape_arg(shape)
        if len(new) < self.ndim:
            raise InvalidArgument("shape", f"expected at least {self.ndim} dims, received {new}")
        lead = len(new) - self.ndim
        strides = [0] * lead
        out = list(new[:lead])
        for i, (n, s) in enumerate(zip(self.shape, self.strides, strict=True)):
            want = new[lead + i]
            if want == -1 or want == n:
                out.append(n)
                strides.append(s)
            elif n == 1 and want >= 0:
                out.append(want)
                strides.append(0)
            else:
                raise InvalidArgument("shape", f"cannot broadcast {self.shape} to {new}")
        if any(n < 0 for n in out[:lead]):
            raise InvalidArgument("shape", f"-1 is not allowed in new leading dims, received {new}")
        return self._view(out, strides, self.offset)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return self.expand(*shape)

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            keep = [i for i, n in enumerate(self.shape) if n != 1]
        else:
            d = normalize_dim(dim, self.ndim)
            keep = [i for i in range(self.ndim) if i != d or self.shape[i] != 1]
        return self._view([self.shape[i] for i in keep], [self.strides[i] for i in keep], self.offset)

    def unsqueeze(self, dim: int) -> Tensor:
        d = normalize_dim(dim, self.ndim + 1)
        shape = list(self.shape)
        strides = list(self.strides)
        stride = strides[d] * shape[d] if d < self.ndim else 1
        shape.insert(d, 1)
        strides.insert(d, stride)
        return self._view(shape, strides, self.offset)

    def __getitem__(self, key: Any) -> Tensor:
        """Basic slicing: ints, slices with positive step, ``None`` and ``...``.

        A Tensor key (bool mask or integer index) goes through the client
        (``masked_select`` is not provided; integer tensors use ``index_select``).
        """
        if isinstance(key, Tensor):
            if key.dtype.is_int:
                return self.client.index_select(self, 0, key.reshape(-1)).reshape(*key.shape, *self.shape[1:])
            raise InvalidArgument("key", "boolean mask indexing is not supported; use where/masked_fill")
        return self._view(*_basic_index(self, key))

    def __setitem__(self, key: Any, value: Any) -> None:
        """Slice assignment: ``x[1:3] = y`` copies (with broadcasting and cast) on the device."""
        self.client.slice_assign(self[key], value)

    # ---------------------------------------------------------------- transfers
    def numpy(self) -> np.ndarray:
        """Copy to a numpy array (an API-boundary transfer)."""
        return self.client.to_numpy(self)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def item(self) -> bool | int | float:
        if self.numel != 1:
            raise InvalidArgument("self", f"item() needs exactly one element, shape is {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        arr = self.numpy()
        return arr.astype(np.float32).tolist() if self.dtype.is_half else arr.tolist()

    def to(self, target: str | DType | Any) -> Tensor:
        """``t.to("wgpu")`` moves to a backend; ``t.to(boostr.f16)`` casts."""
        if isinstance(target, str):
            try:
                return self.cast(_dt.dtype(target))
            except InvalidArgument:
                pass
            from .runtime.registry import get_client

            client = get_client(target)
            if client is self.client:
                return self
            return client.from_numpy(self.numpy())
        return self.cast(_dt.dtype(target))

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.to_dlpack(self, *args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.client.dlpack_device()

    def __repr__(self) -> str:
        arr = self.numpy()
        body = np.array2string(arr.astype(np.float32) if self.dtype.is_half else arr, separator=", ", threshold=64)
        return f"Tensor({body}, dtype={self.dtype.name}, device={self.device})"

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __iter__(self) -> Iterable[Tensor]:
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__


_new_tensor = Tensor.__new__


def _contiguous_view(storage: Any, shape: tuple[int, ...], offset: int, dtype: DType, client: Any) -> Tensor:
    """A row-major contiguous Tensor over ``storage`` from trusted internal values (no validation:
    ``shape`` is a tuple of non-negative ints that fits the storage from ``offset``)."""
    t = _new_tensor(Tensor)
    t._storage = storage
    t.shape = shape
    t.strides = contiguous_strides(shape)
    t._contig = True
    t.offset = offset
    t.dtype = dtype
    t.client = client
    return t


def _basic_index(t: Tensor, key: Any) -> tuple[list[int], list[int], int]:
    if not isinstance(key, tuple):
        key = (key,)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise InvalidArgument("key", "at most one Ellipsis")
    if n_real > t.ndim:
        raise InvalidArgument("key", f"too many indices ({n_real}) for a {t.ndim}-d tensor")
    expanded: list[Any] = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (t.ndim - n_real))
        else:
            expanded.append(k)
    if Ellipsis not in key:
        expanded.extend([slice(None)] * (t.ndim - n_real))
    shape: list[int] = []
    strides: list[int] = []
    offset = t.offset
    d = 0
    for k in expanded:
        if k is None:
            shape.append(1)
            strides.append(0)
            continue
        n, s = t.shape[d], t.strides[d]
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            i = int(k)
            if not -n <= i < n:
                raise InvalidArgument("key", f"index {i} is out of range for dim {d} of size {n}")
            offset += (i % n) * s
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step <= 0:
                raise InvalidArgument("key", f"slice step must be positive, received {step} (use flip)")
            length = max(0, (stop - start + step - 1) // step)
            if length:
                offset += start * s
            shape.append(length)
            strides.append(s * step)
        else:
            raise InvalidArgument("key", f"expected int, slice, None or ..., received {type(k).__name__}")
        d += 1
    return shape, strides, offset

"""Helpers shared by the primitive op traits: broadcasting and dim handling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...errors import InvalidArgument
from ...tensor import Tensor, _contiguous_view, normalize_dim


def broadcast_shapes(*shapes: Sequence[int], args: Sequence[str] = ()) -> tuple[int, ...]:
    """numpy broadcasting of shapes; InvalidArgument naming the arguments on mismatch."""
    if len(shapes) == 2 and shapes[0] == shapes[1]:  # hot path: equal shapes broadcast to themselves
        return tuple(shapes[0])
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        n = 1
        for s in shapes:
            d = s[i - ndim + len(s)] if i - ndim + len(s) >= 0 else 1
            if d != 1:
                if n not in (1, d):
                    names = ", ".join(args) if args else "inputs"
                    raise InvalidArgument(
                        names.split(", ")[-1] if args else "other",
                        f"shapes {[tuple(x) for x in shapes]} of ({names}) do not broadcast",
                    )
                n = d
        out.append(n)
    return tuple(out)


def normalize_dims(dim: Any, ndim: int, arg: str = "dim") -> tuple[int, ...]:
    """``None`` -> all dims; an int or a sequence -> sorted unique normalized dims."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = sorted({normalize_dim(d, ndim, arg) for d in dims}) if ndim else []
    if ndim == 0:
        for d in dims:
            normalize_dim(d, 0, arg)
    if len(out) != len(dims):
        raise InvalidArgument(arg, f"repeated dims in {dim!r}")
    return tuple(out)


def move_to_rows(x: Tensor, dims: Sequence[int]) -> tuple[Tensor, tuple[int, ...]]:
    """Permute ``dims`` last and view x as a contiguous ``[R, C]``; returns (x2d, kept shape)."""
    keep = [d for d in range(x.ndim) if d not in dims]
    order = keep + list(dims)
    xp = x.permute(*order) if order != list(range(x.ndim)) else x
    kept_shape = tuple(x.shape[d] for d in keep)
    r = 1
    for n in kept_shape:
        r *= n
    c = 1
    for d in dims:
        c *= x.shape[d]
    return xp.contiguous().reshape(r, c), kept_shape


def last_dim_rows(x: Tensor, dim: int) -> tuple[Tensor, list[int]]:
    """View ``x`` with ``dim`` moved last as contiguous ``[R, C]``; returns (x2d, permuted shape)."""
    d = normalize_dim(dim, x.ndim) if x.ndim else 0
    if x.ndim == 0:
        return x.reshape(1, 1), []
    if d == x.ndim - 1 and x.is_contiguous():  # hot path: rows are already last and contiguous
        rows = math.prod(x.shape[:-1])
        return _contiguous_view(x._storage, (rows, x.shape[d]), x.offset, x.dtype, x.client), list(x.shape)
    order = [i for i in range(x.ndim) if i != d] + [d]
    xp = x.permute(*order)
    rows = 1
    for i in order[:-1]:
        rows *= x.shape[i]
    return xp.contiguous().reshape(rows, x.shape[d]), [x.shape[i] for i in order]


def rows_back(y2d: Tensor, perm_shape: list[int], dim: int, ndim: int) -> Tensor:
    """Undo ``last_dim_rows``: reshape ``[R, C']`` to the permuted shape and move the last dim back."""
    if ndim == 0:
        return y2d.reshape(())
    d = normalize_dim(dim, ndim)
    y = y2d.reshape(*perm_shape[:-1], y2d.shape[-1])
    if d == ndim - 1:  # the last dim never moved
        return y
    order = list(range(ndim - 1))
    order.insert(d, ndim - 1)
    return y.permute(*order)


def positive_int(name: str, n: object) -> int:
    """``n`` when it is a positive int (not a bool), else InvalidArgument naming ``name``."""
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise InvalidArgument(name, f"expected a positive int, received {n!r}")
    return n


def check_heads(num_heads: object, num_kv_heads: object) -> tuple[int, int]:
    """``(H, H_kv)``: positive ints with ``H % H_kv == 0`` (GQA), else InvalidArgument."""
    h, hkv = positive_int("num_heads", num_heads), positive_int("num_kv_heads", num_kv_heads)
    if h % hkv:
        raise InvalidArgument("num_kv_heads", f"{h} query heads are not a multiple of {hkv} KV heads")
    return h, hkv

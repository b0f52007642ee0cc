"""wgpu flash attention: FlashAttention-2 forward/backward and flash decoding in WGSL.

Kernels: ``kernels/wgsl/attention/flash_fwd.wgsl`` (forward; also the split-key decode partials and
the paged path of ``ops/wgpu/kv_cache.py``), ``combine.wgsl`` (log-sum-exp merge of the splits),
``bwd_prep.wgsl`` (``delta = rowsum(dout * out)``), ``flash_bwd_dq.wgsl`` and ``flash_bwd_dkdv.wgsl``.
Tiles are sized from the adapter's ``max-compute-workgroup-storage-size``: operands that do not fit
are read from global memory instead of workgroup memory. f16 (with ``shader-f16``) is staged as f16
and accumulated in f32; bf16 is decoded to f32. The G query heads of one KV head share a workgroup
(rows ``i * G + g``), so K/V tiles are read once per KV head (GQA/MQA). ALiBi slopes are a template
flag of the same kernels; ``VARLEN`` renders them for packed sequences (``ops/wgpu/varlen_attention.py``,
which shares ``run_bwd`` through ``Packed``).
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from ... import dtype as _dt
from ...kernels.sources import read_source, render
from ...tensor import Tensor
from ..generic.attention_mask import AttnSpec, work_dtype
from ..traits.attention import AttentionOps
from ._kern import decl, f32_word, fits, flat_bounds, launch, range_chunks, window
from .reduce import _dummy

DECODE_ROWS = 64  # rows (Sq * G) up to which the small decode tiles and key splitting are used
MIN_SPLIT_KEYS = 256


_CONST = re.compile(r"^const (\w+): u32 = ([^;]+);", re.MULTILINE)
_LOOP = re.compile(r"for \(var (\w+) = 0u; \1 < (\w+(?: \* \w+)?); \1 = \1 \+ 1u\) \{")
UNROLL = ("RMA", "CNA", "RMB", "DNB", "KPT")


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.floordiv}


def _int_expr(expr: str, names: dict[str, int]) -> int:
    """Value of a WGSL u32 constant expression (literals ``12u``, names, + - * /)."""

    def ev(n: ast.AST) -> int:
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, ast.Name) and n.id in names:
            return names[n.id]
        if isinstance(n, ast.BinOp) and type(n.op) in _OPS:
            return _OPS[type(n.op)](ev(n.left), ev(n.right))
        raise ValueError(expr)

    return ev(ast.parse(re.sub(r"(\d+)u\b", r"\1", expr), mode="eval").body)


def unroll(src: str) -> str:
    """Replicate loops ``for (var x = 0u; x < N; x = x + 1u) { .. }`` over the register-tile sizes
    (``UNROLL``, their products and literals) with ``x`` replaced by each value. WGSL has no unroll
    attribute, and a driver that keeps such a loop rolled puts the per-thread tile arrays in local memory."""
    consts: dict[str, int] = {}
    for name, expr in _CONST.findall(src):
        try:
            consts[name] = _int_expr(expr, consts)
        except (ValueError, SyntaxError):
            continue
    while True:
        m = next((m for m in _LOOP.finditer(src)
                  if all(n in UNROLL or re.fullmatch(r"\d+u", n) for n in m.group(2).split(" * "))), None)  # fmt: skip
        if m is None:
            return src
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(src[i], 0)
            i += 1
        body = src[m.end() : i - 1]
        count = _int_expr(m.group(2), consts)
        copies = "".join("{" + re.sub(rf"\b{m.group(1)}\b", f"{k}u", body) + "}" for k in range(count))
        src = src[: m.start()] + copies + src[i:]


def kernel(client: Any, relpath: str, entry: str, access: str, decls: str = "", **tmpl: object) -> Any:
    """``_kern.kernel`` with the register-tile loops unrolled (see ``unroll``)."""
    key = ("unrolled", relpath, entry, access, decls, tuple(sorted(tmpl.items())))
    k = client._kernels.get(key)
    if k is None:
        body = unroll(render(relpath, DECLS=decls, **tmpl))
        source = ("enable f16;\n" if client.has_f16 else "") + read_source("wgsl/common/convert.wgsl") + "\n" + body
        k = client._kernels[key] = client.engine.kernel(relpath, source, entry, access)
    return k


def _pow2(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


def vec_bytes(dt: _dt.DType, client: Any) -> int:
    """Bytes of one staged vec4 (f16 tiles stay f16)."""
    return 8 if dt is _dt.f16 and client.has_f16 else 16


def stage_type(dt: _dt.DType, client: Any) -> str:
    return "f16" if dt is _dt.f16 and client.has_f16 else "f32"


def _choose(limit: int, cands: list[tuple[int, int]], fixed: Any, ops: list[tuple[str, int]], row: int
            ) -> tuple[int, int, dict[str, bool]]:  # fmt: skip
    """The first tile ``(a, b)`` staging the most operands (in priority order) within ``limit`` bytes.

    ``ops`` lists ``(flag, 0 or 1)``: the operand has ``a`` (0) or ``b`` (1) rows of ``row`` bytes."""
    best: tuple[tuple[bool, ...], int, int, dict[str, bool]] | None = None
    for a, bb in cands:
        used = fixed(a, bb)
        flags = {}
        for name, which in ops:
            size = (a, bb)[which] * row
            flags[name] = used + size <= limit
            used += size if flags[name] else 0
        score = tuple(flags.values())
        if best is None or score > best[0]:
            best = (score, a, bb, flags)
    assert best is not None
    return best[1], best[2], best[3]


def _flags(flags: dict[str, bool], a: int, b: int, d4p: int, which: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, on in flags.items():
        out[name] = str(on).lower()
        out[name[0] + "LEN"] = (a, b)[which[name]] * d4p if on else 1
    return out


@functools.lru_cache(maxsize=256)
def fwd_tiles(d: int, rows: int, vec: int, limit: int) -> dict[str, Any]:
    """Template parameters of flash_fwd.wgsl for head dim ``d`` and ``rows`` rows per (b, kvh)."""
    d4p = d // 4 + 1
    txb = 16 if (d // 4) % 16 == 0 else 8
    if rows <= DECODE_ROWS:
        nt = 128
        br = max(_pow2(rows), nt // txb)
        txa = nt // min(br, 16)
        cands = [(br, 32), (br, 64), (br, 16)]
    else:
        nt, txa = 256, 16
        cands = [(32, 32), (64, 32), (64, 64), (32, 16)]  # 32 x 32 measured best on an H100 (Vulkan)
    # P tile, partial row maxima, two running-max rows and alpha, then the optional Q and K/V tiles
    fixed = lambda a, b: 4 * a * (b + 1) + 4 * a * txa + 12 * a  # noqa: E731
    br, bc, flags = _choose(limit, cands, fixed, [("KS", 1), ("QS", 0)], d4p * vec)
    return {"D": d, "BR": br, "BC": bc, "NT": nt, "TXA": txa, "TXB": txb,
            **_flags(flags, br, bc, d4p, {"KS": 1, "QS": 0})}  # fmt: skip


@functools.lru_cache(maxsize=256)
def bwd_tiles(d: int, vec: int, limit: int, dkdv: bool) -> dict[str, Any]:
    """Template parameters of flash_bwd_dq.wgsl (``dkdv`` False: a = rows, b = keys) or
    flash_bwd_dkdv.wgsl (a = keys, b = rows)."""
    d4p = d // 4 + 1
    txb = 16 if (d // 4) % 16 == 0 else 8
    cands = [(64, 64), (64, 32), (32, 32), (32, 16)] + ([(16, 16)] if txb == 16 else [])
    if dkdv:
        which = {"QS": 1, "OS": 1, "KS": 0, "VS": 0}
        fixed = lambda a, b: 8 * a * (b + 1) + 8 * b  # noqa: E731
    else:
        which = {"KS": 1, "QS": 0, "OS": 0, "VS": 1}
        fixed = lambda a, b: 4 * a * (b + 1) + 8 * a  # noqa: E731
    a, b, flags = _choose(limit, cands, fixed, list(which.items()), d4p * vec)
    br, bc = (b, a) if dkdv else (a, b)
    return {"D": d, "BR": br, "BC": bc, "NT": 256, "TXA": 16, "TXB": txb, **_flags(flags, a, b, d4p, which)}


def _strides(t: Tensor) -> list[int]:
    return list(t.strides)


def _adapter_target(client: Any) -> int:
    """Workgroups worth launching for one decode step (a software adapter wants few)."""
    return 16 if str(client.adapter.info.get("adapter_type")) == "CPU" else 1024


def f32_slopes(client: Any, slopes: Tensor) -> Tensor:
    """ALiBi slopes as a contiguous f32 tensor (the kernels read their bits)."""
    return slopes if slopes.dtype is _dt.f32 and slopes.is_contiguous() else client.cast(slopes, _dt.f32).contiguous()


def run_fwd(client: Any, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec,
            paged: tuple[Tensor, Tensor, int] | None = None,
            slopes: Tensor | None = None) -> tuple[Tensor, Tensor] | None:  # fmt: skip
    """Fused forward; ``paged = (block_table, context_lens, max_keys)`` with k/v ``[N, bs, Hkv, D]`` blocks;
    ``slopes [H]`` adds the ALiBi bias (not with ``paged``).

    Returns ``(out, lse)`` or None when a tensor cannot be bound (the caller runs the generic).
    """
    b, h, sq, d = q.shape
    hkv = k.shape[2] if paged else k.shape[1]
    g = h // hkv
    rows = sq * g
    cfg = fwd_tiles(d, rows, vec_bytes(q.dtype, client), client.limits["max-compute-workgroup-storage-size"])
    nqb = -(-rows // cfg["BR"])
    out = client._new(q.shape, q.dtype)
    if paged:
        jlo, n_keys = 0, paged[2]
    else:
        jlo, jhi = spec.key_range(0, sq, sq)
        n_keys = jhi - jlo
    ns = 1
    if nqb == 1 and n_keys > MIN_SPLIT_KEYS:
        want = -(-_adapter_target(client) // max(1, b * hkv))
        ns = max(1, min(want, n_keys // MIN_SPLIT_KEYS))
    per = -(-n_keys // ns)
    chunk = -(-per // cfg["BC"]) * cfg["BC"] if ns > 1 else 0
    ns = -(-n_keys // chunk) if ns > 1 else 1
    split = ns > 1
    lse = client._new((b, h, sq), _dt.f32)
    aux = client._new((b * h * sq * ns * (d + 2),), _dt.f32) if split else lse
    if paged:
        table, lens = paged[0], paged[1]
        tab_t, lens_t = table, lens
        n_blk, bs = k.shape[0], k.shape[1]
        pw = [bs, table.shape[1], n_blk]
    else:
        tab_t, lens_t = _dummy(client, 0), f32_slopes(client, slopes) if slopes is not None else _dummy(client, 1)
        pw = [1, 1, 1]
    tens = [q, k, v, out, aux, tab_t, lens_t]
    decls = "\n".join(decl(n, i, t.dtype if i < 4 else (_dt.f32 if i == 4 else _dt.i32), "w" if i in (3, 4) else "r")
                      for i, (n, t) in enumerate(zip(("q", "k", "v", "out", "aux", "tab", "lens"), tens)))  # fmt: skip
    kern = kernel(client, "wgsl/attention/flash_fwd.wgsl", "main", "rrrwwrr", decls, ST=stage_type(q.dtype, client),
                  SPLIT=str(split).lower(), PAGED=str(bool(paged)).lower(), ALIBI=str(slopes is not None).lower(),
                  VARLEN="false", **cfg)  # fmt: skip
    per_row = ns * (d + 2) if split else 1

    def spans(g0: int, g1: int) -> list[tuple[Any, _dt.DType, int, int]]:
        f0 = (g0 // hkv) * h + (g0 % hkv) * g
        f1 = ((g1 - 1) // hkv) * h + ((g1 - 1) % hkv) * g + g
        sp = [(q.storage, q.dtype, *flat_bounds(q.shape, q.strides, q.offset, f0 * sq * d, f1 * sq * d))]
        for t in (k, v):
            if paged:
                sp.append((t.storage, t.dtype, t.offset, t.offset + t.numel))
            else:
                sp.append((t.storage, t.dtype, *flat_bounds(t.shape, t.strides, t.offset, g0 * t.shape[2] * d,
                                                            g1 * t.shape[2] * d)))  # fmt: skip
        sp.append((out.storage, out.dtype, f0 * sq * d, f1 * sq * d))
        sp.append((aux.storage, aux.dtype, f0 * sq * per_row, f1 * sq * per_row))
        for t in (tab_t, lens_t):
            sp.append((t.storage, t.dtype, t.offset, t.offset + t.numel))
        return sp

    total = b * hkv
    pieces = list(range_chunks(client, total, spans))
    if any(not all(fits(client, *s) for s in spans(g0, g1)) for g0, g1 in pieces):
        return None
    scale2 = f32_word(spec.scale * 1.4426950408889634)
    for g0, g1 in pieces:
        binds = [window(client, st, dt, lo, hi) for st, dt, lo, hi in spans(g0, g1)]
        base = [bb for _, bb in binds]
        groups = (g1 - g0) * nqb * ns
        words = [b, h, hkv, sq, k.shape[1] if paged else k.shape[2], spec.kv_len, int(spec.limited), spec.window,
                 scale2, nqb, g0, groups, ns, chunk]  # fmt: skip
        for i, t in enumerate((q, k, v)):
            st = _strides(t)
            if paged and i:  # blocks [N, bs, Hkv, D]: (block, head, slot, d) in the kernel's (b, h, s, d) slots
                st = [st[0], st[2], st[1], st[3]]
            words += [t.offset - base[i], *st]
        words += [out.offset - base[3], aux.offset - base[4], 0, *pw, tab_t.offset - base[5],
                  lens_t.offset - base[6], jlo]  # fmt: skip
        launch(client, kern, [bb for bb, _ in binds], words, groups)
    if split:
        _combine(client, aux, out, lse, b * h * sq, ns, d)
    return out, lse


def _combine(client: Any, part: Tensor, out: Tensor, lse: Tensor, rows: int, ns: int, d: int) -> None:
    decls = "\n".join([decl("part", 0, _dt.f32), decl("out", 1, out.dtype, "w"), decl("lse", 2, _dt.f32, "w")])
    kern = kernel(client, "wgsl/attention/combine.wgsl", "main", "rww", decls)
    binds = [window(client, t.storage, t.dtype, 0, t.numel)[0] for t in (part, out, lse)]
    launch(client, kern, binds, [rows, ns, d, 0, 0, 0, 0], rows)


def _whole(client: Any, tensors: Sequence[Tensor]) -> list[tuple[Any, int, int]] | None:
    """Whole-buffer bindings of ``tensors`` (None if one exceeds a storage binding)."""
    if any(t.storage.buffer.size > client.max_binding for t in tensors):
        return None
    return [(t.storage.buffer, 0, t.storage.buffer.size) for t in tensors]


class Packed(NamedTuple):
    """Varlen geometry for ``run_bwd``: ``cu`` the i32 ``cu_q ++ cu_k`` on the device, ``seqs`` their count."""

    cu: Tensor
    seqs: int
    max_q: int
    max_k: int


def bhsd(t: Tensor) -> list[int]:
    """Offset and (b, h, s, d) strides of a packed ``[T, H, D]`` tensor (b stride 0, s the row stride)."""
    return [t.offset, 0, t.strides[1], t.strides[0], t.strides[2]]


def run_bwd(client: Any, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
            spec: AttnSpec, slopes: Tensor | None = None,
            packed: Packed | None = None) -> tuple[Tensor, Tensor, Tensor] | None:  # fmt: skip
    """Fused backward (prep, dQ, dK/dV passes); None when a tensor cannot be bound whole.

    ``packed``: q/dout/out ``[Tq, H, D]``, k/v ``[Tk, Hkv, D]``, lse ``[H, Tq]`` (varlen, VARLEN kernels)."""
    if packed is None:
        b, h, sq, d = q.shape
        hkv, sk = k.shape[1], k.shape[2]
        nx = b * h * sq
        loc = lambda t: [t.offset, *t.strides]  # noqa: E731
        prep_geo = [nx, h, sq, d, *loc(dout), *loc(out), lse.offset, *lse.strides]
    else:
        tq, h, d = q.shape
        b, hkv, sq, sk = packed.seqs, k.shape[1], packed.max_q, packed.max_k
        nx = h * tq
        loc = bhsd
        prep_geo = [nx, h, tq, d, *bhsd(dout), *bhsd(out), lse.offset, 0, *lse.strides]
    ncu = packed.cu.numel if packed else 0
    aux = client._new((2 * nx + h + ncu,), _dt.f32)
    sl = slopes if slopes is not None else _dummy(client, 1)
    cu = packed.cu if packed else _dummy(client, 2)
    dq, dk, dv = client._new(q.shape, q.dtype), client._new(k.shape, k.dtype), client._new(v.shape, v.dtype)
    binds = _whole(client, (dout, q, k, v, out, lse, aux, dq, dk, dv, sl, cu))
    if binds is None:
        return None
    bd = dict(zip(("dout", "q", "k", "v", "out", "lse", "aux", "dq", "dk", "dv", "sl", "cu"), binds))
    sl_dt = sl.dtype if slopes is not None else _dt.f32
    decls = "\n".join([decl("dout", 0, dout.dtype), decl("out", 1, out.dtype), decl("lse", 2, lse.dtype),
                       decl("aux", 3, _dt.f32, "w"), decl("sl", 4, sl_dt), decl("cu", 5, _dt.i32)])  # fmt: skip
    prep = kernel(client, "wgsl/attention/bwd_prep.wgsl", "main", "rrrwrr", decls)
    words = [*prep_geo, 0, int(slopes is not None), sl.offset, ncu, cu.offset, 2 * nx + h]
    launch(client, prep, [bd[n] for n in ("dout", "out", "lse", "aux", "sl", "cu")], words,
           -(-max(nx, h, ncu) // 64))  # fmt: skip
    vec, limit = vec_bytes(q.dtype, client), client.limits["max-compute-workgroup-storage-size"]
    common = [0, h, hkv, sq, sk, spec.kv_len, int(spec.limited), spec.window, f32_word(spec.scale * 1.4426950408889634)]
    tail = [f32_word(spec.scale), nx]
    for t in (q, k, v, dout):
        tail += loc(t)
    cuw = [2 * nx + h, 2 * nx + h + b + 1, nx // h] if packed else []
    ins = [decl("q", 0, q.dtype), decl("k", 1, k.dtype), decl("v", 2, v.dtype), decl("dout", 3, dout.dtype),
           decl("aux", 4, _dt.f32)]  # fmt: skip
    tm = {"ST": stage_type(q.dtype, client), "ALIBI": str(slopes is not None).lower(),
          "VARLEN": str(packed is not None).lower()}  # fmt: skip
    cfg = bwd_tiles(d, vec, limit, False)
    nqb = -(-(sq * h // hkv) // cfg["BR"])
    kern = kernel(client, "wgsl/attention/flash_bwd_dq.wgsl", "main", "rrrrrw",
                  "\n".join([*ins, decl("dq", 5, dq.dtype, "w")]), **tm, **cfg)  # fmt: skip
    bufs = [bd["q"], bd["k"], bd["v"], bd["dout"], bd["aux"]]
    launch(client, kern, [*bufs, bd["dq"]], [*common, nqb, 0, b * hkv * nqb, *tail, 0, 0, 0, *cuw], b * hkv * nqb)
    cfg = bwd_tiles(d, vec, limit, True)
    nkb = -(-sk // cfg["BC"])
    outs = [decl("dk", 5, dk.dtype, "w"), decl("dv", 6, dv.dtype, "w")]
    kern = kernel(client, "wgsl/attention/flash_bwd_dkdv.wgsl", "main", "rrrrrww", "\n".join([*ins, *outs]),
                  **tm, **cfg)  # fmt: skip
    launch(client, kern, [*bufs, bd["dk"], bd["dv"]], [*common, nkb, 0, b * hkv * nkb, *tail, 0, 0, 0, *cuw],
           b * hkv * nkb)  # fmt: skip
    return dq, dk, dv


def fusable(client: Any, tensors: Sequence[Tensor]) -> bool:
    """Whether the fused kernels take these tensors (non-empty, float dtypes this adapter computes)."""
    return all(t.numel > 0 and t.dtype.is_float and work_dtype(t.dtype) is _dt.f32 for t in tensors)


class WgpuAttention(AttentionOps):
    """Overrides of the attention trait's backend hooks (subclassing the trait keeps this mixin ahead
    of it in the client's MRO)."""

    def _flash_attention_fwd(self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec) -> tuple[Tensor, Tensor]:
        if fusable(self, (q, k, v)):
            res = run_fwd(self, q, k, v, spec)
            if res is not None:
                return res
        return super()._flash_attention_fwd(q, k, v, spec)

    def _flash_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        if fusable(self, (dout, q, k, v, out)) and lse.numel and lse.dtype.is_float:
            res = run_bwd(self, dout, q, k, v, out, lse, spec)
            if res is not None:
                return res
        return super()._flash_attention_bwd(dout, q, k, v, out, lse, spec)

    def _flash_attention_fwd_alibi(
        self, q: Tensor, k: Tensor, v: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor]:
        if fusable(self, (q, k, v, slopes)):
            res = run_fwd(self, q, k, v, spec, slopes=slopes)
            if res is not None:
                return res
        return super()._flash_attention_fwd_alibi(q, k, v, slopes, spec)

    def _flash_attention_bwd_alibi(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        if fusable(self, (dout, q, k, v, out, slopes)) and lse.numel and lse.dtype.is_float:
            res = run_bwd(self, dout, q, k, v, out, lse, spec, slopes)
            if res is not None:
                return res
        return super()._flash_attention_bwd_alibi(dout, q, k, v, out, lse, slopes, spec)

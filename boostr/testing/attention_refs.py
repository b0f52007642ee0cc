"""Float64 numpy references for attention, RoPE, ALiBi and the KV-cache ops.

Written for clarity: naive softmax attention over an explicit boolean mask, RoPE
by the rotation formula, paged/varlen attention by gathering into plain arrays.

Mask convention (shared by every attention op in boostr, FlashAttention-2's
bottom-right alignment): with ``L`` valid keys (``kv_seq_len``, default ``Sk``),
query ``i`` of ``Sq`` sits at position ``p_i = i + L - Sq``. Key ``j`` is visible
iff ``j < L`` and, when ``causal``, ``j <= p_i`` and, when ``window = w > 0``,
``p_i - w < j <= p_i`` (a sliding window is always causal). A query with no
visible key gets output 0 and log-sum-exp ``-inf``.
"""

from __future__ import annotations

import math

import numpy as np

F64 = np.float64


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(F64)


def attention_mask(
    sq: int, sk: int, causal: bool = False, window: int = 0, kv_seq_len: int | None = None
) -> np.ndarray:
    """Boolean ``[sq, sk]``: True where query i may attend to key j (see the module doc)."""
    length = sk if kv_seq_len is None else kv_seq_len
    mask = np.zeros((sq, sk), dtype=bool)
    for i in range(sq):
        p = i + length - sq
        for j in range(min(sk, length)):
            ok = True
            if causal or window > 0:
                ok = j <= p
            if window > 0:
                ok = ok and j > p - window
            mask[i, j] = ok
    return mask


def attention_ref(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    causal: bool = False,
    window: int = 0,
    kv_seq_len: int | None = None,
    scale: float | None = None,
    mask: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Naive attention. q ``[B, H, Sq, D]``, k/v ``[B, Hkv, Sk, D]`` -> (out ``[B, H, Sq, D]``, lse ``[B, H, Sq]``).

    Query head ``h`` reads KV head ``h // (H // Hkv)``. ``mask`` (``[Sq, Sk]``) replaces the built one;
    ``bias`` (``[H, Sq, Sk]``, e.g. ``alibi_flash_bias_ref``) is added to the scaled scores. Value head
    dim may differ from the query/key one (``v [B, Hkv, Sk, Dv]``).
    """
    q, k, v = _f(q), _f(k), _f(v)
    b, h, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    g = h // hkv
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    if mask is None:
        mask = attention_mask(sq, sk, causal, window, kv_seq_len)
    out = np.zeros((b, h, sq, v.shape[3]))
    lse = np.full((b, h, sq), -np.inf)
    for bi in range(b):
        for hi in range(h):
            s = q[bi, hi] @ k[bi, hi // g].T * scale
            if bias is not None:
                s = s + bias[hi]
            s = np.where(mask, s, -np.inf)
            for i in range(sq):
                if not mask[i].any():
                    continue
                m = s[i].max()
                e = np.exp(s[i] - m)
                lse[bi, hi, i] = m + math.log(e.sum())
                out[bi, hi, i] = (e / e.sum()) @ v[bi, hi // g]
    return out, lse


def attention_bwd_ref(
    dout: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray, scale: float,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Analytic gradients of ``attention_ref`` (same layouts, same optional ``bias``): returns (dq, dk, dv)."""
    dout, q, k, v = _f(dout), _f(q), _f(k), _f(v)
    h, hkv = q.shape[1], k.shape[1]
    g = h // hkv
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    for bi in range(q.shape[0]):
        for hi in range(h):
            kh, vh = k[bi, hi // g], v[bi, hi // g]
            s = q[bi, hi] @ kh.T * scale + (0.0 if bias is None else bias[hi])
            s = np.where(mask, s, -np.inf)
            p = np.zeros_like(s)
            for i in range(s.shape[0]):
                if mask[i].any():
                    e = np.exp(s[i] - s[i].max())
                    p[i] = e / e.sum()
            dv[bi, hi // g] += p.T @ dout[bi, hi]
            dp = dout[bi, hi] @ vh.T
            ds = p * (dp - (dp * p).sum(-1, keepdims=True))
            dq[bi, hi] = ds @ kh * scale
            dk[bi, hi // g] += ds.T @ q[bi, hi] * scale
    return dq, dk, dv


def varlen_attention_ref(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, cu_q: list[int], cu_k: list[int], causal: bool, scale: float
) -> np.ndarray:
    """Packed attention: q ``[Tq, H, D]``, k/v ``[Tk, Hkv, D]``; sequence s spans ``cu[s]:cu[s+1]``."""
    out = np.zeros(q.shape)
    for s in range(len(cu_q) - 1):
        qs = _f(q[cu_q[s] : cu_q[s + 1]]).transpose(1, 0, 2)[None]
        ks = _f(k[cu_k[s] : cu_k[s + 1]]).transpose(1, 0, 2)[None]
        vs = _f(v[cu_k[s] : cu_k[s + 1]]).transpose(1, 0, 2)[None]
        if qs.shape[2] == 0:
            continue
        o, _ = attention_ref(qs, ks, vs, causal=causal, scale=scale)
        out[cu_q[s] : cu_q[s + 1]] = o[0].transpose(1, 0, 2)
    return out


def varlen_attention_bwd_ref(
    dout: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, cu_q: list[int], cu_k: list[int], causal: bool,
    scale: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Analytic gradients of ``varlen_attention_ref`` (packed layouts): returns (dq, dk, dv)."""
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for s in range(len(cu_q) - 1):
        q0, q1, k0, k1 = cu_q[s], cu_q[s + 1], cu_k[s], cu_k[s + 1]
        if q1 == q0 or k1 == k0:
            continue
        seq = [
            _f(a[lo:hi]).transpose(1, 0, 2)[None]
            for a, lo, hi in ((dout, q0, q1), (q, q0, q1), (k, k0, k1), (v, k0, k1))
        ]
        g = attention_bwd_ref(*seq, attention_mask(q1 - q0, k1 - k0, causal), scale)
        for dst, gi, lo, hi in ((dq, g[0], q0, q1), (dk, g[1], k0, k1), (dv, g[2], k0, k1)):
            dst[lo:hi] = gi[0].transpose(1, 0, 2)
    return dq, dk, dv


def mla_attention_ref(
    q_nope: np.ndarray, q_rope: np.ndarray, kv_latent: np.ndarray, k_rope: np.ndarray, w_uk: np.ndarray,
    w_uv: np.ndarray, causal: bool = False, scale: float | None = None, kv_seq_len: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Naive DeepSeek-V2 MLA that materializes every head's keys and values from the latent.

    ``k_h = [c @ w_uk[h]^T ; k_rope]`` ``[B, Sk, d_n + d_r]``, ``v_h = c @ w_uv[h]^T`` ``[B, Sk, d_v]``,
    ``q_h = [q_nope ; q_rope]``, then ``attention_ref`` with one KV head per query head.
    Shapes as ``mla_attention_fwd``; returns (out ``[B, H, Sq, d_v]``, lse ``[B, H, Sq]``).
    """
    c, kr = _f(kv_latent), _f(k_rope)
    h = w_uk.shape[0]
    k = np.stack([np.concatenate([c @ _f(w_uk[hh]).T, kr], -1) for hh in range(h)], 1)
    v = np.stack([c @ _f(w_uv[hh]).T for hh in range(h)], 1)
    q = np.concatenate([_f(q_nope), _f(q_rope)], -1)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[3])
    return attention_ref(q, k, v, causal=causal, kv_seq_len=kv_seq_len, scale=scale)


def paged_attention_ref(
    q: np.ndarray,
    k_blocks: np.ndarray,
    v_blocks: np.ndarray,
    block_table: np.ndarray,
    context_lens: np.ndarray,
    scale: float,
    causal: bool = True,
) -> np.ndarray:
    """q ``[B, H, Sq, D]``; blocks ``[N, bs, Hkv, D]``; table ``[B, max_blocks]``; out ``[B, H, Sq, D]``."""
    bsz = k_blocks.shape[1]
    out = np.zeros(q.shape)
    for b in range(q.shape[0]):
        n = int(context_lens[b])
        idx = [int(block_table[b, t // bsz]) * bsz + t % bsz for t in range(n)]
        kf = _f(k_blocks).reshape(-1, *k_blocks.shape[2:])[idx].transpose(1, 0, 2)[None]
        vf = _f(v_blocks).reshape(-1, *v_blocks.shape[2:])[idx].transpose(1, 0, 2)[None]
        o, _ = attention_ref(q[b : b + 1], kf, vf, causal=causal, scale=scale)
        out[b] = o[0]
    return out


# ------------------------------------------------------------------ positions
def rope_ref(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, interleaved: bool = False,
             position_ids: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Rotate pairs of ``x [B, H, S, D]`` by the angles of ``cos/sin [S_max, D/2]`` at each position.

    Split-half pairs ``(x[k], x[k + D/2])``; interleaved pairs ``(x[2k], x[2k+1])``.
    ``position_ids [B, S]`` (or ``[S]``) picks table rows; default ``0..S-1``.
    """
    x = _f(x)
    b, _, s, d = x.shape
    half = d // 2
    pos = np.broadcast_to(np.arange(s) if position_ids is None else np.asarray(position_ids), (b, s))
    out = np.empty_like(x)
    for bi in range(b):
        for si in range(s):
            c, sn = _f(cos[pos[bi, si]]), _f(sin[pos[bi, si]])
            for kk in range(half):
                i0, i1 = (2 * kk, 2 * kk + 1) if interleaved else (kk, kk + half)
                a, bb = x[bi, :, si, i0], x[bi, :, si, i1]
                out[bi, :, si, i0] = a * c[kk] - bb * sn[kk]
                out[bi, :, si, i1] = a * sn[kk] + bb * c[kk]
    return out


def alibi_slopes_ref(num_heads: int) -> np.ndarray:
    """ALiBi slopes (Press et al.): geometric ``2^(-8/n)`` series, interleaved for non-powers of 2."""

    def pow2(n: int) -> list[float]:
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(num_heads).is_integer():
        return np.array(pow2(num_heads))
    closest = 2 ** math.floor(math.log2(num_heads))
    return np.array(pow2(closest) + pow2(2 * closest)[0::2][: num_heads - closest])


def alibi_flash_bias_ref(slopes: np.ndarray, sq: int, sk: int, kv_seq_len: int | None = None) -> np.ndarray:
    """``[H, Sq, Sk]`` ALiBi bias of ``flash_attention_fwd(alibi_slopes=...)``: ``-slope_h * |p_i - j|``
    with ``p_i = i + L - Sq`` (``L = kv_seq_len``, default ``Sk``); masking is separate."""
    length = sk if kv_seq_len is None else kv_seq_len
    p = np.arange(sq)[:, None] + length - sq
    j = np.arange(sk)[None, :]
    return -_f(slopes)[:, None, None] * np.abs(p - j)[None].astype(F64)


def alibi_bias_ref(num_heads: int, sq: int, sk: int, causal: bool) -> np.ndarray:
    """``[H, Sq, Sk]`` bias ``-slope_h * (p_i - j)`` with bottom-right aligned positions; -inf above
    the diagonal when causal. Non-causal uses ``-slope * |p_i - j|``."""
    slopes = alibi_slopes_ref(num_heads)
    out = np.zeros((num_heads, sq, sk))
    for hh in range(num_heads):
        for i in range(sq):
            p = i + sk - sq
            for j in range(sk):
                if causal and j > p:
                    out[hh, i, j] = -np.inf
                else:
                    out[hh, i, j] = -slopes[hh] * abs(p - j)
    return out


# ------------------------------------------------------------ KV-cache quantization
def kv_quant_ref(x: np.ndarray, fmt: str, group: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-row (fp8_e4m3, int8) or per-group (int4) scales in float64: returns (integer codes or
    fp8-scaled values, scale, zero). fp8 codes are ``x / scale`` before the fp8 rounding."""
    x = _f(x)
    rows = x.reshape(-1, x.shape[-1])
    if fmt in ("fp8_e4m3", "int8"):
        qmax = 448.0 if fmt == "fp8_e4m3" else 127.0
        scale = np.array([(np.abs(r).max() / qmax) or 1.0 for r in rows])
        codes = rows / scale[:, None]
        if fmt == "int8":
            codes = np.clip(np.rint(codes), -127, 127)
        return codes.reshape(x.shape), scale.reshape(x.shape[:-1]), None
    g = rows.reshape(rows.shape[0], -1, group)
    zero = g.min(-1)
    scale = (g.max(-1) - zero) / 15.0
    scale[scale == 0] = 1.0
    codes = np.clip(np.rint((g - zero[..., None]) / scale[..., None]), 0, 15)
    lead = x.shape[:-1]
    return codes.reshape(x.shape), scale.reshape(*lead, -1), zero.reshape(*lead, -1)

// Shared by flash_bwd_dq.wgsl and flash_bwd_dkdv.wgsl (FlashAttention-2 backward, Dao 2023): template
// constants, the global loaders of q / k / v / dout rows as vec4, and the row statistics
// (lse2, delta) written by bwd_prep.wgsl.
// Layout: q, dout [B, H, Sq, D], k, v [B, Hkv, Sk, D] at any element strides; rows rho = i * G + g of
//   one KV head (G = H / Hkv); aux (f32): lse2 at P[34] + x, delta at P[34] + P[13] + x, x = (b H + h) Sq + i,
//   and with ALIBI the slopes (times log2 e) at P[34] + 2 P[13] + h: the score gets -slope_h |p - j| added.
// P: [1] H, [2] Hkv, [3] Sq, [4] Sk, [5] L, [6] causal, [7] window, [8] scale*log2e, [9] blocks per
//   (b, kvh), [11] workgroups, [12] scale, [13] NX = B H Sq, [14..19) q offset + strides (b, h, s, d),
//   [19..24) k, [24..29) v, [29..34) dout, [34] aux offset, [35] dq or dk offset, [36] dv offset,
//   [37] / [38] (VARLEN) aux index of cu_q / cu_k (copied there as f32 by bwd_prep.wgsl), [39] Tq.
// VARLEN (flash_attn_varlen_func): q, dout [Tq, H, D], k, v [Tk, Hkv, D] packed; "b" is the sequence s,
//   its rows cu_q[s] .. cu_q[s+1] of q and cu_k[s] .. cu_k[s+1] of k (Sq = Sk = L per sequence, the
//   b strides 0 and the s strides the packed row strides); lse2 / delta at x = h Tq + cu_q[s] + i;
//   dq [Tq, H, D], dk / dv [Tk, Hkv, D] contiguous.
#include "attn_common.wgsl"

const D: u32 = ${D}u;
const D4: u32 = D / 4u;
const D4P: u32 = D4 + 1u;
const NT: u32 = ${NT}u;
const TXA: u32 = ${TXA}u;
const TYA: u32 = NT / TXA;
const TXB: u32 = ${TXB}u;
const TYB: u32 = NT / TXB;
const DNB: u32 = (D4 + TXB - 1u) / TXB;
const ALIBI: bool = ${ALIBI};
const VARLEN: bool = ${VARLEN};

// Q, dout, K, V tiles: staged in workgroup memory when they fit (QS, OS, KS, VS), else read from global.
const QS: bool = ${QS};
const OS: bool = ${OS};
const KS: bool = ${KS};
const VS: bool = ${VS};

var<workgroup> Qs: array<vec4<${ST}>, ${QLEN}>;
var<workgroup> Os: array<vec4<${ST}>, ${OLEN}>;
var<workgroup> Ks: array<vec4<${ST}>, ${KLEN}>;
var<workgroup> Vs: array<vec4<${ST}>, ${VLEN}>;

var<workgroup> lrow: array<f32, BR>;
var<workgroup> drow: array<f32, BR>;
var<private> w_r0: u32;
var<private> w_b: u32;
var<private> w_kvh: u32;
var<private> w_g: u32;
var<private> w_rows: u32;
var<private> w_q0: u32;  // the sequence's first q row and k row (VARLEN; else 0)
var<private> w_k0: u32;
var<private> w_sq: u32;  // its query and key counts
var<private> w_sk: u32;

// set the state of work item bh = b Hkv + kvh (b: batch or sequence); returns (L, Sq, Sk) of b, computed
// from uniform values only (callers branch on them around barriers; module-scope reads are not uniform)
fn seq_init(bh: u32) -> vec3<u32> {
    let HKV = P[2];
    let b = bh / HKV;
    var q0 = 0u;
    var k0 = 0u;
    var r = vec3<u32>(P[5], P[3], P[4]);
    if (VARLEN) {
        q0 = u32(ld_aux(P[37] + b));
        k0 = u32(ld_aux(P[38] + b));
        r.y = u32(ld_aux(P[37] + b + 1u)) - q0;
        r.z = u32(ld_aux(P[38] + b + 1u)) - k0;
        r.x = r.z;
    }
    w_b = b;
    w_kvh = bh % HKV;
    w_g = P[1] / HKV;
    w_q0 = q0;
    w_k0 = k0;
    w_sq = r.y;
    w_sk = r.z;
    w_rows = r.y * w_g;
    return r;
}

fn ld4(sel: u32, base: u32, sd: u32) -> vec4<f32> {
    if (sel == 0u) { return vec4<f32>(ld_q(base), ld_q(base + sd), ld_q(base + 2u * sd), ld_q(base + 3u * sd)); }
    if (sel == 1u) { return vec4<f32>(ld_k(base), ld_k(base + sd), ld_k(base + 2u * sd), ld_k(base + 3u * sd)); }
    if (sel == 2u) { return vec4<f32>(ld_v(base), ld_v(base + sd), ld_v(base + 2u * sd), ld_v(base + 3u * sd)); }
    return vec4<f32>(ld_dout(base), ld_dout(base + sd), ld_dout(base + 2u * sd), ld_dout(base + 3u * sd));
}

// row rho of q (sel 0) or dout (sel 3), columns 4 d4 .. 4 d4 + 3; zeros past the rows
fn grow(sel: u32, rho: u32, d4: u32) -> vec4<f32> {
    if (rho >= w_rows) { return vec4<f32>(0.0); }
    let o = select(14u, 29u, sel == 3u);
    let h = w_kvh * w_g + rho % w_g;
    return ld4(sel, P[o] + w_b * P[o + 1u] + h * P[o + 2u] + (w_q0 + rho / w_g) * P[o + 3u] + 4u * d4 * P[o + 4u], P[o + 4u]);
}

// key j of k (sel 1) or v (sel 2); zeros past Sk
fn gkey(sel: u32, j: u32, d4: u32) -> vec4<f32> {
    if (j >= w_sk) { return vec4<f32>(0.0); }
    let o = select(19u, 24u, sel == 2u);
    return ld4(sel, P[o] + w_b * P[o + 1u] + w_kvh * P[o + 2u] + (w_k0 + j) * P[o + 3u] + 4u * d4 * P[o + 4u], P[o + 4u]);
}

// the ALiBi slope (log2 units) of row rho's head, 0 without ALiBi
fn slope2(rho: u32) -> f32 {
    if (!ALIBI) { return 0.0; }
    return ld_aux(P[34] + 2u * P[13] + w_kvh * w_g + min(rho, w_rows - 1u) % w_g);
}

// the aux row index of row rho
fn xrow(rho: u32) -> u32 {
    if (VARLEN) { return (w_kvh * w_g + rho % w_g) * P[39] + w_q0 + rho / w_g; }
    return (w_b * P[1] + w_kvh * w_g + rho % w_g) * P[3] + rho / w_g;
}

// the dq row index of row rho ([B, H, Sq, D] or VARLEN [Tq, H, D])
fn qrow(rho: u32) -> u32 {
    if (VARLEN) { return (w_q0 + rho / w_g) * P[1] + w_kvh * w_g + rho % w_g; }
    return xrow(rho);
}

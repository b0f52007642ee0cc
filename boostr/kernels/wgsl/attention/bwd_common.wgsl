// Shared by flash_bwd_dq.wgsl and flash_bwd_dkdv.wgsl (FlashAttention-2 backward, Dao 2023): template
// constants, the global loaders of q / k / v / dout rows as vec4, and the row statistics
// (lse2, delta) written by bwd_prep.wgsl.
// Layout: q, dout [B, H, Sq, D], k, v [B, Hkv, Sk, D] at any element strides; rows rho = i * G + g of
//   one KV head (G = H / Hkv); aux (f32): lse2 at P[34] + x, delta at P[34] + P[13] + x, x = (b H + h) Sq + i,
//   and with ALIBI the slopes (times log2 e) at P[34] + 2 P[13] + h: the score gets -slope_h |p - j| added.
// P: [1] H, [2] Hkv, [3] Sq, [4] Sk, [5] L, [6] causal, [7] window, [8] scale*log2e, [9] blocks per
//   (b, kvh), [11] workgroups, [12] scale, [13] NX = B H Sq, [14..19) q offset + strides (b, h, s, d),
//   [19..24) k, [24..29) v, [29..34) dout, [34] aux offset, [35] dq or dk offset, [36] dv offset.
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
    return ld4(sel, P[o] + w_b * P[o + 1u] + h * P[o + 2u] + (rho / w_g) * P[o + 3u] + 4u * d4 * P[o + 4u], P[o + 4u]);
}

// key j of k (sel 1) or v (sel 2); zeros past Sk
fn gkey(sel: u32, j: u32, d4: u32) -> vec4<f32> {
    if (j >= P[4]) { return vec4<f32>(0.0); }
    let o = select(19u, 24u, sel == 2u);
    return ld4(sel, P[o] + w_b * P[o + 1u] + w_kvh * P[o + 2u] + j * P[o + 3u] + 4u * d4 * P[o + 4u], P[o + 4u]);
}

// the ALiBi slope (log2 units) of row rho's head, 0 without ALiBi
fn slope2(rho: u32) -> f32 {
    if (!ALIBI) { return 0.0; }
    return ld_aux(P[34] + 2u * P[13] + w_kvh * w_g + min(rho, w_rows - 1u) % w_g);
}

// the aux row index of row rho
fn xrow(rho: u32) -> u32 {
    return (w_b * P[1] + w_kvh * w_g + rho % w_g) * P[3] + rho / w_g;
}

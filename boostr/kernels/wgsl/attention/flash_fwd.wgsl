// FlashAttention-2 forward (Dao 2023, "FlashAttention-2: Faster Attention with Better Parallelism and
// Work Partitioning"), with flash decoding (keys split across workgroups, see combine.wgsl) and
// paged keys (vLLM's PagedAttention, Kwon et al. 2023).
// Formula, per row r and key tile (scores in log2 units, s = q.k * scale * log2 e, masked -> NEG):
//   m' = max(m, rowmax s); p = 2^(s - m'); l = l 2^(m - m') + rowsum p; o = o 2^(m - m') + p V;
//   out = o / l, lse = ln 2 (m + log2 l); a row that sees no key gets out 0 and lse -inf.
// Layout: q [B, H, Sq, D], k/v [B, Hkv, Sk, D] at any element strides; PAGED: k/v are blocks
//   [N, bs, Hkv, D] and key t of sequence b is row tab[b, t / bs] * bs + t % bs with L = lens[b].
//   A workgroup takes BR rows rho = i * G + g (query i, head g of the G = H / Hkv heads of one KV
//   head), so each K/V tile is read once for the G heads (GQA). out [B, H, Sq, D] contiguous;
//   aux (f32): lse [B, H, Sq], or with SPLIT the partial of split s of row x = (b H + h) Sq + i as a
//   record (m, l, o[0..D)) of D + 2 floats at P[30] + (x NS + s) (D + 2).
// Threads: phase A (scores, kept in registers) rows ta + TYA*i, keys xa + TXA*j; each thread's row
//   maxima meet in workgroup memory, then every thread exponentiates its own scores; phase B (p V)
//   rows tb + TYB*i, vec4 columns xb + TXB*c, also summing l. Q and K/V tiles sit in workgroup memory
//   (QS, KS) when they fit the adapter's limit, else they are read from global memory; the next K / V
//   tile is fetched into registers while the current one is used (KPT vec4 per thread).
// P: [1] H, [2] Hkv, [3] Sq, [5] L, [6] causal, [7] window, [8] scale*log2e (f32 bits), [9] row blocks,
//   [10] first (b, kvh), [11] workgroups, [12] NS, [13] keys per split, [14..19) q offset + strides
//   (b, h, s, d), [19..24) k, [24..29) v (PAGED: block, head, slot, d strides), [29] out offset,
//   [30] aux offset, [32] bs, [33] blocks per sequence, [34] N, [35] tab offset,
//   [36] lens offset (ALIBI: offset of the f32 slopes [H] bound in the lens slot), [37] first key (split
//   decode). ALIBI (FlashAttention-2's alibi_slopes): the scaled score gets -slope_h |p - j| added.
// VARLEN (FlashAttention-2's flash_attn_varlen_func): q [Tq, H, D], k/v [Tk, Hkv, D] packed; "b" is the
//   sequence s, whose rows are cu_q[s] .. cu_q[s+1] of q and cu_k[s] .. cu_k[s+1] of k/v (Sq and L per
//   sequence, the mask bottom-right aligned in each); the i32 cu_q [S + 1] sits in the tab slot at P[35],
//   cu_k at P[38]; q/k/v b strides are 0 and their s strides the packed row strides. out [Tq, H, D] and
//   lse [H, Tq] (P[39] = Tq) contiguous. A workgroup whose row block is past its sequence returns.
#include "attn_common.wgsl"
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const D: u32 = ${D}u;
const D4: u32 = D / 4u;
const D4P: u32 = D4 + 1u;  // padded row stride (vec4) of the staged tiles
const BR: u32 = ${BR}u;
const BC: u32 = ${BC}u;
const BCP: u32 = BC + 1u;
const NT: u32 = ${NT}u;
const TXA: u32 = ${TXA}u;
const TYA: u32 = NT / TXA;
const TXB: u32 = ${TXB}u;
const TYB: u32 = NT / TXB;
const RMA: u32 = BR / TYA;
const CNA: u32 = BC / TXA;
const RMB: u32 = BR / TYB;
const DNB: u32 = (D4 + TXB - 1u) / TXB;
const QS: bool = ${QS};
const KS: bool = ${KS};
const SPLIT: bool = ${SPLIT};
const PAGED: bool = ${PAGED};
const ALIBI: bool = ${ALIBI};
const VARLEN: bool = ${VARLEN};

var<workgroup> Qs: array<vec4<${ST}>, ${QLEN}>;
var<workgroup> KVs: array<vec4<${ST}>, ${KLEN}>;
const KPT: u32 = (BC * D4 + NT - 1u) / NT;
var<workgroup> Ps: array<f32, BR * BCP>;
var<workgroup> red: array<f32, BR * TXA>;
var<workgroup> mrow: array<f32, 2u * BR>;  // running max, ping-pong by tile parity
var<workgroup> arow: array<f32, BR>;

var<private> w_b: u32;
var<private> w_kvh: u32;
var<private> w_r0: u32;
var<private> w_rows: u32;
var<private> w_g: u32;
var<private> w_jend: i32;
var<private> w_q0: u32;  // VARLEN: the sequence's first q row and k row
var<private> w_k0: u32;

fn ld4(sel: u32, base: u32, sd: u32) -> vec4<f32> {
    if (sel == 0u) { return vec4<f32>(ld_q(base), ld_q(base + sd), ld_q(base + 2u * sd), ld_q(base + 3u * sd)); }
    if (sel == 1u) { return vec4<f32>(ld_k(base), ld_k(base + sd), ld_k(base + 2u * sd), ld_k(base + 3u * sd)); }
    return vec4<f32>(ld_v(base), ld_v(base + sd), ld_v(base + 2u * sd), ld_v(base + 3u * sd));
}

// q row rho of this workgroup's (b, kvh), columns 4 d4 .. 4 d4 + 3 (zeros past the rows)
fn gq(rho: u32, d4: u32) -> vec4<f32> {
    if (rho >= w_rows) { return vec4<f32>(0.0); }
    let h = w_kvh * w_g + rho % w_g;
    return ld4(0u, P[14] + w_b * P[15] + h * P[16] + (w_q0 + rho / w_g) * P[17] + 4u * d4 * P[18], P[18]);
}

// key (sel 1) or value (sel 2) j, columns 4 d4 .. 4 d4 + 3 (zeros at and past the end of the range)
fn gkv(sel: u32, j: i32, d4: u32) -> vec4<f32> {
    if (j >= w_jend) { return vec4<f32>(0.0); }
    let o = select(19u, 24u, sel == 2u);
    var row: u32;
    if (PAGED) {
        let ju = u32(j);
        let blk = u32(clamp(ld_tab(P[35] + w_b * P[33] + min(ju / P[32], P[33] - 1u)), 0, i32(P[34]) - 1));
        row = blk * P[o + 1u] + (ju % P[32]) * P[o + 3u];
    } else {
        row = w_b * P[o + 1u] + (w_k0 + u32(j)) * P[o + 3u];
    }
    return ld4(sel, P[o] + row + w_kvh * P[o + 2u] + 4u * d4 * P[o + 4u], P[o + 4u]);
}

fn lq(r: u32, d4: u32) -> vec4<f32> {
    if (QS) { return vec4<f32>(Qs[r * D4P + d4]); }
    return gq(w_r0 + r, d4);
}

fn lkv(sel: u32, c: u32, j0: i32, d4: u32) -> vec4<f32> {
    if (KS) { return vec4<f32>(KVs[c * D4P + d4]); }
    return gkv(sel, j0 + i32(c), d4);
}

fn fetch_kv(sel: u32, j0: i32, t: u32) -> array<vec4<f32>, KPT> {
    var r: array<vec4<f32>, KPT>;
    for (var u = 0u; u < KPT; u = u + 1u) {
        let e = t + u * NT;
        r[u] = vec4<f32>(0.0);
        if (e < BC * D4) { r[u] = gkv(sel, j0 + i32(e / D4), e % D4); }
    }
    return r;
}

fn put_kv(r: array<vec4<f32>, KPT>, t: u32) {
    for (var u = 0u; u < KPT; u = u + 1u) {
        let e = t + u * NT;
        if (e < BC * D4) { KVs[(e / D4) * D4P + e % D4] = vec4<${ST}>(r[u]); }
    }
}

@compute @workgroup_size(NT)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[11]) { return; }
    let H = P[1];
    let HKV = P[2];
    var SQ = P[3];
    let G = H / HKV;
    let NS = P[12];
    let sp = lw % NS;
    let tt = lw / NS;
    let qb = P[9] - 1u - tt % P[9];  // the last (longest, when causal) row blocks start first
    let bh = P[10] + tt / P[9];
    w_b = bh / HKV;
    w_kvh = bh % HKV;
    w_g = G;
    w_r0 = qb * BR;
    var L = i32(P[5]);
    if (PAGED) { L = clamp(ld_lens(P[36] + w_b), 0, i32(P[33] * P[32])); }
    w_q0 = 0u;
    w_k0 = 0u;
    if (VARLEN) {
        let q0 = ld_tab(P[35] + bh / HKV);
        let k0 = ld_tab(P[38] + bh / HKV);
        SQ = u32(ld_tab(P[35] + bh / HKV + 1u) - q0);
        L = ld_tab(P[38] + bh / HKV + 1u) - k0;
        w_q0 = u32(q0);
        w_k0 = u32(k0);
        if (qb * BR >= SQ * G) { return; }
    }
    w_rows = SQ * G;
    let off = L - i32(SQ);
    let limited = P[6] != 0u;
    let win = i32(P[7]);
    let r1 = min(w_rows, w_r0 + BR);
    let i0 = i32(w_r0 / G);
    let i1 = i32((r1 - 1u) / G) + 1;
    var jhi = L;
    if (limited) { jhi = min(L, i1 + off); }
    var jlo = 0;
    if (win > 0) { jlo = max(0, i0 + off - win + 1); }
    jhi = max(jlo, jhi);
    if (SPLIT) {
        jlo = max(jlo, i32(P[37]) + i32(sp * P[13]));
        jhi = min(jhi, i32(P[37]) + i32((sp + 1u) * P[13]));
    }
    w_jend = jhi;
    let scale2 = bitcast<f32>(P[8]);
    if (QS) {
        for (var e = t; e < BR * D4; e = e + NT) {
            Qs[(e / D4) * D4P + e % D4] = vec4<${ST}>(gq(w_r0 + e / D4, e % D4));
        }
    }
    for (var r = t; r < BR; r = r + NT) { mrow[r] = NEG; }
    let ta = t / TXA;
    let xa = t % TXA;
    let tb = t / TXB;
    let xb = t % TXB;
    var o: array<vec4<f32>, RMB * DNB>;
    var l: array<f32, RMB>;
    for (var k = 0u; k < RMB * DNB; k = k + 1u) { o[k] = vec4<f32>(0.0); }
    for (var i = 0u; i < RMB; i = i + 1u) { l[i] = 0.0; }
    var kreg: array<vec4<f32>, KPT>;
    if (KS) { kreg = fetch_kv(1u, jlo, t); }
    var par = 0u;
    workgroupBarrier();
    for (var j0 = jlo; j0 < jhi; j0 = j0 + i32(BC)) {
        if (KS) { put_kv(kreg, t); }
        workgroupBarrier();
        var vreg: array<vec4<f32>, KPT>;
        if (KS) { vreg = fetch_kv(2u, j0, t); }  // in flight during the scores
        // phase A: scores of rows ta + TYA i and keys xa + TXA j, and each thread's row maxima
        var s: array<f32, RMA * CNA>;
        for (var k = 0u; k < RMA * CNA; k = k + 1u) { s[k] = 0.0; }
        for (var d4 = 0u; d4 < D4; d4 = d4 + 1u) {
            var qv: array<vec4<f32>, RMA>;
            for (var i = 0u; i < RMA; i = i + 1u) { qv[i] = lq(ta + TYA * i, d4); }
            for (var j = 0u; j < CNA; j = j + 1u) {
                let kv = lkv(1u, xa + TXA * j, j0, d4);
                for (var i = 0u; i < RMA; i = i + 1u) { s[i * CNA + j] = s[i * CNA + j] + dot(qv[i], kv); }
            }
        }
        for (var i = 0u; i < RMA; i = i + 1u) {
            let r = ta + TYA * i;
            let p = i32((w_r0 + r) / G) + off;
            var slope = 0.0;
            if (ALIBI) { slope = bitcast<f32>(ld_lens(P[36] + w_kvh * G + min(w_r0 + r, w_rows - 1u) % G)) * LOG2E; }
            var mt = NEG;
            for (var j = 0u; j < CNA; j = j + 1u) {
                let jj = j0 + i32(xa + TXA * j);
                let vis = w_r0 + r < w_rows && jj < jhi && visible(p, jj, L, limited, win);
                let sb = s[i * CNA + j] * scale2 - slope * abs(f32(p - jj));
                s[i * CNA + j] = select(NEG, sb, vis);
                mt = max(mt, s[i * CNA + j]);
            }
            red[r * TXA + xa] = mt;
        }
        workgroupBarrier();
        // softmax: the new row max from the TXA partial maxima, p = 2^(s - m') of this thread's scores
        for (var i = 0u; i < RMA; i = i + 1u) {
            let r = ta + TYA * i;
            var mt = NEG;
            for (var x = 0u; x < TXA; x = x + 1u) { mt = max(mt, red[r * TXA + x]); }
            let mo = mrow[par * BR + r];
            let mn = max(mo, mt);
            for (var j = 0u; j < CNA; j = j + 1u) {
                Ps[r * BCP + xa + TXA * j] = select(0.0, exp2(s[i * CNA + j] - mn), mn > NEG);
            }
            if (xa == 0u) {
                mrow[(1u - par) * BR + r] = mn;
                arow[r] = exp2(mo - mn);
            }
        }
        if (KS) { put_kv(vreg, t); }  // every thread is past its K reads (barrier above)
        workgroupBarrier();
        if (KS && j0 + i32(BC) < jhi) { kreg = fetch_kv(1u, j0 + i32(BC), t); }  // in flight during p V
        // phase B: o = o * alpha + p V and l = l * alpha + rowsum p for rows tb + TYB i, vec4 columns xb + TXB n
        for (var i = 0u; i < RMB; i = i + 1u) {
            let al = arow[tb + TYB * i];
            l[i] = l[i] * al;
            for (var n = 0u; n < DNB; n = n + 1u) { o[i * DNB + n] = o[i * DNB + n] * al; }
        }
        for (var c = 0u; c < BC; c = c + 1u) {
            var vv: array<vec4<f32>, DNB>;
            for (var n = 0u; n < DNB; n = n + 1u) {
                vv[n] = vec4<f32>(0.0);
                if (xb + TXB * n < D4) { vv[n] = lkv(2u, c, j0, xb + TXB * n); }
            }
            for (var i = 0u; i < RMB; i = i + 1u) {
                let pv = Ps[(tb + TYB * i) * BCP + c];
                l[i] = l[i] + pv;
                for (var n = 0u; n < DNB; n = n + 1u) { o[i * DNB + n] = o[i * DNB + n] + pv * vv[n]; }
            }
        }
        par = 1u - par;
        workgroupBarrier();
    }
    for (var i = 0u; i < RMB; i = i + 1u) {
        let r = tb + TYB * i;
        let rho = w_r0 + r;
        if (rho < w_rows) {
            let hh = w_kvh * G + rho % G;
            var x = (w_b * H + hh) * SQ + rho / G;  // dense: the out row and the lse index
            var xl = x;
            if (VARLEN) {
                x = (w_q0 + rho / G) * H + hh;
                xl = hh * P[39] + w_q0 + rho / G;
            }
            let m = mrow[par * BR + r];
            let li = l[i];
            if (SPLIT) {
                let ps = P[30] + (x * NS + sp) * (D + 2u);
                if (xb == 0u) {
                    st_aux(ps, m);
                    st_aux(ps + 1u, li);
                }
                for (var n = 0u; n < DNB; n = n + 1u) {
                    let c4 = xb + TXB * n;
                    if (c4 < D4) {
                        for (var e = 0u; e < 4u; e = e + 1u) { st_aux(ps + 2u + 4u * c4 + e, o[i * DNB + n][e]); }
                    }
                }
            } else {
                let inv = select(0.0, 1.0 / li, li > 0.0);
                for (var n = 0u; n < DNB; n = n + 1u) {
                    let c4 = xb + TXB * n;
                    if (c4 < D4) {
                        let ob = P[29] + x * D + 4u * c4;
                        for (var e = 0u; e < 4u; e = e + 1u) { st_out(ob + e, o[i * DNB + n][e] * inv); }
                    }
                }
                if (xb == 0u) { st_aux(P[30] + xl, select(neg_inf(), (m + log2(li)) * LN2, li > 0.0)); }
            }
        }
    }
}

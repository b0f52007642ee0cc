// FlashAttention-2 backward, dK/dV pass (Dao 2023, Algorithm 2): for a block of BC keys, loop over the
// query rows that can see them; per row tile (transposed scores, keys are the rows here)
//   p = 2^(k.q * scale * log2 e - lse2) (0 where masked), dp = v . dout, ds = p (dp - delta),
//   dv += p dout, dk += ds q; finally dk *= scale. The G query heads of the KV head are rows too
//   (rho = i * G + g), so their contributions sum without atomics.
// Layout: see bwd_common.wgsl; dk, dv [B, Hkv, Sk, D] contiguous at P[35], P[36] (k's, v's dtype).
//   One workgroup per (b, kvh, block of BC keys). Phase A keys ta + TYA*i, rows xa + TXA*j;
//   phase B keys tb + TYB*i, vec4 columns xb + TXB*n. Tiles staged in workgroup memory when they
//   fit (QS, OS, KS, VS), else read from global memory.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
#include "bwd_common.wgsl"
const BR: u32 = ${BR}u;
const BC: u32 = ${BC}u;
const BRP: u32 = BR + 1u;
const RMA: u32 = BC / TYA;
const CNA: u32 = BR / TXA;
const RMB: u32 = BC / TYB;
var<workgroup> Pt: array<f32, BC * BRP>;
var<workgroup> Dt: array<f32, BC * BRP>;
var<private> w_c0: u32;

fn lrow4(sel: u32, r: u32, d4: u32) -> vec4<f32> {
    if (sel == 0u && QS) { return vec4<f32>(Qs[r * D4P + d4]); }
    if (sel == 3u && OS) { return vec4<f32>(Os[r * D4P + d4]); }
    return grow(sel, w_r0 + r, d4);
}

fn lkey4(sel: u32, c: u32, d4: u32) -> vec4<f32> {
    if (sel == 1u && KS) { return vec4<f32>(Ks[c * D4P + d4]); }
    if (sel == 2u && VS) { return vec4<f32>(Vs[c * D4P + d4]); }
    return gkey(sel, w_c0 + c, d4);
}

@compute @workgroup_size(NT)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[11]) { return; }
    let HKV = P[2];
    let G = P[1] / HKV;
    let sz = seq_init(P[10] + lw / P[9]);
    if ((lw % P[9]) * BC >= sz.z) { return; }  // VARLEN: past this sequence's keys
    w_c0 = (lw % P[9]) * BC;
    let L = i32(sz.x);
    let SQ = i32(sz.y);
    let off = L - SQ;
    let limited = P[6] != 0u;
    let win = i32(P[7]);
    let c1 = min(i32(w_c0 + BC), L);
    var ilo = 0;
    var ihi = select(0, SQ, i32(w_c0) < L);
    if (limited) { ilo = max(0, i32(w_c0) - off); }
    if (win > 0) { ihi = min(ihi, c1 - 1 - off + win); }
    let rlo = u32(clamp(ilo, 0, SQ)) * G;
    let rhi = u32(clamp(ihi, 0, SQ)) * G;
    for (var e = t; e < BC * D4; e = e + NT) {
        let c = e / D4;
        if (KS) { Ks[c * D4P + e % D4] = vec4<${ST}>(gkey(1u, w_c0 + c, e % D4)); }
        if (VS) { Vs[c * D4P + e % D4] = vec4<${ST}>(gkey(2u, w_c0 + c, e % D4)); }
    }
    let scale2 = bitcast<f32>(P[8]);
    let ta = t / TXA;
    let xa = t % TXA;
    let tb = t / TXB;
    let xb = t % TXB;
    var dk: array<vec4<f32>, RMB * DNB>;
    var dv: array<vec4<f32>, RMB * DNB>;
    for (var k = 0u; k < RMB * DNB; k = k + 1u) {
        dk[k] = vec4<f32>(0.0);
        dv[k] = vec4<f32>(0.0);
    }
    for (var r0 = rlo; r0 < rhi; r0 = r0 + BR) {
        w_r0 = r0;
        for (var e = t; e < BR * D4; e = e + NT) {
            let r = e / D4;
            if (QS) { Qs[r * D4P + e % D4] = vec4<${ST}>(grow(0u, r0 + r, e % D4)); }
            if (OS) { Os[r * D4P + e % D4] = vec4<${ST}>(grow(3u, r0 + r, e % D4)); }
        }
        for (var r = t; r < BR; r = r + NT) {
            let ok = r0 + r < rhi;
            let x = xrow(min(r0 + r, w_rows - 1u));
            lrow[r] = select(0.0, ld_aux(P[34] + x), ok);
            drow[r] = select(0.0, ld_aux(P[34] + P[13] + x), ok);
        }
        workgroupBarrier();
        var s: array<f32, RMA * CNA>;
        var dp: array<f32, RMA * CNA>;
        for (var k = 0u; k < RMA * CNA; k = k + 1u) {
            s[k] = 0.0;
            dp[k] = 0.0;
        }
        for (var d4 = 0u; d4 < D4; d4 = d4 + 1u) {
            var kv: array<vec4<f32>, RMA>;
            var vv: array<vec4<f32>, RMA>;
            for (var i = 0u; i < RMA; i = i + 1u) {
                kv[i] = lkey4(1u, ta + TYA * i, d4);
                vv[i] = lkey4(2u, ta + TYA * i, d4);
            }
            for (var j = 0u; j < CNA; j = j + 1u) {
                let qv = lrow4(0u, xa + TXA * j, d4);
                let ov = lrow4(3u, xa + TXA * j, d4);
                for (var i = 0u; i < RMA; i = i + 1u) {
                    s[i * CNA + j] = s[i * CNA + j] + dot(kv[i], qv);
                    dp[i * CNA + j] = dp[i * CNA + j] + dot(vv[i], ov);
                }
            }
        }
        for (var j = 0u; j < CNA; j = j + 1u) {
            let r = xa + TXA * j;
            let p = i32((r0 + r) / G) + off;
            let sl = slope2(r0 + r);
            for (var i = 0u; i < RMA; i = i + 1u) {
                let c = ta + TYA * i;
                let jj = i32(w_c0 + c);
                let vis = r0 + r < rhi && visible(p, jj, L, limited, win);
                let pr = select(0.0, exp2(s[i * CNA + j] * scale2 - sl * abs(f32(p - jj)) - lrow[r]), vis);
                Pt[c * BRP + r] = pr;
                Dt[c * BRP + r] = pr * (dp[i * CNA + j] - drow[r]);
            }
        }
        workgroupBarrier();
        for (var r = 0u; r < BR; r = r + 1u) {
            var ov: array<vec4<f32>, DNB>;
            var qv: array<vec4<f32>, DNB>;
            for (var n = 0u; n < DNB; n = n + 1u) {
                ov[n] = vec4<f32>(0.0);
                qv[n] = vec4<f32>(0.0);
                if (xb + TXB * n < D4) {
                    ov[n] = lrow4(3u, r, xb + TXB * n);
                    qv[n] = lrow4(0u, r, xb + TXB * n);
                }
            }
            for (var i = 0u; i < RMB; i = i + 1u) {
                let c = tb + TYB * i;
                let pr = Pt[c * BRP + r];
                let ds = Dt[c * BRP + r];
                for (var n = 0u; n < DNB; n = n + 1u) {
                    dv[i * DNB + n] = dv[i * DNB + n] + pr * ov[n];
                    dk[i * DNB + n] = dk[i * DNB + n] + ds * qv[n];
                }
            }
        }
        workgroupBarrier();
    }
    let sc = bitcast<f32>(P[12]);
    let SK = w_sk;
    for (var i = 0u; i < RMB; i = i + 1u) {
        let j = w_c0 + tb + TYB * i;
        if (j < SK) {
            var x = (w_b * HKV + w_kvh) * SK + j;
            if (VARLEN) { x = (w_k0 + j) * HKV + w_kvh; }
            for (var n = 0u; n < DNB; n = n + 1u) {
                let c4 = xb + TXB * n;
                if (c4 < D4) {
                    for (var e = 0u; e < 4u; e = e + 1u) {
                        st_dk(P[35] + x * D + 4u * c4 + e, dk[i * DNB + n][e] * sc);
                        st_dv(P[36] + x * D + 4u * c4 + e, dv[i * DNB + n][e]);
                    }
                }
            }
        }
    }
}

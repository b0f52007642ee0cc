// FlashAttention-2 backward, dQ pass (Dao 2023, Algorithm 2, with the dQ loop as its own kernel
// instead of atomics): for a block of BR rows and each key tile,
//   p = 2^(q.k * scale * log2 e - lse2) (0 where masked), dp = dout . v, ds = p (dp - delta),
//   dq += ds k; finally dq *= scale.
// Layout: see bwd_common.wgsl; dq [B, H, Sq, D] contiguous at P[35] (q's dtype). One workgroup per
//   (b, kvh, block of BR rows rho = i * G + g). Phase A (scores) rows ta + TYA*i, keys xa + TXA*j;
//   phase B (ds k) rows tb + TYB*i, vec4 columns xb + TXB*n. Q, dout, K, V tiles sit in workgroup
//   memory when they fit (QS, OS, KS, VS), else they are read from global memory.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
#include "bwd_common.wgsl"
const BR: u32 = ${BR}u;
const BC: u32 = ${BC}u;
const BCP: u32 = BC + 1u;
const RMA: u32 = BR / TYA;
const CNA: u32 = BC / TXA;
const RMB: u32 = BR / TYB;
var<workgroup> Ss: array<f32, BR * BCP>;

fn lrow4(sel: u32, r: u32, d4: u32) -> vec4<f32> {
    if (sel == 0u && QS) { return vec4<f32>(Qs[r * D4P + d4]); }
    if (sel == 3u && OS) { return vec4<f32>(Os[r * D4P + d4]); }
    return grow(sel, w_r0 + r, d4);
}

fn lkey4(sel: u32, c: u32, j0: u32, d4: u32) -> vec4<f32> {
    if (sel == 1u && KS) { return vec4<f32>(Ks[c * D4P + d4]); }
    if (sel == 2u && VS) { return vec4<f32>(Vs[c * D4P + d4]); }
    return gkey(sel, j0 + c, d4);
}

@compute @workgroup_size(NT)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[11]) { return; }
    let G = P[1] / P[2];
    let qb = P[9] - 1u - lw % P[9];
    let sz = seq_init(P[10] + lw / P[9]);
    if (qb * BR >= sz.y * G) { return; }  // VARLEN: past this sequence's rows
    w_r0 = qb * BR;
    let L = i32(sz.x);
    let off = L - i32(sz.y);
    let limited = P[6] != 0u;
    let win = i32(P[7]);
    let r1 = min(w_rows, w_r0 + BR);
    var jhi = L;
    if (limited) { jhi = min(L, i32((r1 - 1u) / G) + 1 + off); }
    var jlo = 0;
    if (win > 0) { jlo = max(0, i32(w_r0 / G) + off - win + 1); }
    for (var e = t; e < BR * D4; e = e + NT) {
        let r = e / D4;
        if (QS) { Qs[r * D4P + e % D4] = vec4<${ST}>(grow(0u, w_r0 + r, e % D4)); }
        if (OS) { Os[r * D4P + e % D4] = vec4<${ST}>(grow(3u, w_r0 + r, e % D4)); }
    }
    for (var r = t; r < BR; r = r + NT) {
        let rho = w_r0 + r;
        let ok = rho < w_rows;
        let x = xrow(min(rho, w_rows - 1u));
        lrow[r] = select(0.0, ld_aux(P[34] + x), ok);
        drow[r] = select(0.0, ld_aux(P[34] + P[13] + x), ok);
    }
    let scale2 = bitcast<f32>(P[8]);
    let ta = t / TXA;
    let xa = t % TXA;
    let tb = t / TXB;
    let xb = t % TXB;
    var acc: array<vec4<f32>, RMB * DNB>;
    for (var k = 0u; k < RMB * DNB; k = k + 1u) { acc[k] = vec4<f32>(0.0); }
    for (var j0 = jlo; j0 < jhi; j0 = j0 + i32(BC)) {
        let j0u = u32(j0);
        for (var e = t; e < BC * D4; e = e + NT) {
            let c = e / D4;
            if (KS) { Ks[c * D4P + e % D4] = vec4<${ST}>(gkey(1u, j0u + c, e % D4)); }
            if (VS) { Vs[c * D4P + e % D4] = vec4<${ST}>(gkey(2u, j0u + c, e % D4)); }
        }
        workgroupBarrier();
        var s: array<f32, RMA * CNA>;
        var dp: array<f32, RMA * CNA>;
        for (var k = 0u; k < RMA * CNA; k = k + 1u) {
            s[k] = 0.0;
            dp[k] = 0.0;
        }
        for (var d4 = 0u; d4 < D4; d4 = d4 + 1u) {
            var qv: array<vec4<f32>, RMA>;
            var ov: array<vec4<f32>, RMA>;
            for (var i = 0u; i < RMA; i = i + 1u) {
                qv[i] = lrow4(0u, ta + TYA * i, d4);
                ov[i] = lrow4(3u, ta + TYA * i, d4);
            }
            for (var j = 0u; j < CNA; j = j + 1u) {
                let kv = lkey4(1u, xa + TXA * j, j0u, d4);
                let vv = lkey4(2u, xa + TXA * j, j0u, d4);
                for (var i = 0u; i < RMA; i = i + 1u) {
                    s[i * CNA + j] = s[i * CNA + j] + dot(qv[i], kv);
                    dp[i * CNA + j] = dp[i * CNA + j] + dot(ov[i], vv);
                }
            }
        }
        for (var i = 0u; i < RMA; i = i + 1u) {
            let r = ta + TYA * i;
            let p = i32((w_r0 + r) / G) + off;
            let sl = slope2(w_r0 + r);
            for (var j = 0u; j < CNA; j = j + 1u) {
                let c = xa + TXA * j;
                let jj = j0 + i32(c);
                let vis = w_r0 + r < w_rows && jj < jhi && visible(p, jj, L, limited, win);
                let pr = select(0.0, exp2(s[i * CNA + j] * scale2 - sl * abs(f32(p - jj)) - lrow[r]), vis);
                Ss[r * BCP + c] = pr * (dp[i * CNA + j] - drow[r]);
            }
        }
        workgroupBarrier();
        for (var c = 0u; c < BC; c = c + 1u) {
            var kv: array<vec4<f32>, DNB>;
            for (var n = 0u; n < DNB; n = n + 1u) {
                kv[n] = vec4<f32>(0.0);
                if (xb + TXB * n < D4) { kv[n] = lkey4(1u, c, j0u, xb + TXB * n); }
            }
            for (var i = 0u; i < RMB; i = i + 1u) {
                let ds = Ss[(tb + TYB * i) * BCP + c];
                for (var n = 0u; n < DNB; n = n + 1u) { acc[i * DNB + n] = acc[i * DNB + n] + ds * kv[n]; }
            }
        }
        workgroupBarrier();
    }
    let sc = bitcast<f32>(P[12]);
    for (var i = 0u; i < RMB; i = i + 1u) {
        let rho = w_r0 + tb + TYB * i;
        if (rho < w_rows) {
            let x = qrow(rho);
            for (var n = 0u; n < DNB; n = n + 1u) {
                let c4 = xb + TXB * n;
                if (c4 < D4) {
                    let ob = P[35] + x * D + 4u * c4;
                    for (var e = 0u; e < 4u; e = e + 1u) { st_dq(ob + e, acc[i * DNB + n][e] * sc); }
                }
            }
        }
    }
}

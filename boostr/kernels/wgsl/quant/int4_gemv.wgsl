// 4-bit GEMV (small M): out[m, n] = sum_k x[m, k] * W[n, k] for M <= MB rows, f32 accumulation,
// W decoded 8 weights at a time in registers (`${DEC}` of int4.wgsl), never written out.
// 256 threads = RPW output columns x TPK threads along K. NFAST (AWQ, GPTQ: W is K-major, so
// neighbouring columns share or neighbour words): lanes run along n, tk = lid / RPW; otherwise
// (NF4: rows are contiguous) lanes run along K, tn = lid / TPK. Thread (tn, tk) takes chunks
// tk, tk + TPK, ... of column n; the TPK partial sums meet in workgroup memory.
// Layout: X f32 [M, K] as vec4 from vec4 P[10] (K % 8 == 0); out [M, N] at element P[11], row
// stride P[12]; P[9] = M (<= MB); P[0..8] as int4.wgsl.
// Reference: AutoAWQ gemv_cuda (8 columns a word), exllama q4_matmul, llama.cpp mmvq.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const MB: u32 = ${MB}u;
const TPK: u32 = ${TPK}u;
const RPW: u32 = 256u / TPK;
const NFAST: bool = ${NFAST};
var<workgroup> red: array<f32, ${RED}>;

#include "int4.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    var tn = lid.x / TPK;
    var tk = lid.x % TPK;
    if (NFAST) {
        tn = lid.x % RPW;
        tk = lid.x / RPW;
    }
    let n = (wid.x + wid.y * nwg.x) * RPW + tn;
    let M = P[9];
    let K4 = P[1] / 4u;
    let cpr = P[1] / 8u;
    var acc: array<f32, MB>;
    if (n < P[0]) {
        for (var c = tk; c < cpr; c = c + TPK) {
            ${DEC}(n, c);
            for (var m = 0u; m < MB; m = m + 1u) {
                if (m < M) {
                    let xo = P[10] + m * K4 + 2u * c;
                    acc[m] = acc[m] + dot(wv[0], X[xo]) + dot(wv[1], X[xo + 1u]);
                }
            }
        }
    }
    for (var m = 0u; m < MB; m = m + 1u) { red[m * 256u + lid.x] = acc[m]; }
    workgroupBarrier();
    if (tk == 0u && n < P[0]) {
        for (var m = 0u; m < min(M, MB); m = m + 1u) {
            var s = 0.0;
            for (var t = 0u; t < TPK; t = t + 1u) {
                var idx = tn * TPK + t;
                if (NFAST) { idx = t * RPW + tn; }
                s = s + red[m * 256u + idx];
            }
            st_out(P[11] + m * P[12] + n, s);
        }
    }
}

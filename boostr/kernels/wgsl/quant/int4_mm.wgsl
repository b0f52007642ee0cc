// 4-bit matmul, tiled (larger M): out[m, n] = sum_k x[m, k] * W[n, k], f32 accumulation.
// A workgroup (256 threads) computes a 64 (m) x 64 (n) tile, 4 x 4 outputs a thread. Each K step
// of 32 weights, every thread decodes one 8-weight chunk of W (`${DEC}` of int4.wgsl) into the
// workgroup tile `ws` [32 k][64 n] and loads 8 floats of x into `xs` [32 k][64 m]: a tiled
// dequantize-then-matmul that never holds more than a 64 x 32 float tile of W.
// Layout: X f32 [M, K] as vec4 from vec4 P[10]; out [M, N] at element P[11], row stride P[12];
// P[9] = M rows in this dispatch; P[0..8] as int4.wgsl.
// Reference: llama.cpp ggml-cuda mmq.cu (tiles of dequantized W in shared memory).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
var<workgroup> xs: array<f32, 2048>;
var<workgroup> ws: array<f32, 2048>;

#include "int4.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let N = P[0];
    let M = P[9];
    let K4 = P[1] / 4u;
    let cpr = P[1] / 8u;
    let n0 = wid.x * 64u;
    let m0 = wid.y * 64u;
    let tx = lid.x % 16u;
    let ty = lid.x / 16u;
    let row = lid.x / 4u;  // the W row (n) and x row (m) this thread loads, chunk cj of the step
    let cj = lid.x % 4u;
    var acc: array<f32, 16>;
    for (var c0 = 0u; c0 < cpr; c0 = c0 + 4u) {
        let c = c0 + cj;
        wv[0] = vec4<f32>(0.0);
        wv[1] = vec4<f32>(0.0);
        if (n0 + row < N && c < cpr) { ${DEC}(n0 + row, c); }
        var xa = vec4<f32>(0.0);
        var xb = vec4<f32>(0.0);
        if (m0 + row < M && c < cpr) {
            let xo = P[10] + (m0 + row) * K4 + 2u * c;
            xa = X[xo];
            xb = X[xo + 1u];
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            ws[(cj * 8u + j) * 64u + row] = wv[0][j];
            ws[(cj * 8u + 4u + j) * 64u + row] = wv[1][j];
            xs[(cj * 8u + j) * 64u + row] = xa[j];
            xs[(cj * 8u + 4u + j) * 64u + row] = xb[j];
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 32u; kk = kk + 1u) {
            let a = vec4<f32>(xs[kk * 64u + ty * 4u], xs[kk * 64u + ty * 4u + 1u], xs[kk * 64u + ty * 4u + 2u],
                              xs[kk * 64u + ty * 4u + 3u]);
            let b = vec4<f32>(ws[kk * 64u + tx * 4u], ws[kk * 64u + tx * 4u + 1u], ws[kk * 64u + tx * 4u + 2u],
                              ws[kk * 64u + tx * 4u + 3u]);
            for (var i = 0u; i < 4u; i = i + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) { acc[i * 4u + j] = acc[i * 4u + j] + a[i] * b[j]; }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = m0 + ty * 4u + i;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = n0 + tx * 4u + j;
            if (m < M && n < N) { st_out(P[11] + m * P[12] + n, acc[i * 4u + j]); }
        }
    }
}

// Quantized matmul, tiled (larger M): out[m, n] = sum_k x[m, k] * W[n, k], f32 accumulation.
// A workgroup (256 threads) computes a 64 (m) x 64 (n) tile, 4 x 4 outputs per thread. For each
// 32-weight K step, 64 threads decode one chunk of W each (`${DEC}`, the family file) into the
// workgroup tile `ws` [64 n][32 k] while all threads load `xs` [64 m][32 k]: a tiled
// dequantize-then-matmul that never holds more than one 64 x 32 float tile of W.
// Layout: Wq block byte stream (u32 words; W row n at byte P[2] + n * P[3]); X f32 [M, K] as
// vec4; out [M, N]. P: [0] W rows (N) in this dispatch, [1] K, [2] byte offset of its first row,
// [3] row bytes, [4] x offset (vec4) of its first row, [5] x rows (M) in this dispatch,
// [6] out offset of (first m, first n), [7] out row stride.
// Reference: llama.cpp ggml-cuda mmq.cu (tiles of dequantized W in shared memory) and the
// ggml-webgpu mul_mat shaders.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const BPB: u32 = ${BPB}u;
const BB: u32 = ${BB}u;
const LD: u32 = 33u;
var<workgroup> xs: array<f32, 2112>;
var<workgroup> ws: array<f32, 2112>;

#include "bytes.wgsl"

${FAMILY}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    fam_init(lid.x);
    workgroupBarrier();
    let N = P[0];
    let K = P[1];
    let M = P[5];
    let n0 = wid.x * 64u;
    let m0 = wid.y * 64u;
    let tx = lid.x % 16u;
    let ty = lid.x / 16u;
    var acc: array<f32, 16>;
    for (var c = 0u; c < K / 32u; c = c + 1u) {
        for (var i = 0u; i < 2u; i = i + 1u) {
            let idx = lid.x + 256u * i;
            let row = idx / 8u;
            let q = idx % 8u;
            var v = vec4<f32>(0.0);
            if (m0 + row < M) { v = X[P[4] + (m0 + row) * (K / 4u) + c * 8u + q]; }
            let o = row * LD + 4u * q;
            xs[o] = v.x;
            xs[o + 1u] = v.y;
            xs[o + 2u] = v.z;
            xs[o + 3u] = v.w;
        }
        if (lid.x < 64u) {
            if (n0 + lid.x < N) {
                ${DEC}(P[2] + (n0 + lid.x) * P[3] + (c / BPB) * BB, c % BPB);
            } else {
                for (var j = 0u; j < 8u; j = j + 1u) { wv[j] = vec4<f32>(0.0); }
            }
            let o = lid.x * LD;
            for (var j = 0u; j < 8u; j = j + 1u) {
                ws[o + 4u * j] = wv[j].x;
                ws[o + 4u * j + 1u] = wv[j].y;
                ws[o + 4u * j + 2u] = wv[j].z;
                ws[o + 4u * j + 3u] = wv[j].w;
            }
        }
        workgroupBarrier();
        for (var k = 0u; k < 32u; k = k + 1u) {
            let a = vec4<f32>(xs[(4u * ty) * LD + k], xs[(4u * ty + 1u) * LD + k], xs[(4u * ty + 2u) * LD + k],
                              xs[(4u * ty + 3u) * LD + k]);
            let b = vec4<f32>(ws[tx * LD + k], ws[(tx + 16u) * LD + k], ws[(tx + 32u) * LD + k],
                              ws[(tx + 48u) * LD + k]);
            for (var i = 0u; i < 4u; i = i + 1u) {
                acc[4u * i] = fma(a[i], b.x, acc[4u * i]);
                acc[4u * i + 1u] = fma(a[i], b.y, acc[4u * i + 1u]);
                acc[4u * i + 2u] = fma(a[i], b.z, acc[4u * i + 2u]);
                acc[4u * i + 3u] = fma(a[i], b.w, acc[4u * i + 3u]);
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = m0 + 4u * ty + i;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = n0 + tx + 16u * j;
            if (m < M && n < N) { st_out(P[6] + m * P[7] + n, acc[4u * i + j]); }
        }
    }
}

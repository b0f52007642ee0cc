// Quantized GEMV (small M): out[m, n] = sum_k x[m, k] * W[n, k], f32 accumulation, for M <= MB.
// 256 threads per workgroup = RPW rows x TPR threads. The K loop advances TPR 32-weight chunks
// at a time: the workgroup first stages x[0..MB, those chunks] in workgroup memory (coalesced
// vec4 loads, shared by the RPW rows; chunk stride 9 vec4 so lanes reading their own chunk hit
// distinct banks), then thread t of row n decodes chunk t in registers (`${DEC}`, the family
// file) and dots it with the MB staged rows. Row sums: subgroupAdd when the adapter's subgroups
// fit in a row, else a workgroup tree.
// Layout: Wq block byte stream (u32 words; row n at byte P[2] + n * P[3]); X f32 [M, K] as vec4;
// out [M, N]. P: [0] rows in this dispatch, [1] K, [2] byte offset of its first row in Wq,
// [3] row bytes, [4] x offset (vec4), [5] M, [6] out offset of (0, first row), [7] out row stride.
// Reference: llama.cpp ggml-cuda mmvq.cu (mul_mat_vec_q) and ggml-webgpu mul_mat_vec shaders.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const BPB: u32 = ${BPB}u;
const BB: u32 = ${BB}u;
const TPR: u32 = ${TPR}u;
const RPW: u32 = 256u / TPR;
const MB: u32 = ${MB}u;
const XS: u32 = MB * TPR * 9u;
var<workgroup> red: array<f32, ${RED}>;
var<workgroup> xs: array<vec4<f32>, XS>;

${SG_FN}

#include "bytes.wgsl"

${FAMILY}

fn dot32(o: u32) -> f32 {
    let a = dot(wv[0], xs[o]) + dot(wv[1], xs[o + 1u]) + dot(wv[2], xs[o + 2u]) + dot(wv[3], xs[o + 3u]);
    let b = dot(wv[4], xs[o + 4u]) + dot(wv[5], xs[o + 5u]) + dot(wv[6], xs[o + 6u]) + dot(wv[7], xs[o + 7u]);
    return a + b;
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>${SG_ARGS}) {
    fam_init(lid.x);
    let r = lid.x / TPR;
    let t = lid.x % TPR;
    let n = (wid.x + wid.y * nwg.x) * RPW + r;
    let K4 = P[1] / 4u;
    let cpr = P[1] / 32u;
    let M = P[5];
    let live = n < P[0];
    let rowb = P[2] + n * P[3];
    var acc: array<f32, MB>;
    for (var c0 = 0u; c0 < cpr; c0 = c0 + TPR) {
        workgroupBarrier();
        for (var i = lid.x; i < MB * TPR * 8u; i = i + 256u) {  // stage x[m, chunks c0 .. c0 + TPR)
            let m = i / (TPR * 8u);
            let q = i % (TPR * 8u);
            var v = vec4<f32>(0.0);
            if (m < M && c0 * 8u + q < K4) { v = X[P[4] + m * K4 + c0 * 8u + q]; }
            xs[m * TPR * 9u + (q / 8u) * 9u + q % 8u] = v;
        }
        workgroupBarrier();
        let c = c0 + t;
        if (live && c < cpr) {
            ${DEC}(rowb + (c / BPB) * BB, c % BPB);
            for (var m = 0u; m < MB; m = m + 1u) {
                if (m < M) { acc[m] = acc[m] + dot32(m * TPR * 9u + t * 9u); }
            }
        }
    }
    ${SG_LET}
    if (sgs <= TPR) {  // subgroups lie within a row: one subgroupAdd, then per-row sums of subgroups
        let per = TPR / sgs;
        for (var m = 0u; m < MB; m = m + 1u) {
            let v = sg_add(acc[m]);
            if (sid == 0u) { red[m * 256u + lid.x / sgs] = v; }
        }
        workgroupBarrier();
        if (t == 0u && live) {
            for (var m = 0u; m < min(M, MB); m = m + 1u) {
                var s = 0.0;
                for (var i = 0u; i < per; i = i + 1u) { s = s + red[m * 256u + r * per + i]; }
                st_out(P[6] + m * P[7] + n, s);
            }
        }
    } else {  // workgroup tree over the TPR threads of each row
        for (var m = 0u; m < MB; m = m + 1u) { red[m * 256u + lid.x] = acc[m]; }
        workgroupBarrier();
        for (var s = TPR / 2u; s > 0u; s = s >> 1u) {
            if (t < s) {
                for (var m = 0u; m < MB; m = m + 1u) { red[m * 256u + lid.x] += red[m * 256u + lid.x + s]; }
            }
            workgroupBarrier();
        }
        if (t == 0u && live) {
            for (var m = 0u; m < min(M, MB); m = m + 1u) { st_out(P[6] + m * P[7] + n, red[m * 256u + lid.x]); }
        }
    }
}

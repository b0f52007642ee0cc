// Dequantize GGML blocks to floats: out[r, k] = W[r, k], one thread per 32-weight chunk
// (the decoder `${DEC}` of the format's family file fills `wv`, bytes.wgsl), 64 threads per
// workgroup; out in any float storage dtype (st_out rounds from f32).
// Layout: Wq the block byte stream as u32 words (window of the QuantTensor data), rows of
// `row bytes` one after another; out [R, K] row-major. A chunk c of a row is weights
// 32c .. 32c+31: block c / BPB, sub-chunk c % BPB (BPB = block weights / 32, BB block bytes).
// P: [0] chunks in this dispatch, [1] chunks per row (K / 32), [2] byte offset in Wq of the
// dispatch's first row, [3] row bytes, [4] out element offset of that row, [5] K.
// Reference: llama.cpp ggml-quants.c dequantize_row_* (one thread per block in
// ggml-cuda/convert.cu dequantize_block); bit-exact with gguf-py gguf.quants.dequantize.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const BPB: u32 = ${BPB}u;
const BB: u32 = ${BB}u;

#include "bytes.wgsl"

${FAMILY}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    fam_init(lid.x);
    workgroupBarrier();
    let g = (wid.x + wid.y * nwg.x) * 64u + lid.x;
    if (g >= P[0]) { return; }
    let row = g / P[1];
    let c = g % P[1];
    ${DEC}(P[2] + row * P[3] + (c / BPB) * BB, c % BPB);
    let o = P[4] + row * P[5] + c * 32u;
    for (var k = 0u; k < 8u; k = k + 1u) {
        let v = wv[k];
        st_out(o + 4u * k, v.x);
        st_out(o + 4u * k + 1u, v.y);
        st_out(o + 4u * k + 2u, v.z);
        st_out(o + 4u * k + 3u, v.w);
    }
}

// Dequantize 4-bit NF4 / AWQ / GPTQ weights: out[n, k] = W[n, k], one thread per 8-weight chunk
// (`${DEC}` of int4.wgsl), 64 threads a workgroup; out in any float storage dtype (st_out).
// Layout: Wq / S / Z / G the format's buffers (int4.wgsl); out [N, K] row-major at element
// P[11] with row stride P[12]. P: [0..8] as int4.wgsl, chunks [P[14], P[13]) of the
// flat chunk index n * K / 8 + c in this dispatch.
// Reference: bitsandbytes kDequantizeBlockwise, AutoAWQ dequantize_gemm, AutoGPTQ forward.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

#include "int4.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = P[14] + (wid.x + wid.y * nwg.x) * 64u + lid.x;
    if (i >= P[13]) { return; }
    let cpr = P[1] / 8u;
    let n = i / cpr;
    let c = i % cpr;
    ${DEC}(n, c);
    let o = P[11] + n * P[12] + 8u * c;
    for (var j = 0u; j < 8u; j = j + 1u) { st_out(o + j, wv[j / 4u][j % 4u]); }
}

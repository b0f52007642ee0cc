// scatter (torch.Tensor.scatter_ / scatter_add_): out[e's multi-index with dim replaced by
// idx[e]] = src[e] (or += with atomics: atomicAdd for i32/u32, a compare-exchange loop for f32).
// Index values are clamped (see clamp.wgsl). Layout: idx, src contiguous with idx's shape; out
// contiguous. P: [0] n, [1] e0, [2] ndim, [3..11) idx shape, [11..19) out strides, [19] dim,
// [20] D = out.shape[dim], [21] out offset, [22] idx offset, [23] src offset.
// Reference: PyTorch scatter semantics; duplicate indices without accumulation: one write wins.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

#include "clamp.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat_id(gid, nwg);
    if (t >= P[0]) { return; }
    let e = P[1] + t;
    var rem = e;
    var dst = P[21];
    for (var d = i32(P[2]) - 1; d >= 0; d = d - 1) {
        let n = P[3 + d];
        var i = rem % n;
        rem = rem / n;
        if (u32(d) == P[19]) { i = clampi(ld_idx(P[22] + e), P[20]); }
        dst += i * P[11 + d];
    }
    ${SCATTER_STORE}
}

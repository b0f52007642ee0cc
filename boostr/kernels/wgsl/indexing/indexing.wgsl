// Index ops with clamped indices (a negative index i counts from the end, i + D; then the value is
// clamped into [0, D - 1], so no access ever leaves a buffer). Index tensors are i32, contiguous.
// index_select: x [O, D, I] contiguous, out [O, n, I]: out[o, j, r] = x[o, idx[j], r].
// gather (torch.gather): out[e] = x[e's multi-index with dim replaced by idx[e]]; out has idx's shape.
// x may be bound in windows: only sources in [P[24], P[25]) (global element index) are read by a dispatch.
// P: [0] n, [1] e0, [2] ndim, [3..11) shape of idx/out, [11..19) strides of x (or of out for scatter),
// [19] dim, [20] D, [21] x offset (global), [22] idx offset, [23] out/src offset, [24] lo, [25] hi,
// [26] window base of x, [27] inner (index_select), [28] n index (index_select).
// Reference: torch.index_select / torch.gather / torch.Tensor.scatter_ semantics.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

#include "clamp.wgsl"

@compute @workgroup_size(256)
fn index_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat_id(gid, nwg);
    if (t >= P[0]) { return; }
    let e = P[1] + t;
    let inner = P[27];
    let r = e % inner;
    let j = (e / inner) % P[28];
    let o = e / (inner * P[28]);
    let src = P[21] + (o * P[20] + clampi(ld_idx(P[22] + j), P[20])) * inner + r;
    if (src >= P[24] && src < P[25]) { st_out(P[23] + e, ld_x(src - P[26])); }
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat_id(gid, nwg);
    if (t >= P[0]) { return; }
    let e = P[1] + t;
    var rem = e;
    var src = P[21];
    for (var d = i32(P[2]) - 1; d >= 0; d = d - 1) {
        let n = P[3 + d];
        var i = rem % n;
        rem = rem / n;
        if (u32(d) == P[19]) { i = clampi(ld_idx(P[22] + e), P[20]); }
        src += i * P[11 + d];
    }
    if (src >= P[24] && src < P[25]) { st_out(P[23] + e, ld_x(src - P[26])); }
}

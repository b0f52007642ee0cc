// Matrix-vector product y[b, j] = sum_k u[b, k] * W[b, j, k] (matmul with M == 1 or N == 1),
// f32 accumulation. Entry `dot`: one workgroup per output, 256 threads stride over k (W contiguous
// along k) and reduce in workgroup memory. Entry `col`: one thread per output, looping over k
// (W contiguous along j, so neighbouring threads read neighbouring elements).
// Layout: P: [0] J, [1] K, [2] u offset, [3] u stride k, [4] u batch stride, [5] W offset,
// [6] W stride j, [7] W stride k, [8] W batch stride, [9] y offset, [10] j0, [11] j1, [12] batch,
// [13] k0, [14] k1 (the K range of this dispatch), [15] 1 to add to y (K split across dispatches).
// Reference: the GEMV kernels of llama.cpp's ggml-cuda (mul_mat_vec) and cuBLAS sgemv.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn dot(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = P[10] + wid.x + wid.y * nwg.x;
    if (j >= P[11]) { return; }
    let ub = P[2] + P[12] * P[4];
    let wb = P[5] + P[12] * P[8] + j * P[6];
    var s = 0.0;
    for (var k = P[13] + lid.x; k < P[14]; k = k + 256u) { s = fma(ld_u(ub + k * P[3]), ld_w(wb + k * P[7]), s); }
    red[lid.x] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h = h >> 1u) {
        if (lid.x < h) { red[lid.x] = red[lid.x] + red[lid.x + h]; }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        let o = P[9] + P[12] * P[0] + j;
        var v = red[0];
        if (P[15] == 1u) { v = v + ld_out(o); }
        st_out(o, v);
    }
}

@compute @workgroup_size(256)
fn col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = P[10] + gid.x + gid.y * nwg.x * 256u;
    if (j >= P[11]) { return; }
    let ub = P[2] + P[12] * P[4];
    let wb = P[5] + P[12] * P[8] + j * P[6];
    var s = 0.0;
    for (var k = P[13]; k < P[14]; k = k + 1u) { s = fma(ld_u(ub + k * P[3]), ld_w(wb + k * P[7]), s); }
    let o = P[9] + P[12] * P[0] + j;
    if (P[15] == 1u) { s = s + ld_out(o); }
    st_out(o, s);
}

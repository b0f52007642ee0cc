// Matrix-vector product y[b, j] = sum_k u[b, k] * W[b, j, k] (matmul with M == 1 or N == 1),
// f32 accumulation; batches run over workgroup_id.z. Entries:
// `dot_v4` (W and u contiguous along k, vec4-aligned): a workgroup computes 4 outputs j0..j0+3; each
//   invocation walks k in vec4 steps of 1024 elements, dot-multiplies one u vec4 with the 4 W rows,
//   and the 4 sums are reduced together with wg_sum4 (subgroupAdd where the adapter has subgroups,
//   a workgroup tree otherwise).
// `col_v4` (W contiguous along j, vec4-aligned): a workgroup computes 256 outputs as 64 vec4 columns
//   x 4 k-slices; the slices are added in workgroup memory. When few workgroups would cover J, K is
//   also split over workgroup_id.y into P[18] chunks of P[16]: partial sums go to `part` (P[17] = 1)
//   and `col_sum` adds them (two dispatches, many more workgroups streaming W).
// `dot_s` / `col_s`: the same two shapes at any strides, scalar loads (one output per workgroup / thread).
// Layout: P: [0] J, [1] K, [2] u offset, [3] u stride k, [4] u batch stride, [5] W offset,
// [6] W stride j, [7] W stride k, [8] W batch stride, [9] y offset, [10] j0, [11] j1,
// [12] first batch (plus workgroup_id.z), [13] k0, [14] k1 (the K range of this dispatch), [15] 1 to
// add to y (K split across dispatches), [16] K chunk per workgroup row (col_v4), [17] 1 to write
// partials, [18] chunks. part: f32 scratch [batch, chunk, J] (a small dummy when unused).
// Reference: the GEMV kernels of llama.cpp's ggml-cuda (mul_mat_vec) and cuBLAS sgemv.
${DECLS}
${WGSUM}
@group(1) @binding(3) var<storage, read_write> part: array<f32>;

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
var<workgroup> red: array<vec4<f32>, 256>;

fn put(o: u32, v: f32) {
    if (P[15] == 1u) { st_out(o, v + ld_out(o)); } else { st_out(o, v); }
}

@compute @workgroup_size(256)
fn dot_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>${SGB}) {
    ${SGI}
    let bat = P[12] + wid.z;
    let j0 = P[10] + (wid.x + wid.y * nwg.x) * 4u;
    if (j0 >= P[11]) { return; }
    let ub = P[2] + bat * P[4];
    let wb = P[5] + bat * P[8];
    let jl = P[11] - 1u;
    let w0 = wb + j0 * P[6];
    let w1 = wb + min(j0 + 1u, jl) * P[6];
    let w2 = wb + min(j0 + 2u, jl) * P[6];
    let w3 = wb + min(j0 + 3u, jl) * P[6];
    var acc = vec4<f32>(0.0);
    for (var k = P[13] + lid * 4u; k < P[14]; k = k + 1024u) {
        let x = vec4<f32>(u4(ub + k));
        acc = acc + vec4<f32>(dot(x, vec4<f32>(w4(w0 + k))), dot(x, vec4<f32>(w4(w1 + k))),
                              dot(x, vec4<f32>(w4(w2 + k))), dot(x, vec4<f32>(w4(w3 + k))));
    }
    let tot = wg_sum4(acc, lid);
    if (lid < 4u && j0 + lid < P[11]) { put(P[9] + bat * P[0] + j0 + lid, tot[lid]); }
}

@compute @workgroup_size(256)
fn col_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let bat = P[12] + wid.z;
    let j = P[10] + wid.x * 256u + (lid % 64u) * 4u;
    let ks = lid / 64u;
    let k0 = P[13] + wid.y * P[16];
    let k1 = min(P[14], k0 + P[16]);
    let ub = P[2] + bat * P[4];
    let wb = P[5] + bat * P[8] + j;
    var acc = vec4<f32>(0.0);
    if (j < P[11]) {
        for (var k = k0 + ks; k < k1; k = k + 4u) { acc = fma(vec4<f32>(f32(u1(ub + k * P[3]))),
                                                             vec4<f32>(w4(wb + k * P[7])), acc); }
    }
    red[lid] = acc;
    workgroupBarrier();
    if (ks == 0u && j < P[11]) {
        let t = red[lid] + red[lid + 64u] + red[lid + 128u] + red[lid + 192u];
        if (P[17] == 1u) {  // K split over workgroups: partial sums go to part[batch, chunk, j]
            let pb = ((bat - P[12]) * P[18] + wid.y) * P[0] + j;
            for (var i = 0u; i < 4u; i = i + 1u) {
                if (j + i < P[11]) { part[pb + i] = t[i]; }
            }
        } else {
            let o = P[9] + bat * P[0] + j;
            for (var i = 0u; i < 4u; i = i + 1u) {
                if (j + i < P[11]) { put(o + i, t[i]); }
            }
        }
    }
}

// y[b, j] = sum over the P[18] K chunks of part[b, chunk, j] (the second pass of a split col_v4)
@compute @workgroup_size(256)
fn col_sum(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = P[10] + wid.x * 256u + lid;
    if (j >= P[11]) { return; }
    let pb = wid.z * P[18] * P[0] + j;
    var s = 0.0;
    for (var c = 0u; c < P[18]; c = c + 1u) { s = s + part[pb + c * P[0]]; }
    put(P[9] + (P[12] + wid.z) * P[0] + j, s);
}

@compute @workgroup_size(256)
fn dot_s(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>) {
    let bat = P[12] + wid.z;
    let j = P[10] + wid.x + wid.y * nwg.x;
    if (j >= P[11]) { return; }
    let ub = P[2] + bat * P[4];
    let wb = P[5] + bat * P[8] + j * P[6];
    var s = 0.0;
    for (var k = P[13] + lid; k < P[14]; k = k + 256u) { s = fma(f32(u1(ub + k * P[3])), f32(w1(wb + k * P[7])), s); }
    red[lid].x = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h = h >> 1u) {
        if (lid < h) { red[lid].x = red[lid].x + red[lid + h].x; }
        workgroupBarrier();
    }
    if (lid == 0u) { put(P[9] + bat * P[0] + j, red[0].x); }
}

@compute @workgroup_size(256)
fn col_s(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let bat = P[12] + gid.z;
    let j = P[10] + gid.x + gid.y * nwg.x * 256u;
    if (j >= P[11]) { return; }
    let ub = P[2] + bat * P[4];
    let wb = P[5] + bat * P[8] + j * P[6];
    var s = 0.0;
    for (var k = P[13]; k < P[14]; k = k + 1u) { s = fma(f32(u1(ub + k * P[3])), f32(w1(wb + k * P[7])), s); }
    put(P[9] + bat * P[0] + j, s);
}

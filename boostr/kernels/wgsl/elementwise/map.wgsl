// Strided elementwise map: out[e] = F(in1[e], in2[e], in3[e]) for each flat index e of the
// (coalesced) output shape; copy, fill, unary, binary, where, fma and clamp are all this kernel.
// Layout (params P, u32 words): P[0] n (elements in this dispatch), P[1] e0 (first flat index),
// P[2] ndim (<= 8), P[3..11) shape, view k (0 = out, 1..3 inputs): P[11+9k] element offset from
// its bound window, P[12+9k..21+9k) element strides (0 = broadcast); P[48..52) scalar bit patterns.
// Entry `main` unravels each flat index over ndim dims (a div/mod per dim); entry `flat` serves the
// 1-D case (all views' dims coalesced into one): offsets are P[11+9k] + e * P[12+9k], no division,
// and each invocation handles 4 elements 256 apart (a workgroup covers 1024, loads stay coalesced).
// Reference: numpy's strided iteration (np.lib.stride_tricks.as_strided).
${DECLS}
${OPS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

fn sf(k: u32) -> f32 { return bitcast<f32>(P[48u + k]); }
fn si(k: u32) -> i32 { return bitcast<i32>(P[48u + k]); }
fn su(k: u32) -> u32 { return P[48u + k]; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if (t >= P[0]) { return; }
    var rem = P[1] + t;
    var o0 = P[11];
    var o1 = P[20];
    var o2 = P[29];
    var o3 = P[38];
    for (var d = i32(P[2]) - 1; d >= 0; d = d - 1) {
        let n = P[3 + d];
        let i = rem % n;
        rem = rem / n;
        o0 += i * P[12 + d];
        o1 += i * P[21 + d];
        o2 += i * P[30 + d];
        o3 += i * P[39 + d];
    }
    ${BODY}
}

@compute @workgroup_size(256)
fn flat(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let base = (wid.x + wid.y * nwg.x) * 1024u + lid;
    for (var r = 0u; r < 4u; r = r + 1u) {
        let t = base + r * 256u;
        if (t >= P[0]) { return; }
        let e = P[1] + t;
        let o0 = P[11] + e * P[12];
        let o1 = P[20] + e * P[21];
        let o2 = P[29] + e * P[30];
        let o3 = P[38] + e * P[39];
        ${BODY}
    }
}

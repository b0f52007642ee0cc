// Row softmax / log-softmax, one workgroup (256 threads) per row, online max-and-sum in one read:
// m = max(x), s = sum(exp(x - m)); softmax = exp(x - m) / s, log-softmax = x - m - log(s).
// Rows of all -inf give NaN (0/0) as torch does. Layout: x, out [R, C] row-major (x at an element
// offset). P: [0] r0 first row, [1] C, [2] x offset, [3] out offset, [4] LOG (0/1), [5] rows here.
// Reference: Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
var<workgroup> sm: array<f32, 256>;
var<workgroup> ss: array<f32, 256>;

fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
    if (isnan_f(m2) || isnan_f(m1)) { return vec2<f32>(m1 + m2, s1 + s2); }
    let m = max(m1, m2);
    if (m == -bitcast<f32>(0x7f800000u)) { return vec2<f32>(m, s1 + s2); }
    return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[5]) { return; }
    let r = P[0] + lw;
    let C = P[1];
    let xb = P[2] + r * C;
    var m = -bitcast<f32>(0x7f800000u);
    var s = 0.0;
    for (var c = lid.x; c < C; c = c + 256u) {
        let t = merge(m, s, ld_x(xb + c), 1.0);
        m = t.x;
        s = t.y;
    }
    sm[lid.x] = m;
    ss[lid.x] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k = k >> 1u) {
        if (lid.x < k) {
            let t = merge(sm[lid.x], ss[lid.x], sm[lid.x + k], ss[lid.x + k]);
            sm[lid.x] = t.x;
            ss[lid.x] = t.y;
        }
        workgroupBarrier();
    }
    let mm = sm[0];
    let tot = ss[0];
    let ob = P[3] + r * C;
    if (P[4] == 1u) {
        let ls = log(tot);
        for (var c = lid.x; c < C; c = c + 256u) { st_out(ob + c, ld_x(xb + c) - mm - ls); }
    } else {
        let inv = 1.0 / tot;
        for (var c = lid.x; c < C; c = c + 256u) { st_out(ob + c, exp(ld_x(xb + c) - mm) * inv); }
    }
}

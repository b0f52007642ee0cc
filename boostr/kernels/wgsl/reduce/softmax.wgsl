// Row softmax / log-softmax, one workgroup (256 invocations) per row. Each invocation folds its
// elements into an online (max m, sum s of exp(x - m)) pair in one read; the row max M = wg_max(m)
// and the row sum S = wg_sum(s * exp(m - M)) (subgroupMax / subgroupAdd where the adapter has
// subgroups, workgroup trees otherwise); then softmax = exp(x - M) / S, log-softmax = x - M - log(S).
// NaN anywhere in a row, +inf, or a row of all -inf gives NaN (as torch). VEC: vec4 loads and
// stores (C % 4 == 0, aligned offsets). Layout: x, out [R, C] row-major (x at an element offset).
// P: [0] r0 first row, [1] C, [2] x offset, [3] out offset, [4] LOG (0/1), [5] rows here.
// Reference: Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018).
${DECLS}
${WGSUM}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const VEC: bool = ${VEC};

fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
    if (isnan_f(m2) || isnan_f(m1)) { return vec2<f32>(m1 + m2, s1 + s2); }
    let m = max(m1, m2);
    if (m == -bitcast<f32>(0x7f800000u)) { return vec2<f32>(m, s1 + s2); }
    return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>${SGB}) {
    ${SGI}
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[5]) { return; }
    let r = P[0] + lw;
    let C = P[1];
    let xb = P[2] + r * C;
    let ob = P[3] + r * C;
    var t = vec2<f32>(-bitcast<f32>(0x7f800000u), 0.0);
    if (VEC) {
        for (var c = lid * 4u; c < C; c = c + 1024u) {
            let v = x4(xb + c);
            t = merge(t.x, t.y, v.x, 1.0);
            t = merge(t.x, t.y, v.y, 1.0);
            t = merge(t.x, t.y, v.z, 1.0);
            t = merge(t.x, t.y, v.w, 1.0);
        }
    } else {
        for (var c = lid; c < C; c = c + 256u) { t = merge(t.x, t.y, x1(xb + c), 1.0); }
    }
    let mm = wg_max(t.x, lid);
    let tot = wg_sum(t.y * exp(t.x - mm), lid);
    if (P[4] == 1u) {
        let ls = log(tot);
        if (VEC) {
            for (var c = lid * 4u; c < C; c = c + 1024u) { st_out4(ob + c, x4(xb + c) - vec4<f32>(mm + ls)); }
        } else {
            for (var c = lid; c < C; c = c + 256u) { st_out1(ob + c, x1(xb + c) - mm - ls); }
        }
    } else {
        let inv = 1.0 / tot;
        if (VEC) {
            for (var c = lid * 4u; c < C; c = c + 1024u) { st_out4(ob + c, exp(x4(xb + c) - vec4<f32>(mm)) * inv); }
        } else {
            for (var c = lid; c < C; c = c + 256u) { st_out1(ob + c, exp(x1(xb + c) - mm) * inv); }
        }
    }
}

// Row norms, one workgroup (256 invocations) per row, f32 accumulation:
// MODE 0 rms_norm:     out = x / sqrt(mean(x^2) + eps) * w
// MODE 1 layer_norm:   out = (x - mean) / sqrt(var + eps) * w + b   (biased variance, two passes)
// MODE 2 add_rms_norm: s = x + res; sum_out = s; out = rms_norm(s) * w
// Layout: x, res, out, sum_out [R, C] row-major; w, b [C]. P: [0] r0, [1] C, [2] x off, [3] out off,
// [4] rows here, [5] eps (f32 bits), [6] has w, [7] has b, [8] w off, [9] b off, [10] res off,
// [11] sum_out off. VEC: every view is read / written as vec4 (C % 4 == 0, aligned offsets); else
// scalar. Row sums use wg_sum (subgroupAdd where the adapter has subgroups, a workgroup tree otherwise).
// Reference: Zhang & Sennrich 2019 (RMSNorm); Ba et al. 2016 (LayerNorm).
${DECLS}
${WGSUM}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const MODE: u32 = ${MODE}u;
const VEC: bool = ${VEC};

fn val4(xb: u32, rb: u32, c: u32) -> vec4<f32> {
    if (VEC) {
        if (MODE == 2u) { return x4(xb + c) + res4(rb + c); }
        return x4(xb + c);
    }
    if (MODE == 2u) { return vec4<f32>(x1(xb + c) + res1(rb + c), 0.0, 0.0, 0.0); }
    return vec4<f32>(x1(xb + c), 0.0, 0.0, 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>${SGB}) {
    ${SGI}
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[4]) { return; }
    let r = P[0] + lw;
    let C = P[1];
    let xb = P[2] + r * C;
    let rb = P[10] + r * C;
    let ob = P[3] + r * C;
    let sb = P[11] + r * C;
    let eps = bitcast<f32>(P[5]);
    let step = select(1u, 4u, VEC);
    var mean = 0.0;
    if (MODE == 1u) {
        var s = vec4<f32>(0.0);
        for (var c = lid * step; c < C; c = c + 256u * step) { s = s + val4(xb, rb, c); }
        mean = wg_sum(s.x + s.y + s.z + s.w, lid) / f32(C);
    }
    var q = vec4<f32>(0.0);
    for (var c = lid * step; c < C; c = c + 256u * step) {
        let d = val4(xb, rb, c) - vec4<f32>(mean);
        q = q + d * d;
    }
    if (!VEC) { q = vec4<f32>(q.x, 0.0, 0.0, 0.0); }
    let inv = 1.0 / sqrt(wg_sum(q.x + q.y + q.z + q.w, lid) / f32(C) + eps);
    for (var c = lid * step; c < C; c = c + 256u * step) {
        let v = val4(xb, rb, c);
        var y = (v - vec4<f32>(mean)) * inv;
        if (P[6] == 1u) { y = y * w4v(P[8] + c); }
        if (P[7] == 1u) { y = y + b4v(P[9] + c); }
        if (VEC) {
            if (MODE == 2u) { st_so4(sb + c, v); }
            st_out4(ob + c, y);
        } else {
            if (MODE == 2u) { st_so1(sb + c, v.x); }
            st_out1(ob + c, y.x);
        }
    }
}

fn w4v(i: u32) -> vec4<f32> { if (VEC) { return w4(i); } return vec4<f32>(w1(i)); }
fn b4v(i: u32) -> vec4<f32> { if (VEC) { return b4(i); } return vec4<f32>(b1(i)); }

// Row norms, one workgroup (256 threads) per row, f32 accumulation:
// MODE 0 rms_norm:     out = x / sqrt(mean(x^2) + eps) * w
// MODE 1 layer_norm:   out = (x - mean) / sqrt(var + eps) * w + b   (biased variance, two passes)
// MODE 2 add_rms_norm: s = x + res; sum_out = s; out = rms_norm(s) * w
// Layout: x, res, out, sum_out [R, C] row-major; w, b [C]. P: [0] r0, [1] C, [2] x off, [3] out off,
// [4] rows here, [5] eps (f32 bits), [6] has w, [7] has b, [8] w off, [9] b off, [10] res off,
// [11] sum_out off. Reference: Zhang & Sennrich 2019 (RMSNorm); Ba et al. 2016 (LayerNorm).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const MODE: u32 = ${MODE}u;
var<workgroup> red: array<f32, 256>;

fn wsum(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k = k >> 1u) {
        if (lid < k) { red[lid] = red[lid] + red[lid + k]; }
        workgroupBarrier();
    }
    let t = red[0];
    workgroupBarrier();
    return t;
}

fn val(xb: u32, rb: u32, c: u32) -> f32 {
    if (MODE == 2u) { return ld_x(xb + c) + ld_res(rb + c); }
    return ld_x(xb + c);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[4]) { return; }
    let r = P[0] + lw;
    let C = P[1];
    let xb = P[2] + r * C;
    let rb = P[10] + r * C;
    let ob = P[3] + r * C;
    let eps = bitcast<f32>(P[5]);
    var mean = 0.0;
    if (MODE == 1u) {
        var s = 0.0;
        for (var c = lid.x; c < C; c = c + 256u) { s = s + val(xb, rb, c); }
        mean = wsum(s, lid.x) / f32(C);
    }
    var q = 0.0;
    for (var c = lid.x; c < C; c = c + 256u) {
        let d = val(xb, rb, c) - mean;
        q = q + d * d;
    }
    let inv = 1.0 / sqrt(wsum(q, lid.x) / f32(C) + eps);
    for (var c = lid.x; c < C; c = c + 256u) {
        let v = val(xb, rb, c);
        if (MODE == 2u) { st_so(P[11] + r * C + c, v); }
        var y = (v - mean) * inv;
        if (P[6] == 1u) { y = y * ld_w(P[8] + c); }
        if (P[7] == 1u) { y = y + ld_b(P[9] + c); }
        st_out(ob + c, y);
    }
}

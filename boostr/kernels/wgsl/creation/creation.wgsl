// Creation kernels. arange: out[i] = start + i * step; floats use start and step each split into
// two f32 terms (hi + lo) so the result is close to the f64 formula rounded once; ints wrap in 32 bits.
// philox: Philox4x32-10 (Salmon et al., SC'11) with key = (seed lo, seed hi) and counter =
// (i lo, i hi, offset lo, offset hi); uniform a + (b - a) * (r0 >> 8) 2^-24, normal by Box-Muller
// on u1 = ((r0 >> 8) + 1) 2^-24, u2 = (r1 >> 8) 2^-24, randint a + umulhi(r0, b - a); 32x32->64
// products use 16-bit halves (no u64 in WGSL). Must match boostr/kernels/cpu/philox.py bit for bit.
// Layout: out contiguous. P: [0] n, [1] e0, [2] out offset; arange [3..7) start hi/lo, step hi/lo
// (f32 bits, or i32 start/step in [3], [5]); philox [3] seed lo, [4] seed hi, [5] off lo, [6] off hi,
// [7] dist (0 uniform, 1 normal, 2 randint), [8] a, [9] b (f32 bits; randint: a as i32, [10] span
// lo, [11] 1 if span == 2^32).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

fn tid(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * 256u; }

@compute @workgroup_size(256)
fn arange(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = tid(gid, nwg);
    if (t >= P[0]) { return; }
    let i = P[1] + t;
    ${ARANGE}
}

// (hi, lo) words of the 64-bit product a * b
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var r = 0; r < 10; r = r + 1) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

@compute @workgroup_size(256)
fn random(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = tid(gid, nwg);
    if (t >= P[0]) { return; }
    let i = P[1] + t;
    let r = philox(vec4<u32>(i, 0u, P[5], P[6]), vec2<u32>(P[3], P[4]));
    let a = bitcast<f32>(P[8]);
    let b = bitcast<f32>(P[9]);
    var v: f32 = 0.0;
    var iv: u32 = 0u;
    if (P[7] == 0u) {
        v = a + (b - a) * (f32(r.x >> 8u) * 5.9604644775390625e-8);
    } else if (P[7] == 1u) {
        let u1 = (f32(r.x >> 8u) + 1.0) * 5.9604644775390625e-8;
        let u2 = f32(r.y >> 8u) * 5.9604644775390625e-8;
        v = a + b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    } else {
        var h = r.x;
        if (P[11] == 0u) { h = mulhilo(r.x, P[10]).x; }
        iv = P[8] + h;
    }
    ${STORE}
}

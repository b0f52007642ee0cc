// Storage-type conversions shared by every WGSL kernel (prepended to each source).
// bf16: the top 16 bits of an f32; f32 -> bf16 rounds to nearest even (NaN -> 0x7fc0).
// fp8 e4m3fn (bias 7, no inf, NaN = S.1111.111, max 448) saturates to +-448;
// fp8 e5m2 (bias 15, IEEE-like, max 57344) overflows to inf. Both round to nearest even.
// i8 / u8: one byte each, computed in i32 / u32 (i8 sign-extends; stores keep the low 8 bits, so
// arithmetic wraps modulo 256 as in numpy).
// Reference: OCP 8-bit Floating Point Specification (OFP8) rev 1.0; ml_dtypes.

// NaN test on the bits (naga lowers `x != x` to an ordered compare, which is false for NaN)
fn isnan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

fn i8_to_i32(c: u32) -> i32 { return bitcast<i32>(c << 24u) >> 24u; }

// a / b rounded to nearest even, as IEEE division (numpy, C) gives it. WGSL promises only 2.5 ULP
// for `/` and does not promise that fma is fused (lavapipe's is not), so the quotient of two finite
// nonzero operands is computed exactly on the integer significands: 25 quotient bits by long
// division, then round half to even on the guard bit and the remainder. Zero, infinite and NaN
// operands, and quotients outside the normal range, keep the hardware's `a / b`.
fn fdiv_rn(a: f32, b: f32) -> f32 {
    let q0 = a / b;
    let ua = bitcast<u32>(a);
    let ub = bitcast<u32>(b);
    let xa = ua & 0x7fffffffu;
    let xb = ub & 0x7fffffffu;
    if (xa == 0u || xb == 0u || xa >= 0x7f800000u || xb >= 0x7f800000u) { return q0; }
    var ea = i32(xa >> 23u);
    var ma = xa & 0x7fffffu;
    if (ea == 0) { let s = countLeadingZeros(ma) - 8u; ma = ma << s; ea = 1 - i32(s); } else { ma = ma | 0x800000u; }
    var eb = i32(xb >> 23u);
    var mb = xb & 0x7fffffu;
    if (eb == 0) { let s = countLeadingZeros(mb) - 8u; mb = mb << s; eb = 1 - i32(s); } else { mb = mb | 0x800000u; }
    var e = ea - eb + 127;  // biased exponent of the quotient
    var r = ma;
    if (r < mb) { r = r << 1u; e = e - 1; }
    var q = 0u;  // r / mb in [1, 2): 24 significand bits and a guard bit
    for (var i = 0u; i < 25u; i = i + 1u) {
        q = q << 1u;
        if (r >= mb) { r = r - mb; q = q | 1u; }
        r = r << 1u;
    }
    var m = q >> 1u;
    if ((q & 1u) == 1u && (r != 0u || (m & 1u) == 1u)) { m = m + 1u; }
    if (m == 0x1000000u) { m = m >> 1u; e = e + 1; }
    if (e <= 0 || e >= 255) { return q0; }
    return bitcast<f32>(((ua ^ ub) & 0x80000000u) | (u32(e) << 23u) | (m & 0x7fffffu));
}

fn bf16_to_f32(h: u32) -> f32 { return bitcast<f32>(h << 16u); }

fn f32_to_bf16(v: f32) -> u32 {
    let u = bitcast<u32>(v);
    if ((u & 0x7fffffffu) > 0x7f800000u) { return ((u >> 16u) & 0x8000u) | 0x7fc0u; }
    return (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
}

// decode an fp8 code with `mb` mantissa bits and exponent bias `bias` (finite codes only)
fn fp8_decode(c: u32, mb: u32, bias: i32) -> f32 {
    let e = i32((c & 0x7fu) >> mb);
    let m = f32(c & ((1u << mb) - 1u));
    let scale = f32(1u << mb);
    var a: f32;
    if (e == 0) { a = ldexp(m / scale, 1 - bias); } else { a = ldexp(1.0 + m / scale, e - bias); }
    return select(a, -a, (c & 0x80u) != 0u);
}

fn e4m3_to_f32(c: u32) -> f32 {
    if ((c & 0x7fu) == 0x7fu) { return bitcast<f32>(0x7fc00000u); }
    return fp8_decode(c, 3u, 7);
}

fn e5m2_to_f32(c: u32) -> f32 {
    if ((c & 0x7cu) == 0x7cu) {
        if ((c & 3u) != 0u) { return bitcast<f32>(0x7fc00000u); }
        return select(bitcast<f32>(0x7f800000u), bitcast<f32>(0xff800000u), (c & 0x80u) != 0u);
    }
    return fp8_decode(c, 2u, 15);
}

// round |v| (finite, non-NaN) to an fp8 code without sign: mb mantissa bits, bias
fn fp8_encode_abs(a: f32, mb: u32, bias: i32) -> u32 {
    let min_normal = ldexp(1.0, 1 - bias);
    if (a < min_normal) {
        // subnormal: multiples of 2^(1 - bias - mb); a code of 1 << mb is the smallest normal
        return u32(round(ldexp(a, bias - 1 + i32(mb))));
    }
    let u = bitcast<u32>(a);
    var e = i32((u >> 23u) & 0xffu) - 127;
    let shift = 23u - mb;
    let m = u & 0x7fffffu;
    var r = m >> shift;
    let rem = m & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u) == 1u)) { r = r + 1u; }
    if (r == (1u << mb)) { r = 0u; e = e + 1; }
    return (u32(e + bias) << mb) | r;
}

fn f32_to_e4m3(v: f32) -> u32 {
    let s = select(0u, 0x80u, (bitcast<u32>(v) & 0x80000000u) != 0u);
    if (isnan_f(v)) { return 0x7fu; }
    let a = min(abs(v), 448.0);
    return s | fp8_encode_abs(a, 3u, 7);
}

fn f32_to_e5m2(v: f32) -> u32 {
    let s = select(0u, 0x80u, (bitcast<u32>(v) & 0x80000000u) != 0u);
    if (isnan_f(v)) { return 0x7eu; }
    let a = abs(v);
    if (a >= 61440.0) { return s | 0x7cu; }
    return s | fp8_encode_abs(a, 2u, 15);
}

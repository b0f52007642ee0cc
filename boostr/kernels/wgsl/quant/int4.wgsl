// 8-weight decoders of the 4-bit formats NF4 (bitsandbytes), AWQ (AutoAWQ GEMM) and GPTQ
// (AutoGPTQ / exllama, act-order g_idx when ACT): `dec8_<fmt>(n, c)` writes W[n, 8c .. 8c+7]
// to `wv` (weight j in wv[j / 4][j % 4]), in f32: (q - z) * s exactly, NF4 code * absmax rounded once.
// Formulas and layouts: boostr/quant/int4.py. Every buffer is a u32-word window of the tensor's
// byte stream; P[5..8] are the word offsets of Wq, S, Z, G in their bindings.
//   NF4:  Wq packed nibbles, word n * K / 8 + c holds weights 8c .. 8c+7 of row n (byte j: weight
//         2j in the high nibble, 2j + 1 in the low); S f32 absmax of block (n * K + 8c) / P[2].
//   AWQ:  Wq [K, NW] (NW = ceil(N / 8)), q[k, n] = nibble (n%8 >> 1) + 4 (n%8 & 1) of word
//         [k, n / 8] (AutoAWQ order [0, 2, 4, 6, 1, 3, 5, 7]); Z [G, NW] alike; S f16 [G, N].
//   GPTQ: Wq [K / 8, N], q[k, n] = nibble k % 8 of word [k / 8, n]; Z [G, NW], z = nibble n % 8
//         + P[4] (1 for v1 checkpoints); S f16 [G, N]; G = g_idx [K] (ACT) else k / P[2].
// P: [0] N, [1] K, [2] group size (NF4 block size), [3] NW, [4] zero offset, [5..8] word offsets.
// Reference: bitsandbytes kDequantizeBlockwise, AutoAWQ packing_utils, AutoGPTQ qlinear_cuda_old.

var<private> wv: array<vec4<f32>, 2>;
var<private> NF4: array<f32, 16> = array<f32, 16>(
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0);
const ACT: bool = ${ACT};

// IEEE half bits -> f32, exact for every half (as f16v of bytes.wgsl)
fn f16w(h: u32) -> f32 {
    let e = (h >> 10u) & 31u;
    let m = h & 1023u;
    var a: f32;
    if (e == 0u) {
        a = f32(m) * 5.9604644775390625e-8;
    } else if (e == 31u) {
        a = bitcast<f32>(0x7f800000u | (m << 13u));
    } else {
        a = bitcast<f32>(((e + 112u) << 23u) | (m << 13u));
    }
    return bitcast<f32>(bitcast<u32>(a) | ((h & 0x8000u) << 16u));
}

// f16 scale i of S
fn scale16(i: u32) -> f32 { return f16w((S[P[6] + (i >> 1u)] >> ((i & 1u) * 16u)) & 0xffffu); }

fn nf4(i: u32) -> f32 { return NF4[i]; }

fn dec8_nf4(n: u32, c: u32) {
    let K = P[1];
    let w = Wq[P[5] + n * (K / 8u) + c];
    let a = bitcast<f32>(S[P[6] + (n * K + 8u * c) / P[2]]);
    let hi = vec4<u32>(w >> 4u, w >> 12u, w >> 20u, w >> 28u) & vec4<u32>(15u);
    let lo = vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u);
    wv[0] = vec4<f32>(nf4(hi.x), nf4(lo.x), nf4(hi.y), nf4(lo.y)) * a;
    wv[1] = vec4<f32>(nf4(hi.z), nf4(lo.z), nf4(hi.w), nf4(lo.w)) * a;
}

fn dec8_awq(n: u32, c: u32) {
    let nw = P[3];
    let j = n / 8u;
    let sh = 4u * (((n % 8u) >> 1u) + 4u * (n & 1u));
    let g = (8u * c) / P[2];
    let s = scale16(g * P[0] + n);
    let z = f32((Z[P[7] + g * nw + j] >> sh) & 15u);
    let b = P[5] + 8u * c * nw + j;
    var q: array<f32, 8>;
    for (var i = 0u; i < 8u; i = i + 1u) { q[i] = f32((Wq[b + i * nw] >> sh) & 15u); }
    wv[0] = (vec4<f32>(q[0], q[1], q[2], q[3]) - z) * s;
    wv[1] = (vec4<f32>(q[4], q[5], q[6], q[7]) - z) * s;
}

fn gptq_z(g: u32, n: u32) -> f32 { return f32(((Z[P[7] + g * P[3] + n / 8u] >> (4u * (n % 8u))) & 15u) + P[4]); }

fn dec8_gptq(n: u32, c: u32) {
    let N = P[0];
    let w = Wq[P[5] + c * N + n];
    var q = array<f32, 8>(f32(w & 15u), f32((w >> 4u) & 15u), f32((w >> 8u) & 15u), f32((w >> 12u) & 15u),
                          f32((w >> 16u) & 15u), f32((w >> 20u) & 15u), f32((w >> 24u) & 15u), f32(w >> 28u));
    if (ACT) {
        var v: array<f32, 8>;
        for (var i = 0u; i < 8u; i = i + 1u) {
            let g = G[P[8] + 8u * c + i];
            v[i] = (q[i] - gptq_z(g, n)) * scale16(g * N + n);
        }
        wv[0] = vec4<f32>(v[0], v[1], v[2], v[3]);
        wv[1] = vec4<f32>(v[4], v[5], v[6], v[7]);
    } else {
        let g = (8u * c) / P[2];
        let z = gptq_z(g, n);
        let s = scale16(g * N + n);
        wv[0] = (vec4<f32>(q[0], q[1], q[2], q[3]) - z) * s;
        wv[1] = (vec4<f32>(q[4], q[5], q[6], q[7]) - z) * s;
    }
}

// Ternary TQ1_0, TQ2_0 and 4-bit float MXFP4, NVFP4: decoders of 32-weight chunks,
// `dec_<fmt>(bo, sub)` -> wv (bytes.wgsl). Block layouts (little endian, ggml-common.h):
//   TQ1_0 (54 B / 256): u8 qs[48] (5 trits per byte, base-3 fixed point), u8 qh[4] (4 trits per
//         byte), f16 d; trit n of byte b: ((b * 3^n mod 256) * 3) >> 8; weight d * (t - 1).
//         qs[0:32] trit n -> weight 32n + m; qs[32:48] -> 160 + 16n + m; qh -> 240 + 4n + m.
//   TQ2_0 (66 B / 256): u8 qs[64] (weight 128c + 32s + m at bits 2s of qs[32c + m]), f16 d;
//         d * (q - 1)
//   MXFP4 (17 B / 32):  u8 e (E8M0), u8 qs[16] (e2m1 nibbles, j < 16 low); 2^(e-128) * kv[q]
//   NVFP4 (36 B / 64):  u8 d[4] (UE4M3 per 16), u8 qs[32]; sub-block s: low nibbles of
//         qs[8s .. 8s+8] -> weights 16s .. 16s+7, high nibbles -> 16s+8 .. 16s+15;
//         ue4m3(d[s]) / 2 * kv[q]
// kv = kvalues_mxfp4 (e2m1 doubled: 0 1 2 3 4 6 8 12, bit 3 the sign) is computed, not looked up.
// Scales are built from their bits (exact powers of two), products exact: bit-exact with gguf-py
// (MXFP4's subnormal scales, E8M0 codes 0 and 1, are built from bits too: see mx_sub).
// Reference: llama.cpp ggml-quants.c dequantize_row_tq1_0, _tq2_0, _mxfp4, _nvfp4;
// ggml-impl.h ggml_e8m0_to_fp32_half, ggml_ue4m3_to_fp32.

fn fam_init(l: u32) {}

fn trit(b: u32, n: u32) -> f32 {
    var p = 1u;
    for (var i = 0u; i < n; i = i + 1u) { p = p * 3u; }
    return f32(i32((((b * p) & 255u) * 3u) >> 8u) - 1);
}

fn dec_tq1_0(bo: u32, sub: u32) {
    let d = rd_f16(bo + 52u);
    for (var j = 0u; j < 32u; j = j + 1u) {
        let e = 32u * sub + j;
        var o: u32;
        var n: u32;
        if (e < 160u) {
            o = j;
            n = sub;
        } else if (e < 240u) {
            o = 32u + (e - 160u) % 16u;
            n = (e - 160u) / 16u;
        } else {
            o = 48u + (e - 240u) % 4u;
            n = (e - 240u) / 4u;
        }
        wv[j >> 2u][j & 3u] = d * trit(rd_u8(bo + o), n);
    }
}

fn dec_tq2_0(bo: u32, sub: u32) {
    let d = rd_f16(bo + 64u);
    let qo = bo + 32u * (sub >> 2u);
    let sh = 2u * (sub & 3u);
    let q0 = rd4(qo);
    let q1 = rd4(qo + 16u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = d * vec4<f32>(vec4<i32>(crumbs(q0[k], sh)) - 1);
        wv[k + 4u] = d * vec4<f32>(vec4<i32>(crumbs(q1[k], sh)) - 1);
    }
}

// kvalues_mxfp4[q] for four 4-bit codes (integer negation keeps code 8 at +0)
fn kvfp4(q: vec4<u32>) -> vec4<f32> {
    let e = (q >> vec4<u32>(1u)) & vec4<u32>(3u);
    let m = q & vec4<u32>(1u);
    let mag = select((vec4<u32>(2u) + m) << (max(e, vec4<u32>(1u)) - vec4<u32>(1u)), m, e == vec4<u32>(0u));
    let v = vec4<i32>(mag);
    return vec4<f32>(select(v, -v, (q & vec4<u32>(8u)) != vec4<u32>(0u)));
}

// kv[q] * 2^(e - 128) for e < 2 (a subnormal scale), built from bits: GPUs that flush f32
// subnormals (NVIDIA) would turn the product d * kv into 0, where gguf-py keeps it
fn mx_sub(q: vec4<u32>, e: u32) -> vec4<f32> {
    let kv = vec4<i32>(kvfp4(q));
    let t = vec4<u32>(abs(kv)) << vec4<u32>(e + 21u);  // the value in units of 2^-149
    let p = firstLeadingBit(t);
    let normal = ((p - vec4<u32>(22u)) << vec4<u32>(23u)) | ((t >> (max(p, vec4<u32>(23u)) - vec4<u32>(23u))) & vec4<u32>(0x7fffffu));
    let bits = select(t, normal, t >= vec4<u32>(0x800000u));
    return bitcast<vec4<f32>>(select(bits, bits | vec4<u32>(0x80000000u), kv < vec4<i32>(0)));
}

fn dec_mxfp4(bo: u32, sub: u32) {
    let e = rd_u8(bo);
    let q = rd4(bo + 1u);
    if (e < 2u) {
        for (var k = 0u; k < 4u; k = k + 1u) {
            wv[k] = mx_sub(nlo(q[k]), e);
            wv[k + 4u] = mx_sub(nhi(q[k]), e);
        }
        return;
    }
    let d = bitcast<f32>((e - 1u) << 23u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = d * kvfp4(nlo(q[k]));
        wv[k + 4u] = d * kvfp4(nhi(q[k]));
    }
}

// ggml_ue4m3_to_fp32(x) * 0.5
fn ue4m3_half(x: u32) -> f32 {
    if (x == 0u || x == 0x7fu) { return 0.0; }
    let e = (x >> 3u) & 15u;
    let m = x & 7u;
    if (e == 0u) { return f32(m) * 0.0009765625; }
    return f32(8u + m) * bitcast<f32>((e + 116u) << 23u);
}

fn dec_nvfp4(bo: u32, sub: u32) {
    for (var h = 0u; h < 2u; h = h + 1u) {
        let s = 2u * sub + h;
        let d = ue4m3_half(rd_u8(bo + s));
        let a = rd_u32(bo + 4u + 8u * s);
        let b = rd_u32(bo + 8u + 8u * s);
        wv[4u * h] = d * kvfp4(nlo(a));
        wv[4u * h + 1u] = d * kvfp4(nlo(b));
        wv[4u * h + 2u] = d * kvfp4(nhi(a));
        wv[4u * h + 3u] = d * kvfp4(nhi(b));
    }
}

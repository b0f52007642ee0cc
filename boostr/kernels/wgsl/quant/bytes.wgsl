// Byte access to GGML block streams held in u32 words (the QuantTensor layout on WebGPU, see
// boostr/quant/quant_tensor.py): byte i of the stream is bits 8*(i%4) .. 8*(i%4)+7 of word i/4,
// little endian, the end of the stream zero-padded to a whole word. Blocks are NOT realigned:
// a Q8_0 block (34 bytes) starts at byte 34*b, so its f16 scale sits at offsets 0, 34, 68, ...
// and its quants straddle words. Every helper takes a BYTE offset into the bound window `Wq`
// and only reads the words that hold the requested bytes (plus, for the funnel reads `rd4`,
// one word past them, which WebGPU's robust access makes safe at the end of a buffer).
// Also: exact f16 -> f32 (subnormals kept; no reliance on unpack2x16float's denormal mode),
// nibble / crumb / int8 unpacking of four bytes at once, and the lookup tables of the IQ
// formats (`TB`, bytes: grids packed 4 per word, ksigns, kvalues_iq4nl).
// Reference: llama.cpp ggml-common.h (block layouts), ggml-impl.h GGML_FP16_TO_FP32.

// bytes s/8 .. s/8+3 of the 64-bit little-endian pair (a, b), s in {0, 8, 16, 24}
fn fun32(a: u32, b: u32, s: u32) -> u32 {
    return select((a >> s) | (b << ((32u - s) & 31u)), a, s == 0u);
}

fn rd_u8(o: u32) -> u32 { return (Wq[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu; }

fn rd_u16(o: u32) -> u32 {
    let i = o >> 2u;
    let s = (o & 3u) * 8u;
    if (s == 24u) { return (Wq[i] >> 24u) | ((Wq[i + 1u] & 0xffu) << 8u); }
    return (Wq[i] >> s) & 0xffffu;
}

fn rd_u32(o: u32) -> u32 {
    let i = o >> 2u;
    let s = (o & 3u) * 8u;
    if (s == 0u) { return Wq[i]; }
    return fun32(Wq[i], Wq[i + 1u], s);
}

// 16 bytes at byte offset o as four little-endian words
fn rd4(o: u32) -> vec4<u32> {
    let i = o >> 2u;
    let s = (o & 3u) * 8u;
    let a = Wq[i];
    let b = Wq[i + 1u];
    let c = Wq[i + 2u];
    let d = Wq[i + 3u];
    let e = Wq[i + 4u];
    return vec4<u32>(fun32(a, b, s), fun32(b, c, s), fun32(c, d, s), fun32(d, e, s));
}

fn rd_i8(o: u32) -> i32 { return (bitcast<i32>(rd_u8(o) << 24u)) >> 24u; }

// IEEE half bits -> f32, exact for every half (subnormal halves are normal f32s)
fn f16v(h: u32) -> f32 {
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

fn rd_f16(o: u32) -> f32 { return f16v(rd_u16(o)); }

fn bytes4(w: u32) -> vec4<u32> { return vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(0xffu); }

// low / high nibbles of the four bytes of w
fn nlo(w: u32) -> vec4<u32> { return vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u); }
fn nhi(w: u32) -> vec4<u32> { return vec4<u32>(w >> 4u, w >> 12u, w >> 20u, w >> 28u) & vec4<u32>(15u); }

// bits s, s+1 of each byte of w (s even)
fn crumbs(w: u32, s: u32) -> vec4<u32> { return (bytes4(w) >> vec4<u32>(s)) & vec4<u32>(3u); }

// bit s of each byte of w
fn bits4(w: u32, s: u32) -> vec4<u32> { return (bytes4(w) >> vec4<u32>(s)) & vec4<u32>(1u); }

// the four bytes of w as signed int8, in f32
fn i8x4(w: u32) -> vec4<f32> {
    let v = vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w));
    return vec4<f32>(v >> vec4<u32>(24u));
}

// bits 0..3 of `b` (the low nibble) as a vec4 of flags: negate where set
fn sign4(b: u32) -> vec4<bool> { return ((vec4<u32>(b) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) != vec4<u32>(0u); }

fn apply_sign(v: vec4<f32>, b: u32) -> vec4<f32> { return select(v, -v, sign4(b)); }

// ---- lookup tables (word offsets of each table in TB are constants of the family file)
fn tb_u8(o: u32) -> u32 { return (TB[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu; }

// 32 decoded weights of the chunk being processed (decoders `dec_<fmt>(bo, sub)` fill it:
// weight j of chunk `sub` of the block at byte `bo` is wv[j / 4][j % 4])
var<private> wv: array<vec4<f32>, 8>;

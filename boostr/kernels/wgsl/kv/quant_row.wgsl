// KV-cache quantization per token row (as boostr/ops/generic/kv_cache_quant.py, bit for bit):
//   fp8_e4m3: scale = amax(|x_row|) / 448 (1 if amax == 0), code = e4m3(x / scale) (round to nearest
//             even, saturating at +-448; OCP OFP8 spec rev 1.0)
//   int8:     scale = amax(|x_row|) / 127 (1 if amax == 0), code = clamp(rint(x / scale), -127, 127)
//             (rint: half to even), stored as the i8 byte
// f32 arithmetic; divisions are correctly rounded (fdiv_rn), so the codes equal the CPU's.
// Reference: vLLM fp8 / int8 KV cache (per-token scales).
// Layout: x [R, D] contiguous (any float dtype), scale [R] f32, data [R, D] one-byte codes packed
//   four per u32 word (byte i of word w is element 4 w + i). One workgroup (64 threads) per row: a
//   max reduction in workgroup memory, then each thread stores whole words when D % 4 == 0 (WORDS),
//   else single codes through atomic and/or (data is bound as atomic<u32> words).
// P: [0] R, [1] D, [2] x offset, [3] scale offset, [4] data offset (elements, a multiple of 4 with WORDS).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const WORDS: bool = ${WORDS};
const QMAX: f32 = ${QMAX};
var<workgroup> red: array<f32, 64>;

// the byte code of y = x / scale
fn code(y: f32) -> u32 { ${CODE} }

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P[0]) { return; }
    let D = P[1];
    let xb = P[2] + row * D;
    var m = 0.0;
    for (var d = t; d < D; d = d + 64u) { m = max(m, abs(ld_x(xb + d))); }
    red[t] = m;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k = k >> 1u) {
        if (t < k) { red[t] = max(red[t], red[t + k]); }
        workgroupBarrier();
    }
    var scale = fdiv_rn(red[0], QMAX);
    if (scale == 0.0) { scale = 1.0; }
    if (t == 0u) { st_scale(P[3] + row, scale); }
    let ob = P[4] + row * D;
    if (WORDS) {
        for (var w = t; w < D / 4u; w = w + 64u) {
            var word = 0u;
            for (var i = 0u; i < 4u; i = i + 1u) {
                word = word | (code(fdiv_rn(ld_x(xb + 4u * w + i), scale)) << (8u * i));
            }
            atomicStore(&data[ob / 4u + w], word);
        }
    } else {
        for (var d = t; d < D; d = d + 64u) {
            let e = ob + d;
            let sh = (e % 4u) * 8u;
            atomicAnd(&data[e / 4u], ~(0xffu << sh));
            atomicOr(&data[e / 4u], code(fdiv_rn(ld_x(xb + d), scale)) << sh);
        }
    }
}

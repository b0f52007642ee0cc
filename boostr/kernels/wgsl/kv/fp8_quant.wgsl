// KV-cache quantization to fp8 e4m3 per token (as boostr/ops/generic/kv_cache_quant.py, bit for bit):
//   scale = amax(|x_row|) / 448 (1 if amax == 0), code = e4m3(x / scale) (round to nearest even,
//   saturating at +-448; OCP OFP8 spec rev 1.0). f32 arithmetic. Reference: vLLM fp8 KV cache.
// Layout: x [R, D] contiguous (any float dtype), scale [R] f32, data: fp8 codes packed four per u32
//   word (byte i of word w is element 4 w + i). One workgroup (64 threads) per row: a max reduction
//   in workgroup memory, then each thread stores whole words when D % 4 == 0 (WORDS), else single
//   codes through atomic and/or (data is bound as atomic<u32> words).
// P: [0] R, [1] D, [2] x offset, [3] scale offset, [4] data offset (elements, a multiple of 4 with WORDS).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const WORDS: bool = ${WORDS};
var<workgroup> red: array<f32, 64>;

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
    var scale = red[0] / 448.0;
    if (scale == 0.0) { scale = 1.0; }
    if (t == 0u) { st_scale(P[3] + row, scale); }
    let ob = P[4] + row * D;
    if (WORDS) {
        for (var w = t; w < D / 4u; w = w + 64u) {
            var word = 0u;
            for (var i = 0u; i < 4u; i = i + 1u) {
                word = word | (f32_to_e4m3(ld_x(xb + 4u * w + i) / scale) << (8u * i));
            }
            atomicStore(&data[ob / 4u + w], word);
        }
    } else {
        for (var d = t; d < D; d = d + 64u) { st_data(ob + d, ld_x(xb + d) / scale); }
    }
}

// Batched matmul out[b] = a[b] @ b[b] with f32 accumulation: 64x64 output tile per workgroup,
// 16x16 threads each holding a 4x4 register block (rows ty + 16 i, cols tx + 16 j), K in steps of 16
// through workgroup memory. a [B, M, K] and b [B, K, N] at any element strides (stride-0 batch =
// broadcast); out [B, M, N] row-major. P: [0] M, [1] N, [2] K, [3..6) a offset/sam/sak, [6] a batch
// stride, [7..10) b offset/sbk/sbn, [10] b batch stride, [11] out offset, [12] batch0, [13] m0,
// [14] n0 (tile origin of this dispatch), [15] M1, [16] N1 (end of this dispatch's range).
// Reference: Volkov & Demmel 2008; the classic register-blocked SGEMM (e.g. CUTLASS's SIMT tiles).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let M = P[15];
    let N = P[16];
    let K = P[2];
    let bat = P[12] + wid.z;
    let m0 = P[13] + wid.y * 64u;
    let n0 = P[14] + wid.x * 64u;
    let tx = lid.x % 16u;
    let ty = lid.x / 16u;
    let abase = P[3] + bat * P[6];
    let bbase = P[7] + bat * P[10];
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i = i + 1u) { acc[i] = 0.0; }
    for (var k0 = 0u; k0 < K; k0 = k0 + 16u) {
        for (var i = 0u; i < 4u; i = i + 1u) {
            let idx = lid.x + i * 256u;
            let am = idx / 16u;
            let ak = idx % 16u;
            var av = 0.0;
            if (m0 + am < M && k0 + ak < K) { av = ld_a(abase + (m0 + am) * P[4] + (k0 + ak) * P[5]); }
            As[ak * 64u + am] = av;
            let bk = idx / 64u;
            let bn = idx % 64u;
            var bv = 0.0;
            if (k0 + bk < K && n0 + bn < N) { bv = ld_b(bbase + (k0 + bk) * P[8] + (n0 + bn) * P[9]); }
            Bs[bk * 64u + bn] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk = kk + 1u) {
            var ar: array<f32, 4>;
            var br: array<f32, 4>;
            for (var i = 0u; i < 4u; i = i + 1u) {
                ar[i] = As[kk * 64u + ty + 16u * i];
                br[i] = Bs[kk * 64u + tx + 16u * i];
            }
            for (var i = 0u; i < 4u; i = i + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) { acc[i * 4u + j] = fma(ar[i], br[j], acc[i * 4u + j]); }
            }
        }
        workgroupBarrier();
    }
    let obase = P[11] + bat * P[0] * P[1];
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = m0 + ty + 16u * i;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = n0 + tx + 16u * j;
            if (m < M && n < N) { st_out(obase + m * P[1] + n, acc[i * 4u + j]); }
        }
    }
}

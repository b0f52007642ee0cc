// Batched matmul out[b] = a[b] @ b[b] with f32 accumulation, register-blocked and tiled:
// a workgroup (256 threads, 16 x 16) computes a BM x 128 tile of out (BM = 64 * WM); thread (tx, ty)
// holds a (4 * WM) x 8 block: rows g * 64 + 4 ty + i (g < WM, i < 4), cols h * 64 + 4 tx + j (h < 2, j < 4),
// as vec4 accumulators. K advances in steps of BK = 16 through workgroup memory (As [BK][BM], Bs [BK][BN]
// as vec4 rows, one padding vec4 per row); the next K step's global loads are issued before this
// step's FMAs (register double buffering). Shared storage type ST is f32, or f16 for f16 inputs
// (halves stay halves in workgroup memory and widen to f32 at the FMA).
// Loaders: LA 0 = vec4 along k (a row-major), 1 = vec4 along m (a transposed), 2 = scalar any strides;
// LB 0 = vec4 along n (b row-major), 1 = vec4 along k (b = W^T of a row-major W), 2 = scalar.
// vec4 modes need the vector dim % 4 == 0 and 4-element-aligned offsets / other strides (host checks).
// Layout: a [B, M, K], b [B, K, N] at element strides (stride-0 batch = broadcast); out [B, M, N]
// row-major. P: [0] M, [1] N, [2] K, [3..6) a offset/sam/sak, [6] a batch stride, [7..10) b
// offset/sbk/sbn, [10] b batch stride, [11] out offset, [12] batch0, [13] m0, [14] n0 (tile origin of
// this dispatch), [15] M1, [16] N1 (end of this dispatch's range).
// The accumulators are only indexed by constants and the per-row stores are spelled out, so nothing
// depends on the driver unrolling a loop to keep them in registers.
// Reference: Volkov & Demmel 2008; CUTLASS SIMT SGEMM tiles (128x128x8, 8x8 per thread).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

const LA: u32 = ${LA}u;
const LB: u32 = ${LB}u;
const WM: u32 = ${WM}u;
const OUT4: bool = ${OUT4};
const BM: u32 = 64u * WM;
const BK: u32 = 16u;
const SA: u32 = BM / 4u + 1u;
const SB: u32 = 33u;
var<workgroup> As: array<vec4<${ST}>, BK * SA>;
var<workgroup> Bs: array<vec4<${ST}>, BK * SB>;
var<private> lid_: u32;
var<private> m0_: u32;
var<private> n0_: u32;
var<private> ab_: u32;
var<private> bb_: u32;

fn zero4() -> vec4<${ST}> { return vec4<${ST}>(${ST}(0.0)); }

// vec4 number r (< WM) of this invocation's share of the A tile at k0 (global -> registers)
fn load_a(k0: u32, r: u32) -> vec4<${ST}> {
    let M = P[15];
    let K = P[2];
    let q = lid_ + 256u * r;
    var v = zero4();
    if (LA == 0u) {
        let row = q / 4u;
        let k = k0 + (q % 4u) * 4u;
        if (m0_ + row < M && k < K) { v = a4(ab_ + (m0_ + row) * P[4] + k); }
    } else if (LA == 1u) {
        let kk = q / (BM / 4u);
        let m = m0_ + (q % (BM / 4u)) * 4u;
        if (k0 + kk < K && m < M) { v = a4(ab_ + (k0 + kk) * P[5] + m); }
    } else {
        for (var j = 0u; j < 4u; j = j + 1u) {
            let e = lid_ + 256u * (4u * r + j);
            let kk = e % BK;
            let m = e / BK;
            if (m0_ + m < M && k0 + kk < K) { v[j] = a1(ab_ + (m0_ + m) * P[4] + (k0 + kk) * P[5]); }
        }
    }
    return v;
}

// registers -> As (k-major: As[k * SA + m / 4][m % 4])
fn store_a(v: vec4<${ST}>, r: u32) {
    let q = lid_ + 256u * r;
    if (LA == 0u) {
        let row = q / 4u;
        let kq = q % 4u;
        for (var j = 0u; j < 4u; j = j + 1u) { As[(kq * 4u + j) * SA + row / 4u][row % 4u] = v[j]; }
    } else if (LA == 1u) {
        As[(q / (BM / 4u)) * SA + q % (BM / 4u)] = v;
    } else {
        for (var j = 0u; j < 4u; j = j + 1u) {
            let e = lid_ + 256u * (4u * r + j);
            let m = e / BK;
            As[(e % BK) * SA + m / 4u][m % 4u] = v[j];
        }
    }
}

fn load_b(k0: u32, r: u32) -> vec4<${ST}> {
    let N = P[16];
    let K = P[2];
    let q = lid_ + 256u * r;
    var v = zero4();
    if (LB == 0u) {
        let kk = q / 32u;
        let n = n0_ + (q % 32u) * 4u;
        if (k0 + kk < K && n < N) { v = b4(bb_ + (k0 + kk) * P[8] + n); }
    } else if (LB == 1u) {
        let n = q / 4u;
        let k = k0 + (q % 4u) * 4u;
        if (n0_ + n < N && k < K) { v = b4(bb_ + (n0_ + n) * P[9] + k); }
    } else {
        for (var j = 0u; j < 4u; j = j + 1u) {
            let e = lid_ + 256u * (4u * r + j);
            let nn = e % 128u;
            let kk = e / 128u;
            if (k0 + kk < K && n0_ + nn < N) { v[j] = b1(bb_ + (k0 + kk) * P[8] + (n0_ + nn) * P[9]); }
        }
    }
    return v;
}

fn store_b(v: vec4<${ST}>, r: u32) {
    let q = lid_ + 256u * r;
    if (LB == 0u) {
        Bs[(q / 32u) * SB + q % 32u] = v;
    } else if (LB == 1u) {
        let n = q / 4u;
        let kq = q % 4u;
        for (var j = 0u; j < 4u; j = j + 1u) { Bs[(kq * 4u + j) * SB + n / 4u][n % 4u] = v[j]; }
    } else {
        for (var j = 0u; j < 4u; j = j + 1u) {
            let e = lid_ + 256u * (4u * r + j);
            let nn = e % 128u;
            Bs[(e / 128u) * SB + nn / 4u][nn % 4u] = v[j];
        }
    }
}

// row m of the tile: columns n0 + 4 tx .. + 3 from v0 and n0 + 64 + 4 tx .. + 3 from v1
fn put_row(ob: u32, m: u32, tx: u32, v0: vec4<f32>, v1: vec4<f32>) {
    if (m >= P[15]) { return; }
    let N = P[16];
    let base = ob + m * P[1];
    let n = n0_ + tx * 4u;
    if (OUT4 && n + 67u < N) {
        st_c4(base + n, v0);
        st_c4(base + n + 64u, v1);
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        if (n + j < N) { st_c1(base + n + j, v0[j]); }
        if (n + 64u + j < N) { st_c1(base + n + 64u + j, v1[j]); }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let K = P[2];
    let bat = P[12] + wid.z;
    lid_ = lid;
    m0_ = P[13] + wid.y * BM;
    n0_ = P[14] + wid.x * 128u;
    ab_ = P[3] + bat * P[6];
    bb_ = P[7] + bat * P[10];
    let tx = lid % 16u;
    let ty = lid / 16u;
    // c[2 i + h]: rows 4 ty + i, column half h; c[8 + 2 i + h]: rows 64 + 4 ty + i (WM == 2)
    var c: array<vec4<f32>, 16>;  // zero-initialized; every index below is a constant (stays in registers)
    var ra0 = load_a(0u, 0u);
    var ra1 = zero4();
    if (WM == 2u) { ra1 = load_a(0u, 1u); }
    var rb0 = load_b(0u, 0u);
    var rb1 = load_b(0u, 1u);
    for (var k0 = 0u; k0 < K; k0 = k0 + BK) {
        store_a(ra0, 0u);
        if (WM == 2u) { store_a(ra1, 1u); }
        store_b(rb0, 0u);
        store_b(rb1, 1u);
        workgroupBarrier();
        if (k0 + BK < K) {
            ra0 = load_a(k0 + BK, 0u);
            if (WM == 2u) { ra1 = load_a(k0 + BK, 1u); }
            rb0 = load_b(k0 + BK, 0u);
            rb1 = load_b(k0 + BK, 1u);
        }
        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            let b0 = vec4<f32>(Bs[kk * SB + tx]);
            let b1 = vec4<f32>(Bs[kk * SB + 16u + tx]);
            let a = vec4<f32>(As[kk * SA + ty]);
            c[0] = fma(vec4<f32>(a.x), b0, c[0]);
            c[1] = fma(vec4<f32>(a.x), b1, c[1]);
            c[2] = fma(vec4<f32>(a.y), b0, c[2]);
            c[3] = fma(vec4<f32>(a.y), b1, c[3]);
            c[4] = fma(vec4<f32>(a.z), b0, c[4]);
            c[5] = fma(vec4<f32>(a.z), b1, c[5]);
            c[6] = fma(vec4<f32>(a.w), b0, c[6]);
            c[7] = fma(vec4<f32>(a.w), b1, c[7]);
            if (WM == 2u) {
                let e = vec4<f32>(As[kk * SA + 16u + ty]);
                c[8] = fma(vec4<f32>(e.x), b0, c[8]);
                c[9] = fma(vec4<f32>(e.x), b1, c[9]);
                c[10] = fma(vec4<f32>(e.y), b0, c[10]);
                c[11] = fma(vec4<f32>(e.y), b1, c[11]);
                c[12] = fma(vec4<f32>(e.z), b0, c[12]);
                c[13] = fma(vec4<f32>(e.z), b1, c[13]);
                c[14] = fma(vec4<f32>(e.w), b0, c[14]);
                c[15] = fma(vec4<f32>(e.w), b1, c[15]);
            }
        }
        workgroupBarrier();
    }
    let ob = P[11] + bat * P[0] * P[1];
    let m = m0_ + ty * 4u;
    put_row(ob, m, tx, c[0], c[1]);
    put_row(ob, m + 1u, tx, c[2], c[3]);
    put_row(ob, m + 2u, tx, c[4], c[5]);
    put_row(ob, m + 3u, tx, c[6], c[7]);
    if (WM == 2u) {
        put_row(ob, m + 64u, tx, c[8], c[9]);
        put_row(ob, m + 65u, tx, c[10], c[11]);
        put_row(ob, m + 66u, tx, c[12], c[13]);
        put_row(ob, m + 67u, tx, c[14], c[15]);
    }
}

// Stable row sort by a bitonic network over (key, original index) pairs, so equal keys keep their
// index order (ties by lower index) and NaN sorts as the largest key. Rows are padded to P2 = next
// power of two; padding (index >= C) always sorts last. Entries: `init` loads keys/ids [R, P2],
// `step` runs one compare-exchange stage (k, j) over the whole buffer, `local` runs many stages
// inside blocks of L = min(1024, P2) elements in workgroup memory (mode 0: every stage with
// k <= L; mode 1: the stages j < L of one k > L, after `step` did those with j >= L), and `write`
// stores the first K columns of each row. A row of 2^p elements takes 1 + sum over k > L of
// (log2 k - log2 L + 1) dispatches instead of p (p + 1) / 2.
// Layout: x [R, C] contiguous; values, indices [R, K]. P: [0] R, [1] C, [2] P2, [3] x offset,
// [4] k, [5] j, [6] K, [7] values offset, [8] indices offset, [9] descending, [10] local mode, [11] L.
// Reference: Batcher, "Sorting networks and their applications" (1968).
${DECLS}

fn isnan_(x: ${C}) -> bool { return ${NANTEST}; }

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

fn before(ka: ${C}, ia: u32, kb: ${C}, ib: u32) -> bool {
    let n = P[1];
    if (ia >= n) { return false; }
    if (ib >= n) { return true; }
    let na = isnan_(ka);
    let nb = isnan_(kb);
    if (na && nb) { return ia < ib; }
    if (na) { return P[9] == 1u; }
    if (nb) { return P[9] == 0u; }
    if (ka != kb) { return select((ka < kb), (ka > kb), P[9] == 1u); }
    return ia < ib;
}

fn tid(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * 256u; }

@compute @workgroup_size(256)
fn init(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = tid(gid, nwg);
    if (t >= P[0] * P[2]) { return; }
    let r = t / P[2];
    let c = t % P[2];
    ids[t] = c;
    if (c < P[1]) { keys[t] = ld_x(P[3] + r * P[1] + c); } else { keys[t] = ${C}(0); }
}

@compute @workgroup_size(256)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = tid(gid, nwg);
    let half = P[2] / 2u;
    if (t >= P[0] * half) { return; }
    let r = t / half;
    let q = t % half;
    let j = P[5];
    let i = 2u * j * (q / j) + (q % j);
    let l = i + j;
    let a = r * P[2] + i;
    let b = r * P[2] + l;
    let up = (i & P[4]) == 0u;
    var sw: bool;
    if (up) { sw = before(keys[b], ids[b], keys[a], ids[a]); } else { sw = before(keys[a], ids[a], keys[b], ids[b]); }
    if (sw) {
        let tk = keys[a];
        keys[a] = keys[b];
        keys[b] = tk;
        let ti = ids[a];
        ids[a] = ids[b];
        ids[b] = ti;
    }
}

@compute @workgroup_size(256)
fn write(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = tid(gid, nwg);
    if (t >= P[0] * P[6]) { return; }
    let r = t / P[6];
    let c = t % P[6];
    st_values(P[7] + t, keys[r * P[2] + c]);
    st_indices(P[8] + t, i32(ids[r * P[2] + c]));
}

var<workgroup> lk: array<${C}, 1024>;
var<workgroup> li: array<u32, 1024>;

// compare-exchange of the pair (i, i + j) of a block in workgroup memory; bit k of the row index decides
// the direction (gi: the block's first index in the row)
fn local_cx(gi: u32, q: u32, k: u32, j: u32) {
    let i = 2u * j * (q / j) + (q % j);
    let l = i + j;
    let up = ((gi + i) & k) == 0u;
    var sw: bool;
    if (up) { sw = before(lk[l], li[l], lk[i], li[i]); } else { sw = before(lk[i], li[i], lk[l], li[l]); }
    if (sw) {
        let tk = lk[i];
        lk[i] = lk[l];
        lk[l] = tk;
        let ti = li[i];
        li[i] = li[l];
        li[l] = ti;
    }
}

@compute @workgroup_size(256)
fn local(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
    let L = P[11];
    let blk = wid.x + wid.y * nwg.x;
    let per_row = P[2] / L;
    if (blk >= P[0] * per_row) { return; }
    let base = (blk / per_row) * P[2];
    let gi = (blk % per_row) * L;
    for (var e = lid; e < L; e = e + 256u) {
        lk[e] = keys[base + gi + e];
        li[e] = ids[base + gi + e];
    }
    workgroupBarrier();
    let half = L / 2u;
    if (P[10] == 0u) {
        for (var k = 2u; k <= L; k = k << 1u) {
            for (var j = k >> 1u; j > 0u; j = j >> 1u) {
                for (var q = lid; q < half; q = q + 256u) { local_cx(gi, q, k, j); }
                workgroupBarrier();
            }
        }
    } else {
        for (var j = half; j > 0u; j = j >> 1u) {
            for (var q = lid; q < half; q = q + 256u) { local_cx(gi, q, P[4], j); }
            workgroupBarrier();
        }
    }
    for (var e = lid; e < L; e = e + 256u) {
        keys[base + gi + e] = lk[e];
        ids[base + gi + e] = li[e];
    }
}

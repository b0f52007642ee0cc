// Stable row sort by a bitonic network over (key, original index) pairs, so equal keys keep their
// index order (ties by lower index) and NaN sorts as the largest key. Rows are padded to P2 = next
// power of two; padding (index >= C) always sorts last. Entries: `init` loads keys/ids [R, P2],
// `step` runs one compare-exchange stage (k, j), `write` stores the first K columns of each row.
// Layout: x [R, C] contiguous; values, indices [R, K]. P: [0] R, [1] C, [2] P2, [3] x offset,
// [4] k, [5] j, [6] K, [7] values offset, [8] indices offset, [9] descending.
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

// Row reduction: out[r] = OP(x[r, 0..C)) for OP in sum, prod, max, min, argmax, argmin, any, all,
// by one workgroup (256 threads) over segment p of row r; with S > 1 segments per row a first
// pass writes partials [R, S] (values, and indices for arg ops) and a second pass reduces them.
// Each invocation folds a strided slice of the segment (vec4 loads when VEC: contiguous, aligned,
// not an arg op), then WGRED combines the 256 partials into (acc, ai) of invocation 0: with
// subgroups, a shuffle-xor butterfly inside each subgroup and the subgroup results in order
// (reduce/wgred_sg.wgsl); without, a tree in workgroup memory (reduce/wgred_tree.wgsl).
// Layout (P): [0] g0 first workgroup, [1] C columns, [2] row stride, [3] x offset, [4] S segments
// per row, [5] segment length, [6] out offset, [7] 1 if input indices come from xi, [8] xi offset,
// [9] groups in this dispatch. NaN propagates through max/min; argmax/argmin take the first extreme,
// NaN counting as the extreme (numpy). Reference: Harris, "Optimizing Parallel Reduction in CUDA".
${DECLS}
${WGSUM}

fn isnan_(x: ${C}) -> bool { return ${NANTEST}; }

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

const OPID: u32 = ${OPID}u;
const ARG: bool = ${ARG};
const NONE: u32 = 0xffffffffu;
const VEC: bool = ${VEC};
var<workgroup> sv: array<${C}, 256>;
var<workgroup> sx: array<u32, 256>;

fn mx(a: ${C}, b: ${C}) -> ${C} { if (isnan_(a)) { return a; } if (isnan_(b)) { return b; } return max(a, b); }
fn mn(a: ${C}, b: ${C}) -> ${C} { if (isnan_(a)) { return a; } if (isnan_(b)) { return b; } return min(a, b); }

fn comb(a: ${C}, b: ${C}) -> ${C} {
    switch OPID {
        case 0u: { return a + b; }
        case 1u: { return a * b; }
        case 2u: { return mx(a, b); }
        case 3u: { return mn(a, b); }
        case 6u: { return select(${C}(0), ${C}(1), a != ${C}(0) || b != ${C}(0)); }
        default: { return select(${C}(0), ${C}(1), a != ${C}(0) && b != ${C}(0)); }
    }
}

// does (vb, ib) replace (va, ia) for argmax (OPID 4) / argmin (OPID 5)?
fn better(va: ${C}, ia: u32, vb: ${C}, ib: u32) -> bool {
    if (ib == NONE) { return false; }
    if (ia == NONE) { return true; }
    let na = isnan_(va);
    let nb = isnan_(vb);
    if (na || nb) { if (na && nb) { return ib < ia; } return nb; }
    if (vb == va) { return ib < ia; }
    return select((vb < va), (vb > va), OPID == 4u);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>${SGB}) {
    ${SGI}
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[9]) { return; }
    let g = P[0] + lw;
    let r = g / P[4];
    let seg = g % P[4];
    let c0 = seg * P[5];
    let c1 = min(P[1], c0 + P[5]);
    var acc: ${C} = ${IDENT};
    var ai: u32 = NONE;
    if (VEC) {
        for (var c = c0 + lid * 4u; c < c1; c = c + 1024u) {
            let v = x4(P[3] + r * P[2] + c);
            acc = comb(acc, comb(comb(v.x, v.y), comb(v.z, v.w)));
        }
    } else {
        for (var c = c0 + lid; c < c1; c = c + 256u) {
            let v = x1(P[3] + r * P[2] + c);
            if (ARG) {
                var i = c;
                if (P[7] == 1u) { i = ld_xi(P[8] + r * P[2] + c); }
                if (better(acc, ai, v, i)) { acc = v; ai = i; }
            } else {
                acc = comb(acc, v);
            }
        }
    }
    ${WGRED}
    if (lid == 0u) {
        ${STORE}
    }
}

// Inclusive prefix sum of each row: out[r, c] = sum_{j <= c} x[r, j], one workgroup per row,
// 256-element blocks scanned in workgroup memory (Hillis-Steele) with a running carry.
// Layout: x, out [R, C] row-major; P: [0] r0, [1] C, [2] x offset, [3] out offset, [4] rows here.
// Reference: Hillis & Steele, "Data parallel algorithms" (1986).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
var<workgroup> buf: array<${C}, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lw = wid.x + wid.y * nwg.x;
    if (lw >= P[4]) { return; }
    let r = P[0] + lw;
    let C = P[1];
    var carry: ${C} = ${C}(0);
    for (var base = 0u; base < C; base = base + 256u) {
        let c = base + lid.x;
        var v: ${C} = ${C}(0);
        if (c < C) { v = ${CVT}; }
        buf[lid.x] = v;
        workgroupBarrier();
        for (var k = 1u; k < 256u; k = k << 1u) {
            var add: ${C} = ${C}(0);
            if (lid.x >= k) { add = buf[lid.x - k]; }
            workgroupBarrier();
            buf[lid.x] = buf[lid.x] + add;
            workgroupBarrier();
        }
        if (c < C) { st_out(P[3] + r * C + c, carry + buf[lid.x]); }
        carry = carry + buf[255];
        workgroupBarrier();
    }
}

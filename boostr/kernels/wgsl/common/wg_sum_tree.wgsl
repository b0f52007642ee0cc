// Workgroup-wide reductions over the 256 invocations of a workgroup without subgroup operations:
// a binary tree in workgroup memory (8 halving steps, a barrier each). wg_sum4 / wg_sum / wg_max
// return the total to every invocation and must be called in workgroup-uniform control flow.
// Same interface as common/wg_sum_sg.wgsl. Reference: Harris, "Optimizing parallel reduction in CUDA".
var<workgroup> wg_part: array<vec4<f32>, 256>;

fn wg_sum4(v: vec4<f32>, lid: u32) -> vec4<f32> {
    wg_part[lid] = v;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k = k >> 1u) {
        if (lid < k) { wg_part[lid] = wg_part[lid] + wg_part[lid + k]; }
        workgroupBarrier();
    }
    let t = wg_part[0];
    workgroupBarrier();
    return t;
}

fn wg_sum(v: f32, lid: u32) -> f32 { return wg_sum4(vec4<f32>(v, 0.0, 0.0, 0.0), lid).x; }

fn wg_max(v: f32, lid: u32) -> f32 {
    wg_part[lid].x = v;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k = k >> 1u) {
        if (lid < k) { wg_part[lid].x = max(wg_part[lid].x, wg_part[lid + k].x); }
        workgroupBarrier();
    }
    let t = wg_part[0].x;
    workgroupBarrier();
    return t;
}

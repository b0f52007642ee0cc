// Workgroup-wide reductions over the 256 invocations of a workgroup, with subgroup operations.
// wg_sum4: subgroupAdd inside each subgroup, one partial per subgroup in workgroup memory indexed
// by the subgroup_id builtin (no subgroup size or lane layout is assumed: sizes 4..128 all work),
// then every invocation adds the num_subgroups partials in subgroup order (deterministic).
// wg_max: the same with subgroupMax. Both return the total to every invocation and must be called
// in workgroup-uniform control flow. The entry point stores its subgroup builtins in sg_lane, sg_id,
// sg_n, sg_size first (template values SGB / SGI). Reference: WGSL subgroups (W3C WebGPU, 2024).
var<private> sg_lane: u32;
var<private> sg_id: u32;
var<private> sg_n: u32;
var<private> sg_size: u32;
var<workgroup> wg_part: array<vec4<f32>, 64>;

fn wg_sum4(v: vec4<f32>, lid: u32) -> vec4<f32> {
    let s = subgroupAdd(v);
    if (sg_lane == 0u) { wg_part[sg_id] = s; }
    workgroupBarrier();
    var t = wg_part[0];
    for (var i = 1u; i < sg_n; i = i + 1u) { t = t + wg_part[i]; }
    workgroupBarrier();
    return t;
}

fn wg_sum(v: f32, lid: u32) -> f32 {
    let s = subgroupAdd(v);
    if (sg_lane == 0u) { wg_part[sg_id].x = s; }
    workgroupBarrier();
    var t = wg_part[0].x;
    for (var i = 1u; i < sg_n; i = i + 1u) { t = t + wg_part[i].x; }
    workgroupBarrier();
    return t;
}

fn wg_max(v: f32, lid: u32) -> f32 {
    let s = subgroupMax(v);
    if (sg_lane == 0u) { wg_part[sg_id].x = s; }
    workgroupBarrier();
    var t = wg_part[0].x;
    for (var i = 1u; i < sg_n; i = i + 1u) { t = max(t, wg_part[i].x); }
    workgroupBarrier();
    return t;
}

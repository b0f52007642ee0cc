// Index helpers: a negative index counts from the end, then clamps into [0, d - 1] (GPU policy).
fn clampi(v: i32, d: u32) -> u32 {
    var i = v;
    if (i < 0) { i = i + i32(d); }
    return u32(clamp(i, 0, i32(d) - 1));
}

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * 256u; }


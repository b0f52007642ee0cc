    // Combine the workgroup's 256 (acc, ai) partials with subgroup shuffles (inserted into reduce.wgsl;
    // comb / better define the op). A butterfly over xor distances 1, 2, .. < subgroup_size leaves every
    // lane with its subgroup's result, whatever the (power of two) subgroup size; the first lane of each
    // subgroup stores it at its subgroup_id, and invocation 0 folds the num_subgroups results in order
    // (starting from subgroup 0's, so nothing assumes which subgroup invocation 0 belongs to).
    for (var o = 1u; o < sg_size; o = o << 1u) {
        let v2 = subgroupShuffleXor(acc, o);
        if (ARG) {
            let i2 = subgroupShuffleXor(ai, o);
            if (better(acc, ai, v2, i2)) { acc = v2; ai = i2; }
        } else {
            acc = comb(acc, v2);
        }
    }
    if (sg_lane == 0u) { sv[sg_id] = acc; sx[sg_id] = ai; }
    workgroupBarrier();
    if (lid == 0u) {
        acc = sv[0];
        ai = sx[0];
        for (var i = 1u; i < sg_n; i = i + 1u) {
            if (ARG) {
                if (better(acc, ai, sv[i], sx[i])) { acc = sv[i]; ai = sx[i]; }
            } else {
                acc = comb(acc, sv[i]);
            }
        }
    }

    // Combine the workgroup's 256 (acc, ai) partials as a tree in workgroup memory (inserted into
    // reduce.wgsl; comb / better define the op): 8 halving steps, then invocation 0 holds the result.
    sv[lid] = acc;
    sx[lid] = ai;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            if (ARG) {
                if (better(sv[lid], sx[lid], sv[lid + s], sx[lid + s])) {
                    sv[lid] = sv[lid + s];
                    sx[lid] = sx[lid + s];
                }
            } else {
                sv[lid] = comb(sv[lid], sv[lid + s]);
            }
        }
        workgroupBarrier();
    }
    acc = sv[0];
    ai = sx[0];

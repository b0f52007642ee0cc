// Paged KV-cache write (vLLM reshape_and_cache): scatter token rows into the blocks, both caches at once.
//
// Formula: for token t with slot = slots[t] >= 0 (clamped to [0, N * bs)), blocks_flat[slot, :] = src[t, :]
// for k and v; slot -1 skips the token. Elements are moved as raw bits of ${W} bytes (the source is cast
// to the blocks' dtype beforehand).
// Layout: k, v [T, Hkv, D] with element strides (ks[3], vs[3]); k/v_blocks [N, bs, Hkv, D] contiguous
// (row = Hkv * D elements); slots [T] int64.
// Reference: Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention" (SOSP 2023).
#include "../common/dtypes.cuh"

struct St6 {
  i64 v[6];
};

extern "C" __global__ void __launch_bounds__(256)
    reshape_and_cache_b${W}(${U}* __restrict__ kb, ${U}* __restrict__ vb, const ${U}* __restrict__ k,
                            const ${U}* __restrict__ v, const i64* __restrict__ slots, i64 T, i64 Hkv, i64 D,
                            i64 rows, St6 st) {
  const i64 per = Hkv * D, total = T * per;
  GRID_STRIDE(i, total) {
    const i64 t = i / per, hd = i % per, h = hd / D, d = hd % D;
    i64 slot = slots[t];
    if (slot < 0) continue;
    slot = slot >= rows ? rows - 1 : slot;
    kb[slot * per + hd] = k[t * st.v[0] + h * st.v[1] + d * st.v[2]];
    vb[slot * per + hd] = v[t * st.v[3] + h * st.v[4] + d * st.v[5]];
  }
}

// Data-movement indexing for every storage type (by element size B) and index type I:
// index_select, gather and scatter (overwrite). Index values are clamped into range.
//
// Formula (v = idx value, n = size of the indexed dim; v < 0 becomes v + n, then clamp to [0, n)):
//   index_select: out[o, j, i] = x[o, v(idx[j]), i];
//   gather:       out[p] = x[coords(p) with dim -> v(idx[p])]            (torch.gather);
//   scatter:      out[coords(p) with dim -> v(idx[p])] = src[p]          (torch.scatter).
// Layout: index_select views x [outer, n, inner] and out [outer, k, inner] (contiguous).
// gather/scatter walk p over index's shape (Layout.shape); Layout.st[0] holds the contiguous
// strides of x (gather) or out (scatter) with the ``dim`` entry zeroed, ``dstride`` is that
// dim's stride; idx and src are contiguous with index's shape.
// Reference: torch.index_select / torch.gather / torch.scatter.
#include "../common/dtypes.cuh"

template <class I> __device__ __forceinline__ i64 clamp_index(I raw, i64 n) {
  i64 v = (i64)raw;
  if (v < 0) v += n;
  return v < 0 ? 0 : (v >= n ? n - 1 : v);
}

#define INDEX_ENTRIES(B, U, IN, I)                                                                        \
  extern "C" __global__ void index_select_b##B##_##IN(U* __restrict__ out, const U* __restrict__ x,          \
                                                      const I* __restrict__ idx, i64 total, i64 n, i64 k,    \
                                                      i64 inner) {                                           \
    GRID_STRIDE(p, total) {                                                                                  \
      const i64 i = p % inner, t = p / inner, j = t % k, o = t / k;                                          \
      out[p] = x[(o * n + clamp_index(idx[j], n)) * inner + i];                                              \
    }                                                                                                        \
  }                                                                                                          \
  extern "C" __global__ void gather_b##B##_##IN(U* __restrict__ out, const U* __restrict__ x,                \
                                                const I* __restrict__ idx, i64 total, i64 n, i64 dstride,    \
                                                const Layout L) {                                            \
    GRID_STRIDE(p, total) {                                                                                  \
      i64 o;                                                                                                 \
      layout_offsets<1>(L, p, &o);                                                                           \
      out[p] = x[o + clamp_index(idx[p], n) * dstride];                                                      \
    }                                                                                                        \
  }                                                                                                          \
  extern "C" __global__ void scatter_b##B##_##IN(U* __restrict__ out, const U* __restrict__ src,             \
                                                 const I* __restrict__ idx, i64 total, i64 n, i64 dstride,   \
                                                 const Layout L) {                                           \
    GRID_STRIDE(p, total) {                                                                                  \
      i64 o;                                                                                                 \
      layout_offsets<1>(L, p, &o);                                                                           \
      out[o + clamp_index(idx[p], n) * dstride] = src[p];                                                    \
    }                                                                                                        \
  }

#define INDEX_SIZES(IN, I)                  \
  INDEX_ENTRIES(1, unsigned char, IN, I)    \
  INDEX_ENTRIES(2, unsigned short, IN, I)   \
  INDEX_ENTRIES(4, unsigned int, IN, I)     \
  INDEX_ENTRIES(8, u64, IN, I)

INDEX_SIZES(i32, int)
INDEX_SIZES(i64, i64)

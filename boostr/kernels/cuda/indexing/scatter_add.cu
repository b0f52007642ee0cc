// Accumulating scatter for dtype ${N}: out[coords(p) with dim -> v(idx[p])] += src[p].
//
// Formula: atomic read-modify-write per element; halves add in f32 and round once per update;
// bool accumulates as logical or; 1- and 2-byte types use a compare-and-swap loop on the
// aligned 32-bit word that holds them. Index values are clamped into range (see indexing.cu).
// Layout: p walks index's shape (Layout.shape); Layout.st[0] = out's contiguous strides with
// ``dim`` zeroed, ``dstride`` = out's stride at dim; idx and src contiguous with index's shape.
// Reference: torch.scatter_add_; CUDA C++ Programming Guide, "Atomic Functions".
#include "../common/dtypes.cuh"

typedef ${T} T;
typedef Acc<T>::type A;

__device__ __forceinline__ void atomic_acc(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_acc(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_acc(int* p, int v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_acc(u32* p, u32 v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_acc(i64* p, i64 v) { atomicAdd((u64*)p, (u64)v); }
template <class X> __device__ __forceinline__ void atomic_acc(X* p, typename Acc<X>::type v) {
  static_assert(sizeof(X) <= 2, "narrow types only");
  union Bits { X t; unsigned short u16; unsigned char u8; };
  const size_t a = (size_t)p;
  u32* word = (u32*)(a & ~(size_t)3);
  const u32 shift = (u32)(a & 3) * 8u;
  const u32 mask = (sizeof(X) == 1 ? 0xffu : 0xffffu) << shift;
  u32 old = *word, assumed;
  do {
    assumed = old;
    Bits cur, nxt;
    if (sizeof(X) == 1) cur.u8 = (unsigned char)((assumed & mask) >> shift);
    else cur.u16 = (unsigned short)((assumed & mask) >> shift);
    nxt.t = put<X>(wide(cur.t) + v);
    const u32 nb = sizeof(X) == 1 ? (u32)nxt.u8 : (u32)nxt.u16;
    old = atomicCAS(word, assumed, (assumed & ~mask) | (nb << shift));
  } while (assumed != old);
}

template <class I> __device__ __forceinline__ i64 clamp_index(I raw, i64 n) {
  i64 v = (i64)raw;
  if (v < 0) v += n;
  return v < 0 ? 0 : (v >= n ? n - 1 : v);
}

#define SCATTER_ADD(IN, I)                                                                                \
  extern "C" __global__ void scatter_add_${N}_##IN(T* __restrict__ out, const T* __restrict__ src,           \
                                                   const I* __restrict__ idx, i64 total, i64 n, i64 dstride, \
                                                   const Layout L) {                                         \
    GRID_STRIDE(p, total) {                                                                                  \
      i64 o;                                                                                                 \
      layout_offsets<1>(L, p, &o);                                                                           \
      atomic_acc(out + o + clamp_index(idx[p], n) * dstride, (A)wide(src[p]));                               \
    }                                                                                                        \
  }

SCATTER_ADD(i32, int)
SCATTER_ADD(i64, i64)

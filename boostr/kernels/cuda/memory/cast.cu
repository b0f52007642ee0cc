// Converting copy into one destination dtype ${DN} from every source dtype.
//
// Formula: dst[i] = put<D>(wide(src[i])): halves and fp8 widen to f32 and round to nearest
// even on the way back (e4m3 saturates at +-448); float to int truncates; to bool is != 0.
// Layout: ``cast_contig_<src>_${DN}`` indexes both sides by flat i; ``cast_strided_<src>_${DN}``
// takes a Layout with operand 0 = dst and operand 1 = src (element strides).
// Reference: numpy ``astype`` (casting="unsafe"); ml_dtypes for bf16 / float8 rounding.
#include "../common/dtypes.cuh"

typedef ${D} D;

#define CAST_FROM(S, SN)                                                                             \
  extern "C" __global__ void cast_contig_##SN##_${DN}(D* __restrict__ dst, const S* __restrict__ src, i64 n) { \
    GRID_STRIDE(i, n) dst[i] = cvt<D>(src[i]);                                                         \
  }                                                                                                    \
  extern "C" __global__ void cast_strided_##SN##_${DN}(D* dst, const S* src, i64 n, const Layout L) {      \
    GRID_STRIDE(i, n) { i64 o[2]; layout_offsets<2>(L, i, o); dst[o[0]] = cvt<D>(src[o[1]]); }         \
  }

CAST_FROM(double, f64)
CAST_FROM(float, f32)
CAST_FROM(f16_t, f16)
CAST_FROM(bf16_t, bf16)
CAST_FROM(e4m3_t, fp8_e4m3)
CAST_FROM(e5m2_t, fp8_e5m2)
CAST_FROM(i64, i64)
CAST_FROM(int, i32)
CAST_FROM(short, i16)
CAST_FROM(signed char, i8)
CAST_FROM(unsigned char, u8)
CAST_FROM(unsigned int, u32)
CAST_FROM(bool, bool)

// FlashAttention-2 forward with ALiBi, SIMT (f32 / f16 / bf16, head dims 32/64/80/96/128/256): the body of
// flash_fwd.cu with its ALiBi entries, alibi_fwd_simt<D>_<dtype>(..., slopes).
//
// Formula: out_i = sum_j softmax_j(q_i . k_j * scale - slope_h * |p_i - j| + mask_ij) v_j, lse likewise,
// p_i = i + L - Sq (bottom-right aligned, as the mask; boostr/ops/generic/attention_mask.py).
// Layout: as flash_fwd.cu (q [B, H, Sq, D], k/v [B, Hkv, Sk, D], out [B, H, Sq, D], lse [B, H, Sq]),
// slopes [H] f32 contiguous. Grid (ceil(Sq / 16), H, B); Sq == 1 runs alibi_decode(.cu|_tc.cu).
// Reference: Press et al., "Train Short, Test Long: ALiBi" (2022); FlashAttention-2's alibi_slopes.
#define FLASH_ENTRIES 1
#include "flash_fwd.cu"

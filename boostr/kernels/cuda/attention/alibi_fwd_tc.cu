// FlashAttention-2 forward with ALiBi on tensor cores (f16 / bf16, head dims 64 and 128): the body of
// flash_fwd_tc.cu with its ALiBi entries, alibi_fwd_tc{64,128}_<dtype>(..., slopes).
//
// Formula: out_i = sum_j softmax_j(q_i . k_j * scale - slope_h * |p_i - j| + mask_ij) v_j, lse likewise,
// p_i = i + L - Sq (bottom-right aligned, as the mask; boostr/ops/generic/attention_mask.py). The bias is
// added in log2 units (slope_h * log2 e) to the scaled scores before the mask.
// Layout: as flash_fwd_tc.cu (q [B, H, Sq, D], k/v [B, Hkv, Sk, D], out [B, H, Sq, D], lse [B, H, Sq]),
// slopes [H] f32 contiguous. Grid (ceil(Sq / 64), H, B).
// Reference: Press et al., "Train Short, Test Long: ALiBi" (2022); FlashAttention-2's alibi_slopes.
#define FLASH_ENTRIES 1
#include "flash_fwd_tc.cu"

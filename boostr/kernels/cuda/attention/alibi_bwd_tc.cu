// FlashAttention-2 backward with ALiBi on tensor cores (f16 / bf16, head dims 64 and 128): the bodies of
// flash_bwd_tc.cu with their ALiBi entries, alibi_bwd_dq_tc{64,128}_<dtype> /
// alibi_bwd_dkdv_tc{64,128}_<dtype>(..., slopes) (bwd_delta_tc_<dtype> comes along).
//
// Formula: as flash_bwd_tc.cu with every score s_ij = q_i . k_j * scale - slope_h * |p_i - j|,
// p_i = i + L - Sq: p_ij = exp(s_ij - lse_i), ds_ij = p_ij (dout_i . v_j - delta_i); the bias is constant,
// so dq, dk, dv keep their form and the slopes get no gradient. The bias is applied in log2 units.
// Layout: as flash_bwd_tc.cu (dense [B, H, S, D]), slopes [H] f32 contiguous.
// Reference: Press et al., "Train Short, Test Long: ALiBi" (2022); Dao, "FlashAttention-2" (2023), Alg. 2.
#define FLASH_ENTRIES 1
#include "flash_bwd_tc.cu"

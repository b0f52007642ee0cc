// FlashAttention-2 backward with ALiBi, SIMT (f32 / f16 / bf16, head dims 32/64/80/96/128/256): the bodies
// of flash_bwd.cu with their ALiBi entries, alibi_bwd_dq<D>_<dtype> / alibi_bwd_dkdv<D>_<dtype>(..., slopes)
// (bwd_delta_<dtype> comes along).
//
// Formula: as flash_bwd.cu with every score s_ij = q_i . k_j * scale - slope_h * |p_i - j|, p_i = i + L - Sq:
// p_ij = exp(s_ij - lse_i), ds_ij = p_ij (dout_i . v_j - delta_i); the bias is constant, so dq, dk, dv keep
// their form and the slopes get no gradient.
// Layout: as flash_bwd.cu (dense [B, H, S, D]), slopes [H] f32 contiguous.
// Reference: Press et al., "Train Short, Test Long: ALiBi" (2022); Dao, "FlashAttention-2" (2023), Alg. 2.
#define FLASH_ENTRIES 1
#include "flash_bwd.cu"

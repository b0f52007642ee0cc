// Flash decoding with ALiBi on CUDA cores (the f32 path; contiguous KV): the body of flash_decode.cu
// with its ALiBi entries, alibi_decode<D>_<dtype>(..., vec, slopes, pos).
//
// Formula: per query head h (Sq == 1, position pos = L - 1, bottom-right aligned as the mask;
// boostr/ops/generic/attention_mask.py) and warp slice of a chunk of the visible keys [jlo, jhi), the
// partial (m, l, acc) of softmax_j(q . k_j * scale - slope_h * |pos - j|) in log2 units (the bias as
// slope_h * log2 e); flash_decode.cu's combine merges the partials into out and lse.
// Layout: as flash_decode.cu's contiguous entry (q [B, H, 1, D], k/v [B, Hkv, Sk, D], partials
// pm, pl [B * H, NP], pacc [B * H, NP, D] f32 with NP = splits * 4), slopes [H] f32 contiguous.
// Grid (splits, Hkv * row groups, B), 4 warps.
// Reference: Dao et al., "Flash-Decoding for long-context inference" (2023); Press et al., "Train Short,
// Test Long: ALiBi" (2022); FlashAttention-2's alibi_slopes.
#define DECODE_SET 1
#include "flash_decode.cu"

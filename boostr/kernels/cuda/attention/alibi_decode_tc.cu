// Flash decoding with ALiBi on tensor cores (f16 / bf16, every head dim, contiguous KV): the body of
// flash_decode_tc.cu with its ALiBi entries, alibi_decode_tc<D>_<dtype>(..., slopes, pos).
//
// Formula: per query head h (Sq == 1, position pos = L - 1, bottom-right aligned as the mask;
// boostr/ops/generic/attention_mask.py) and chunk [c0, c1) of the visible keys [jlo, jhi), the split
// partial (m, l, acc) of softmax_j(q . k_j * scale - slope_h * |pos - j|) in log2 units (the bias as
// slope_h * log2 e); flash_decode.cu's combine merges the partials into out and lse.
// Layout: as flash_decode_tc.cu's contiguous entry (q [B, H, 1, D], k/v [B, Hkv, Sk, D], partials
// pm, pl [B * H, NP], pacc [B * H, NP, D] f32), slopes [H] f32 contiguous. Grid (Hkv * row groups,
// splits, B), 4 warps.
// Reference: Dao et al., "Flash-Decoding for long-context inference" (2023); Press et al., "Train Short,
// Test Long: ALiBi" (2022); FlashAttention-2's alibi_slopes.
#define DECODE_SET 1
#include "flash_decode_tc.cu"

// Packed (varlen) FlashAttention-2 backward on tensor cores (f16 / bf16, head dims 64 and 128): the bodies
// of flash_bwd_tc.cu with their varlen entries, varlen_bwd_dq_tc{64,128}_<dtype> and
// varlen_bwd_dkdv_tc{64,128}_<dtype> (bwd_delta_tc_<dtype> comes along and serves the [H, Tq] delta).
//
// Formula (per sequence, its own keys, bottom-right aligned mask): p_ij = exp(q_i . k_j * scale - lse_i),
// delta_i = dout_i . out_i, ds_ij = p_ij (dout_i . v_j - delta_i); dq_i = scale sum_j ds_ij k_j,
// dk_j = scale sum_i ds_ij q_i, dv_j = sum_i p_ij dout_i (the G query heads of a KV head summed).
// Layout: q/dout [Tq, H, D], k/v [Tk, Hkv, D] (element strides per token / head, d contiguous, rows 16-byte
// aligned), lse/delta [H, Tq] f32; sequence s is rows cu_q[s]:cu_q[s+1] / cu_k[s]:cu_k[s+1] (cu_* i64 on
// the device); dq [Tq, H, D], dk/dv [Tk, Hkv, D] contiguous. dq grid (ceil(max_q / 64) * num_seqs, H), dk/dv
// grid (ceil(max_k / 64) * num_seqs, Hkv); every row of every sequence is written (zeros where it sees
// nothing).
// Reference: Dao, "FlashAttention-2" (2023), Alg. 2, flash_attn_varlen_func; see flash_bwd_tc.cu.
#define FLASH_ENTRIES 2
#include "flash_bwd_tc.cu"

// Packed (varlen) FlashAttention-2 forward, SIMT (f32 / f16 / bf16, head dims 32/64/80/96/128/256): the
// body of flash_fwd.cu with its varlen entries, varlen_fwd_simt<D>_<dtype>.
//
// Formula: per sequence s, out_i = sum_j softmax_j(q_i . k_j * scale + mask_ij) v_j and lse_i = log sum_j
// exp(...) over the sequence's own keys; mask bottom-right aligned per sequence (attn_common.cuh). A query
// with no visible key gets 0 and lse -inf.
// Layout: q [Tq, H, D], k/v [Tk, Hkv, D] (element strides per token / head, d contiguous); sequence s is
// rows cu_q[s]:cu_q[s+1] of q and cu_k[s]:cu_k[s+1] of k/v (cu_* i64 on the device); out [Tq, H, D]
// contiguous, lse [H, Tq] f32. Grid (nqb * num_seqs, H), nqb = ceil(max_q / 16): CTA x serves sequence
// x / nqb, query block x % nqb (CTAs past the sequence exit at once).
// Reference: Dao, "FlashAttention-2" (2023), flash_attn_varlen_func; see flash_fwd.cu.
#define FLASH_ENTRIES 2
#include "flash_fwd.cu"

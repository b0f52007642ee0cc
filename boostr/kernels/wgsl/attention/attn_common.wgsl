// Shared by the attention kernels: sentinels, unit constants and the mask of
// boostr/ops/generic/attention_mask.py (FlashAttention-2's bottom-right alignment, Dao 2023):
// query i of Sq sits at p = i + L - Sq; key j is visible iff j < L, j <= p when causal (or
// windowed) and j > p - w with a window w > 0.
// Scores are kept in log2 units (s * scale * log2 e) so the softmax uses exp2.
const NEG: f32 = -1.0e30;  // a masked score: finite, so NEG - NEG is 0 and never NaN
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;

fn neg_inf() -> f32 { return bitcast<f32>(0xff800000u); }

fn visible(p: i32, j: i32, L: i32, limited: bool, w: i32) -> bool {
    return j < L && (!limited || j <= p) && (w <= 0 || j > p - w);
}

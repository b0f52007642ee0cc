// Elementwise math on f32 (half and fp8 types are widened to f32 by their loads).
// Formulas follow numpy / torch: erf by its Taylor series for |x| < 0.5 and by Numerical
// Recipes' Chebyshev fit of erfc (erfcc, fractional error < 1.2e-7) elsewhere,
// gelu_tanh = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), softplus = log(1 + e^x) stably.

fn isnan_(x: f32) -> bool { return isnan_f(x); }
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u); }

fn op_neg(x: f32) -> f32 { return -x; }
fn op_abs(x: f32) -> f32 { return abs(x); }
fn op_sqrt(x: f32) -> f32 { return sqrt(x); }
fn op_rsqrt(x: f32) -> f32 { return 1.0 / sqrt(x); }
fn op_exp(x: f32) -> f32 { return exp(x); }
fn op_log(x: f32) -> f32 { return log(x); }
fn op_sin(x: f32) -> f32 { return sin(x); }
fn op_cos(x: f32) -> f32 { return cos(x); }
fn op_tanh(x: f32) -> f32 {
    if (isnan_(x)) { return x; }
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(t, -t, x < 0.0);
}
fn op_erf(x: f32) -> f32 {
    if (isnan_(x)) { return x; }
    let a = abs(x);
    var r: f32;
    if (a < 0.5) {
        let z = x * x;
        r = a * (1.1283791671 + z * (-0.3761263890 + z * (0.1128379167 + z * (-0.0268661706 + z * (0.0052335210 - z * 0.0009644215)))));
    } else {
        let t = 1.0 / (1.0 + 0.5 * a);
        let y = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
            t * (-0.82215223 + t * 0.17087277)))))))));
        r = 1.0 - y;
    }
    return select(r, -r, x < 0.0);
}
fn op_sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn op_relu(x: f32) -> f32 { return select(x, 0.0, x < 0.0); }
fn op_silu(x: f32) -> f32 { return x * op_sigmoid(x); }
fn op_gelu_tanh(x: f32) -> f32 { return 0.5 * x * (1.0 + op_tanh(0.7978845608 * (x + 0.044715 * x * x * x))); }
fn op_gelu_erf(x: f32) -> f32 { return 0.5 * x * (1.0 + op_erf(x * 0.70710678118)); }
fn op_softplus(x: f32) -> f32 {
    let e = exp(-abs(x));
    let l = select(log(1.0 + e), e - 0.5 * e * e, e < 1e-4);
    return max(x, 0.0) + l;
}
fn op_floor(x: f32) -> f32 { return floor(x); }
fn op_ceil(x: f32) -> f32 { return ceil(x); }
fn op_round(x: f32) -> f32 { return round(x); }
fn op_sign(x: f32) -> f32 { if (isnan_(x)) { return x; } return select(select(0.0, 1.0, x > 0.0), -1.0, x < 0.0); }
fn op_reciprocal(x: f32) -> f32 { return 1.0 / x; }
fn op_square(x: f32) -> f32 { return x * x; }

fn op_add(a: f32, b: f32) -> f32 { return a + b; }
fn op_sub(a: f32, b: f32) -> f32 { return a - b; }
fn op_mul(a: f32, b: f32) -> f32 { return a * b; }
fn op_div(a: f32, b: f32) -> f32 { return fdiv_rn(a, b); }  // correctly rounded, as on the CPU
fn op_pow(a: f32, b: f32) -> f32 {
    if (b == 0.0) { return 1.0; }
    if (isnan_(a) || isnan_(b)) { return nan_(); }
    let r = pow(abs(a), b);
    if (a >= 0.0) { return r; }
    if (floor(b) != b) { return nan_(); }
    let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
    return select(r, -r, odd);
}
fn op_maximum(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return max(a, b); }
fn op_minimum(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return min(a, b); }
fn op_eq(a: f32, b: f32) -> u32 { return u32(a == b); }
fn op_ne(a: f32, b: f32) -> u32 { return u32(!(a == b)); }
fn op_lt(a: f32, b: f32) -> u32 { return u32(a < b); }
fn op_le(a: f32, b: f32) -> u32 { return u32(a <= b); }
fn op_gt(a: f32, b: f32) -> u32 { return u32(a > b); }
fn op_ge(a: f32, b: f32) -> u32 { return u32(a >= b); }

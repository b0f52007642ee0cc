// Elementwise math on ${C} (i32, which also holds i8, or u32 which also holds u8 and bool as 0/1).
// Integer arithmetic wraps (two's complement; i8 / u8 stores keep the low byte), as numpy does;
// pow uses square-and-multiply with a non-negative exponent.

fn op_neg(x: ${C}) -> ${C} { return ${C}(0) - x; }
fn op_abs(x: ${C}) -> ${C} { return select(x, ${C}(0) - x, x < ${C}(0)); }
fn op_relu(x: ${C}) -> ${C} { return select(x, ${C}(0), x < ${C}(0)); }
fn op_sign(x: ${C}) -> ${C} { return select(select(${C}(0), ${C}(1), x > ${C}(0)), ${NEG1}, x < ${C}(0)); }
fn op_square(x: ${C}) -> ${C} { return x * x; }
fn op_logical_not(x: ${C}) -> ${C} { return select(${C}(0), ${C}(1), x == ${C}(0)); }

fn op_add(a: ${C}, b: ${C}) -> ${C} { return a + b; }
fn op_sub(a: ${C}, b: ${C}) -> ${C} { return a - b; }
fn op_mul(a: ${C}, b: ${C}) -> ${C} { return a * b; }
fn op_pow(a: ${C}, b: ${C}) -> ${C} {
    var r = ${C}(1);
    var base = a;
    var e = u32(b);
    loop {
        if (e == 0u) { break; }
        if ((e & 1u) == 1u) { r = r * base; }
        base = base * base;
        e = e >> 1u;
    }
    return r;
}
fn op_maximum(a: ${C}, b: ${C}) -> ${C} { return max(a, b); }
fn op_minimum(a: ${C}, b: ${C}) -> ${C} { return min(a, b); }
fn op_eq(a: ${C}, b: ${C}) -> u32 { return u32(a == b); }
fn op_ne(a: ${C}, b: ${C}) -> u32 { return u32(a != b); }
fn op_lt(a: ${C}, b: ${C}) -> u32 { return u32(a < b); }
fn op_le(a: ${C}, b: ${C}) -> u32 { return u32(a <= b); }
fn op_gt(a: ${C}, b: ${C}) -> u32 { return u32(a > b); }
fn op_ge(a: ${C}, b: ${C}) -> u32 { return u32(a >= b); }
fn op_logical_and(a: ${C}, b: ${C}) -> u32 { return u32(a != ${C}(0) && b != ${C}(0)); }
fn op_logical_or(a: ${C}, b: ${C}) -> u32 { return u32(a != ${C}(0) || b != ${C}(0)); }
fn op_logical_xor(a: ${C}, b: ${C}) -> u32 { return u32((a != ${C}(0)) != (b != ${C}(0))); }

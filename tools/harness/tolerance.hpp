// The one tolerance table of cannon's tests: every bound is a named factor times the epsilon of a dtype
// (the gap between 1 and the next representable number). Changing a bound means changing a row here,
// with its reason, never a number at a call site.
#pragma once

#include "cannon/dtype.hpp"

namespace cannon::tools {

enum class Quantity {
  kAttentionOut,  // element check |dev - ref| <= atol + rtol*|ref|, with the output dtype's epsilon
  kSoftmaxMax,    // fp32 output: abs + rel
  kSoftmaxSum,    // fp32 output: rel
  kFaRuleFloor,   // fp16/bf16: floor added to 2 x the naive low-precision error (FlashAttention's rule)
  kGradient,      // a backward output (dq, dk, dv, dpse) in the inputs' dtype: the floor under its modelled bound
};

const char* quantity_name(Quantity quantity);

// 2^-23 (fp32), 2^-10 (fp16), 2^-7 (bf16); 0 for non-float dtypes.
double dtype_epsilon(DType dtype);

struct Tolerance {
  double atol = 0, rtol = 0;
};

// The bound for `quantity` of an output stored in `dtype`. softmax_max/sum are always fp32.
Tolerance tolerance(Quantity quantity, DType dtype);

// FlashAttention's multiplier: the device's max error may be at most this times the error of the same
// math done naively in the low-precision dtype (tests/test_flash_attn.py uses 2 for the forward pass).
constexpr double kFaRuleMultiplier = 2.0;

}  // namespace cannon::tools

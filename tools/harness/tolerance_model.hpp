// The conformance tolerance of one output, derived from the problem: what fp32 arithmetic can achieve given the
// scores' magnitude, the dot products' size, the accumulation length and the output dtype's rounding, with the
// fixed table (tolerance.hpp) as the floor. A pure function of the reference's statistics, so it is testable
// without a device; the derivation is in docs/conformance.md ("Tolerances").
#pragma once

#include <string_view>

#include "cannon/dtype.hpp"
#include "host/reference/attention_stats.hpp"
#include "tools/harness/tolerance.hpp"

namespace cannon::tools {

// A correct result may be this many times the modelled error. The model takes each rounding at its bound, but
// the dot product (~2.4σ) and the sums (~3σ) at their typical sizes; 2 covers those tails, while the deliberate
// kernel faults stay at least 10× outside (tests/unit/tolerance_model_test.cpp).
constexpr double kModelSafetyFactor = 2.0;

struct ToleranceBound {
  Tolerance tol;         // per element: |dev - ref| <= atol + rtol·|ref|
  bool fa_rule = false;  // also FlashAttention's rule: max|dev - ref| <= kFaRuleMultiplier·max|naive - ref| + floor
  double fa_rule_floor = 0;  // the rule's floor (0 when the rule does not apply)
  bool from_model = false;   // the model, not the table, set atol or rtol (it grew past the floor)
};

// The modelled errors of one problem, before the safety factor (u = 2^-24, D the dot norm, G the stats' terms):
struct ModelErrors {
  double max_score = 0;            // u·(D + G_max): the error of a row's largest score, so of softmax_max
  double weighted_score = 0;       // u·(D + G_weighted + 6): scores as l and O see them, exp's error included
  double accumulation = 0;         // u·sqrt(L): the relative error of a sum over a row's L keys
  double value_scale = 0;          // max|v|·sqrt(kept share / keep_prob): how far score errors can move O
  double rounded_value_scale = 0;  // max|v| / keep_prob: what one ulp of a rounded P (p / keep_prob) moves
};
ModelErrors model_errors(const reference::AttentionStats& stats);

// The bound for `output` of FlashAttentionScore or NsaSelectedAttention ("attention_out", "softmax_max",
// "softmax_sum") or RingAttentionUpdate ("attn_out", "softmax_max", "softmax_sum": RAU passes AttentionStats{},
// its merge error does not grow with the problem). `output_dtype` is the stored dtype of attention_out/attn_out
// (softmax_max/sum are fp32 whatever is passed); `input_dtype` is the query's (P is rounded to it before P·V).
// `stats` from the float64 reference run on the same inputs; AttentionStats{} (nothing known, e.g. a golden
// replay without a reference run) gives exactly the table, widened for dropout by stats.keep_prob as before.
// The fa_rule flag is set for fp16/bf16 attention_out only; the caller applies it only where it has a naive
// low-precision reference (FA, NSA). Throws Error(kInnerError) for an unknown output name.
ToleranceBound tolerance_bound(std::string_view output, DType output_dtype, DType input_dtype,
                               const reference::AttentionStats& stats);

// The bound for FlashAttentionScoreGrad's `output` ("dq", "dk", "dv" or "dpse"), stored in `dtype` (the inputs'),
// from the backward reference's statistics: an absolute bound scaled by the output's sum of |terms| (each
// element is a sum of products whose fp32 roundings are relative to those terms, not to the often cancelling
// result), over the table's relative floor. AttentionGradStats{} (nothing known) gives the table. Throws
// Error(kInnerError) for an unknown output name.
ToleranceBound gradient_bound(std::string_view output, DType dtype, const reference::AttentionGradStats& stats);

}  // namespace cannon::tools

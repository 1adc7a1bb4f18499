// The error model behind tolerance_bound(). Every device computes in fp32 (unit roundoff u = 2^-24) from inputs
// that are exact in fp32, so the error of a correct kernel is a sum of fp32 roundings whose sizes follow from the
// problem's magnitudes (reference::AttentionStats). Each output's bound is the larger of the fixed table (today's
// measured bounds, which small problems keep) and kModelSafetyFactor times the modelled error, which grows with
// the largest |score| and the accumulation length.
#include "tools/harness/tolerance_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cannon/error.hpp"

namespace cannon::tools {
namespace {

constexpr double kUnitRoundoff = 0x1.0p-24;  // u: the relative error of one fp32 rounding

// OpenCL 1.2 allows exp() 3 ulp (<= 6u relative); a relative error r of exp(x) is an error r in x.
constexpr double kExpScoreUnits = 6;

// A sequential fp32 sum of L terms has a relative error of about u·sqrt(L)/3 (random rounding); u·sqrt(L)
// is three of those. Blocked or pairwise sums (cannon's tiles, BLAS) stay well inside.
double accumulation_error(const reference::AttentionStats& s) {
  return kUnitRoundoff * std::sqrt(static_cast<double>(std::max<int64_t>(s.max_row_keys, 1)));
}

// The largest |v| an output sees, through dropout's 1/keep_prob on the kept p.
double value_scale(const reference::AttentionStats& s) {
  return s.keep_prob > 0 && s.keep_prob < 1 ? s.max_abs_value / s.keep_prob : s.max_abs_value;
}

// The error of an fp32 score itself, without exp's (softmax_max sees only this part):
// - the Dk-term FMA chain q·k: about u·‖q‖‖k‖/sqrt(6) for random-sign inputs (partial sums grow like a random
//   walk), so u·D covers it at ~2.4 standard deviations, before the safety factor;
// - with a pse, the rounding of qk·scale (<= u·D) and of a generated ALiBi value (<= u·|pse|); pse_type 1 rounds
//   qk + pse instead, which is no larger after the scale;
// - the rounding of the final add or multiply that gives s (<= u·|s|).
double raw_score_error(const reference::AttentionStats& s) {
  const bool pse = s.max_abs_pse > 0;
  return kUnitRoundoff * (s.max_dot_norm + (pse ? s.max_dot_norm + s.max_abs_pse : 0) + s.max_abs_score);
}

Tolerance larger(Tolerance a, Tolerance b) { return {std::max(a.atol, b.atol), std::max(a.rtol, b.rtol)}; }

bool low_precision(DType dtype) { return dtype == DType::kFloat16 || dtype == DType::kBFloat16; }

// attention_out = Σ p_j v_j / l with p_j = exp(s_j - m):
// - score errors δ_j (|δ_j| <= e_s) move it by Σ w_j δ_j (v_j - O) (w = p/l; a shared shift of all s cancels),
//   at most e_s times the weighted spread of v, <= e_s·V;
// - the sums l and Σ p·v over L keys (each ~u·sqrt(L) relative when the terms share a sign, bounded otherwise),
//   the division and the fp32 result: (2·sqrt(L) + 4)·u relative;
// - fp16/bf16 inputs: P is rounded to the input dtype before P·V (the reference does too). Where the device's p
//   and the reference's straddle a rounding midpoint the two round one ulp apart (<= eps_in·p). That happens
//   with probability <= 4·e_s/eps_in per term; independent flips move O by about eps_in·V·sqrt(that);
// - fp16/bf16 outputs: the final rounding, <= eps_out/2 relative, which is not scaled by the safety factor.
ToleranceBound attention_out_bound(DType out, DType in, const reference::AttentionStats& s) {
  ToleranceBound b;
  const Tolerance floor = tolerance(Quantity::kAttentionOut, out);
  const double e_s = score_error(s), v = value_scale(s), k = kModelSafetyFactor;
  double atol = e_s * v;
  if (low_precision(in)) {
    const double eps_in = dtype_epsilon(in);
    atol += eps_in * v * std::sqrt(std::min(1.0, 4 * e_s / eps_in));
  }
  const double rtol =
      (2 * accumulation_error(s) + 4 * kUnitRoundoff) * k + (low_precision(out) ? dtype_epsilon(out) / 2 : 0);
  Tolerance model{k * atol, rtol};
  // Dropout: the table widens fp16/bf16's absolute bound by 1/keep_prob (P/keep_prob is rounded, so each rounding
  // error grows by that factor); the model has it in v already.
  Tolerance table = floor;
  if (low_precision(out) && s.keep_prob > 0 && s.keep_prob < 1) table.atol /= s.keep_prob;
  b.tol = larger(table, model);
  b.from_model = b.tol.atol > table.atol || b.tol.rtol > table.rtol;
  if (low_precision(out)) {
    b.fa_rule = true;
    b.fa_rule_floor = tolerance(Quantity::kFaRuleFloor, out).atol;
  }
  return b;
}

// softmax_max = max_j s_j: the largest score's own error (no exp), absolute.
ToleranceBound softmax_max_bound(const reference::AttentionStats& s) {
  ToleranceBound b;
  const Tolerance table = tolerance(Quantity::kSoftmaxMax, DType::kFloat32);
  b.tol = larger(table, {kModelSafetyFactor * raw_score_error(s), 0});
  b.from_model = b.tol.atol > table.atol;
  return b;
}

// softmax_sum = Σ_j exp(s_j - m), relative: the max's error shifts every term by the same δ_m (<= e_s) and the
// terms' own errors average to at most e_s, so 2·e_s; then the sum over L keys, the rescaling by
// exp(m_old - m_new) between tiles and the last rounding.
ToleranceBound softmax_sum_bound(const reference::AttentionStats& s) {
  ToleranceBound b;
  const Tolerance table = tolerance(Quantity::kSoftmaxSum, DType::kFloat32);
  const double rtol = 2 * score_error(s) + accumulation_error(s) + 2 * kUnitRoundoff;
  b.tol = larger(table, {0, kModelSafetyFactor * rtol});
  b.from_model = b.tol.rtol > table.rtol;
  return b;
}

}  // namespace

double score_error(const reference::AttentionStats& stats) {
  return raw_score_error(stats) + kExpScoreUnits * kUnitRoundoff;
}

ToleranceBound tolerance_bound(std::string_view output, DType output_dtype, DType input_dtype,
                               const reference::AttentionStats& stats) {
  if (output == "attention_out") return attention_out_bound(output_dtype, input_dtype, stats);
  if (output == "softmax_max") return softmax_max_bound(stats);
  if (output == "softmax_sum") return softmax_sum_bound(stats);
  if (output == "attn_out") {
    // RingAttentionUpdate's merge, out = prev·w_prev + cur·w_cur with w from l·exp(m_side - m): one fp32
    // difference of the two maxima (relative error u, so exp gets u·|d| with d <= 0) and a few roundings. The
    // term it scales carries exp(d), and |d|·exp(d)·l_side/l stays below ln(l_prev/l_cur) + 1, so the error
    // does not grow with |max| and the table covers every merge. No FlashAttention rule: no naive reference.
    ToleranceBound b;
    b.tol = tolerance(Quantity::kAttentionOut, output_dtype);
    return b;
  }
  throw Error(Status::kInnerError, "tolerance model: no rule for the output '" + std::string(output) + "'");
}

}  // namespace cannon::tools

// The error model behind tolerance_bound(). Every device computes in fp32 (unit roundoff u = 2^-24) from inputs
// that are exact in fp32, so the error of a correct kernel is a sum of fp32 roundings whose sizes follow from the
// problem's magnitudes (reference::AttentionStats). Each output's bound is the larger of the fixed table (today's
// measured bounds, which small problems keep) and kModelSafetyFactor times the modelled error, which grows with
// the scores' magnitude and the accumulation length.
#include "tools/harness/tolerance_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cannon/error.hpp"

namespace cannon::tools {
namespace {

constexpr double kUnitRoundoff = 0x1.0p-24;  // u: the relative error of one fp32 rounding

// OpenCL 1.2 allows exp() 3 ulp (<= 6u relative); a relative error r of exp(x) acts as an error r in x.
constexpr double kExpScoreUnits = 6;

Tolerance larger(Tolerance a, Tolerance b) { return {std::max(a.atol, b.atol), std::max(a.rtol, b.rtol)}; }

bool low_precision(DType dtype) { return dtype == DType::kFloat16 || dtype == DType::kBFloat16; }

// attention_out = Σ p_j v_j / l with p_j = exp(s_j - m), w_j = p_j / l:
// - score errors δ_j move it by Σ w_j δ_j (c_j v_j - O), c_j = kept_j / keep_prob (1 without dropout; a shift
//   shared by all s cancels). By Cauchy-Schwarz that is at most sqrt(Σ w_j δ_j²)·sqrt(Σ w_j (c_j v_j - O)²), and
//   Σ w_j (c_j v_j - O)² = Σ w_j c_j² v_j² - O² <= V²·share/keep_prob: weighted_score·value_scale;
// - the sums l and Σ p·v over L keys grow like their terms only when the terms share a sign, and then relative
//   to O: accumulation; the division and the fp32 result add 4u;
// - fp16/bf16 inputs: P is rounded to the input dtype before P·V (the reference does too). Where the device's p_j
//   and the reference's straddle a rounding midpoint they round one ulp apart, moving O by <= eps_in·w_j·|v_j|.
//   p_j moves by (δ_j - δ_m)·p_j and midpoints are >= eps_in·p_j/2 apart, so it flips with probability
//   <= 2(δ_j + δ_m)/eps_in: the flipped weight of a row is about 2(weighted_score + max_score)/eps_in. One heavy
//   term can flip as well; that is an exact bound, not an estimate, so the safety factor does not scale it.
//   Unnormalised p (FA): the max term is exp(0) = 1 on both sides; any other p in [2^-i, 2^(1-i)), i >= 1, is
//   one ulp eps_in·2^-i off while l >= 1 + 2^-i, so O moves by <= eps_in·V·2^-i/(1 + 2^-i) <= eps_in·V/3.
//   Normalised p (NSA) or dropout's p/keep_prob: the max term may flip too, eps_in·V/2. All of it scales with
//   1/keep_prob (rounded_value_scale). The table's 0.5 eps (|v| <= 1) holds both;
// - fp16/bf16 outputs: the final rounding, <= eps_out/2 relative, also exact.
ToleranceBound attention_out_bound(DType out, DType in, const reference::AttentionStats& s) {
  const ModelErrors e = model_errors(s);
  const double k = kModelSafetyFactor, v = e.rounded_value_scale;
  Tolerance model{k * e.weighted_score * e.value_scale, k * (e.accumulation + 4 * kUnitRoundoff)};
  if (low_precision(in)) {
    const double heavy = s.normalized_p || (s.keep_prob > 0 && s.keep_prob < 1) ? 0.5 : 1.0 / 3;
    model.atol += dtype_epsilon(in) * v * heavy + k * 2 * (e.weighted_score + e.max_score) * v;
  }
  if (low_precision(out)) model.rtol += dtype_epsilon(out) / 2;
  // Dropout: the table widens fp16/bf16's absolute bound by 1/keep_prob (P/keep_prob is rounded, so each rounding
  // error grows by that factor); the model has it in rounded_value_scale.
  Tolerance table = tolerance(Quantity::kAttentionOut, out);
  if (low_precision(out) && s.keep_prob > 0 && s.keep_prob < 1) table.atol /= s.keep_prob;
  ToleranceBound b;
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
  const Tolerance table = tolerance(Quantity::kSoftmaxMax, DType::kFloat32);
  ToleranceBound b;
  b.tol = larger(table, {kModelSafetyFactor * model_errors(s).max_score, 0});
  b.from_model = b.tol.atol > table.atol;
  return b;
}

// softmax_sum = Σ_j exp(s_j - m), relative: the max's error shifts every term by δ_m and the terms' own errors
// average to the weighted error; then the sum over L keys, the rescaling by exp(m_old - m_new) between tiles
// and the last rounding.
ToleranceBound softmax_sum_bound(const reference::AttentionStats& s) {
  const ModelErrors e = model_errors(s);
  const Tolerance table = tolerance(Quantity::kSoftmaxSum, DType::kFloat32);
  ToleranceBound b;
  b.tol =
      larger(table, {0, kModelSafetyFactor * (e.max_score + e.weighted_score + e.accumulation + 2 * kUnitRoundoff)});
  b.from_model = b.tol.rtol > table.rtol;
  return b;
}

}  // namespace

// A score s = q·k·scale (+ pse) is: the Dk-term FMA chain q·k, about u·‖q‖‖k‖/sqrt(6) for random-sign inputs
// (the partial sums grow like a random walk), so u·D covers it at ~2.4 standard deviations; then roundings of
// at most u·|x| each for qk·scale, a generated ALiBi value, and the final add or multiply: u·G.
ModelErrors model_errors(const reference::AttentionStats& s) {
  ModelErrors e;
  e.max_score = kUnitRoundoff * (s.max_dot_norm + s.max_terms_at_row_max);
  e.weighted_score = kUnitRoundoff * (s.max_dot_norm + s.max_weighted_terms + kExpScoreUnits);
  // A sequential fp32 sum of L terms has a relative error of about u·sqrt(L)/3 (random rounding); u·sqrt(L) is
  // three of those. Blocked or pairwise sums (cannon's tiles, BLAS) stay well inside.
  e.accumulation = kUnitRoundoff * std::sqrt(static_cast<double>(std::max<int64_t>(s.max_row_keys, 1)));
  const bool dropout = s.keep_prob > 0 && s.keep_prob < 1;
  e.value_scale = dropout ? s.max_abs_value * std::sqrt(s.max_kept_share / s.keep_prob) : s.max_abs_value;
  e.rounded_value_scale = dropout ? s.max_abs_value / s.keep_prob : s.max_abs_value;
  return e;
}

// Each gradient element sums L products (dq: the row's keys; dk, dv: the (head, row) pairs that reach the key;
// dpse: the scores that read the element) of a dS or Pd with an exact input row; the reference's terms are the
// sums of those products' magnitudes, with dS measured by its own terms P·(|dP'| + |Dr|):
// - a term's own fp32 error: the score x and dP are Dk- and Dv-long dot products (u·D each, relative to their
//   terms as in model_errors), P = exp(x - max)/sum adds exp's 6u and a few roundings, and dS = P·(dP' - Dr) is a
//   difference whose error is relative to its terms, however much it cancels: 2·D + 32 together;
// - the fp32 sum over L terms: 4·sqrt(L) (model_errors' u·sqrt(L) at ~3σ, with the matmul's blocking);
// - fp16/bf16: Pd and dS are rounded to the input dtype before their matmuls. Where the device's fp32 value and
//   the reference's straddle a midpoint they round one ulp apart, and the output is rounded once at the end:
//   3·(eps/2) of the terms covers both, an exact bound rather than an estimate.
// The fp32 coefficients carry kModelSafetyFactor already (2·D + 32 is 2·(D + 16), 4·sqrt(L) is 2·(2·sqrt(L))).
ToleranceBound gradient_bound(std::string_view output, DType dtype, const reference::AttentionGradStats& s) {
  double terms = 0;
  int64_t length = 0;
  if (output == "dq") {
    terms = s.max_dq_terms, length = s.max_row_keys;
  } else if (output == "dk") {
    terms = s.max_dk_terms, length = s.max_key_rows;
  } else if (output == "dv") {
    terms = s.max_dv_terms, length = s.max_key_rows;
  } else if (output == "dpse") {
    terms = s.max_dpse_terms, length = s.max_dpse_scores;
  } else {
    throw Error(Status::kInnerError, "tolerance model: no gradient rule for '" + std::string(output) + "'");
  }
  const double d = static_cast<double>(std::max(s.head_dim_k, s.head_dim_v));
  const double len = static_cast<double>(std::max<int64_t>(length, 1));
  double atol = (2 * d + 32 + 4 * std::sqrt(len)) * kUnitRoundoff * terms;
  if (low_precision(dtype)) atol += 3 * (dtype_epsilon(dtype) / 2) * terms;
  const Tolerance table = tolerance(Quantity::kGradient, dtype);
  ToleranceBound b;
  b.tol = larger(table, {atol, 0});
  b.from_model = b.tol.atol > table.atol;
  return b;
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

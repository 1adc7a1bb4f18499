// Judging an operator's outputs against a reference (cannon's float64 reference, or a golden directory's expected
// tensors): element checks with each output's bound (the tolerance model of tolerance_model.hpp), FlashAttention's
// 2x-naive rule for fp16/bf16 attention outputs, and the MISTRUSTED verdict for references too degenerate to catch
// a wrong answer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cannon/dtype.hpp"
#include "tools/harness/tolerance.hpp"
#include "tools/harness/tolerance_model.hpp"

namespace cannon::tools {

// An operator output: its argument name (expected/<name>.npy, result messages) and the tolerance row it is judged by.
struct OutputSpec {
  const char* name;
  Quantity quantity;
};
// Whether an output is stored in the operator's output dtype (attention outputs, gradients); the rest (softmax
// statistics) are fp32.
inline bool in_output_dtype(Quantity quantity) {
  return quantity == Quantity::kAttentionOut || quantity == Quantity::kGradient;
}

// The bound of one output stored in `dtype`: tolerance_bound for a forward output, gradient_bound for a gradient.
ToleranceBound output_bound(const OutputSpec& output, DType dtype, const reference::AttentionStats& stats,
                            const reference::AttentionGradStats& grad_stats);

// Values of an operator's outputs, one slot per OutputSpec in the driver's order; an empty slot is not compared.
using OutputValues = std::vector<std::optional<std::vector<double>>>;

struct ErrorStats {
  std::string name;
  Tolerance tol;
  int64_t count = 0, bad = 0, first_bad = -1;
  double max_abs = 0;     // max |dev - ref| over finite pairs
  double max_rel = 0;     // max |dev - ref| / |ref| over ref != 0
  double max_excess = 0;  // max |dev - ref| / (atol + rtol*|ref|); <= 1 passes
  double dev_at_first = 0, ref_at_first = 0;
  bool from_model = false;  // the bound grew past the table with the problem (ToleranceBound::from_model)
  bool ok() const { return bad == 0; }
};

// Element-wise check. Equal values always pass (this covers the +-FLT_MAX of invalid rows); a NaN on either
// side fails. Sizes must match (a mismatch is one bad element with first_bad = -1).
ErrorStats compare_values(const std::string& name, const std::vector<double>& dev, const std::vector<double>& ref,
                          Tolerance tol);

// FlashAttention's rule for fp16/bf16: the device's largest attention-output error against the reference is at most
// kFaRuleMultiplier times that of the same math done naively in the low-precision dtype, plus a floor.
struct NaiveRule {
  double device_err = 0, naive_err = 0, bound = 0;
  bool ok() const { return device_err <= bound; }
};

// The P-rounding rule for fp16/bf16 attention outputs. Ascend rounds P to the input dtype before P·V; a device that
// skips the rounding stays within every per-element bound (its error is the size of the output's own rounding), so
// the rule measures how far the device's output is from the result with P unrounded: beyond the output's own
// rounding it must be by about what P's rounding moves it (the reference's sum of (ref - unrounded)^2), wherever the
// device rounds P (against the final or a running row max). It decides only when P's rounding stands far above the
// output rounding's noise (z >= kPRoundingMinZ; docs/conformance.md derives it).
struct PRoundingRule {
  double from_unrounded = 0;  // S = sum (dev - unrounded)^2
  double floor = 0;           // F = sum (round_out(unrounded) - unrounded)^2: S of a device that skips P's rounding
  double p_effect = 0;        // D = sum (ref - unrounded)^2: what rounding P adds to S, in expectation
  double z = 0;               // D over twice the deviation of the noise in S - F
  bool applies() const;
  bool ok() const { return !applies() || from_unrounded - floor >= p_effect / 2; }
};
constexpr double kPRoundingMinZ = 16.0;

// The float64 attention output with P rounded (the reference's, also when a golden directory's expected tensors are
// what the outputs are judged against: those carry their own output rounding) and with P unrounded, and the dtype
// the outputs are stored in.
struct UnroundedP {
  std::vector<double> rounded;
  std::vector<double> values;
  DType out_dtype;
};

// The rule on the attention output: dev, the P-rounded reference and the unrounded one, stored in `out_dtype`.
PRoundingRule p_rounding_rule(const std::vector<double>& dev, const std::vector<double>& ref,
                              const std::vector<double>& unrounded, DType out_dtype);

struct Verdict {
  std::vector<ErrorStats> tensors;
  std::optional<NaiveRule> naive_rule;
  std::optional<PRoundingRule> p_rounding;
  std::string mistrust;  // why the reference cannot tell a right answer from a wrong one; empty if it can
  // All element checks and the naive rule hold (a passing result with a non-empty `mistrust` is MISTRUSTED).
  bool passed() const;
  // "out=1.2e-03[0.31] max=2.4e-08[0.01] sum=1.1e-07[0.02] fa=1.2e-03<=4.4e-03(naive ...)": per tensor the largest
  // absolute error and the largest fraction of its tolerance used.
  std::string summary() const;
};

// Element checks of every output the reference has (an output the device lacks fails; dev and ref are in the order
// of `specs`), each with the bound
// `bound_of` gives it; the mistrust test on the attention output's reference; and the naive rule on the attention
// output when its bound asks for it (fp16/bf16) and `naive_out` is given; the P-rounding rule when `unrounded_out`
// is given too.
Verdict judge(const std::vector<OutputSpec>& specs, const OutputValues& dev, const OutputValues& ref,
              const std::optional<std::vector<double>>& naive_out,
              const std::function<ToleranceBound(const OutputSpec&)>& bound_of,
              const std::optional<UnroundedP>& unrounded = std::nullopt);

// judge() with the bounds of a problem nothing is known about: the tolerance table's rows for `out_dtype`.
Verdict judge_at(const std::vector<OutputSpec>& specs, const OutputValues& dev, const OutputValues& ref,
                 const std::optional<std::vector<double>>& naive_out, DType out_dtype);

}  // namespace cannon::tools

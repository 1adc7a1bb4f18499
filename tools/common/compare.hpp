// Judging a FlashAttentionScore result against a reference (cannon's float64 reference, or a golden
// directory's expected tensors): element checks from the tolerance table, FlashAttention's 2x-naive rule
// for fp16/bf16, and the MISTRUSTED verdict for references too degenerate to catch a wrong answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cannon/dtype.hpp"
#include "tools/harness/tolerance.hpp"

namespace cannon::tools {

struct ErrorStats {
  std::string name;
  Tolerance tol;
  int64_t count = 0, bad = 0, first_bad = -1;
  double max_abs = 0;     // max |dev - ref| over finite pairs
  double max_rel = 0;     // max |dev - ref| / |ref| over ref != 0
  double max_excess = 0;  // max |dev - ref| / (atol + rtol*|ref|); <= 1 passes
  double dev_at_first = 0, ref_at_first = 0;
  bool ok() const { return bad == 0; }
};

// Element-wise check. Equal values always pass (this covers the +-FLT_MAX of invalid rows); a NaN on either
// side fails. Sizes must match (a mismatch is one bad element with first_bad = -1).
ErrorStats compare_values(const std::string& name, const std::vector<double>& dev, const std::vector<double>& ref,
                          Tolerance tol);

struct FaRule {
  double device_err = 0, naive_err = 0, bound = 0;
  bool ok() const { return device_err <= bound; }
};

// Output values of one run; a missing tensor (a golden directory without it) is not compared.
struct FaValues {
  std::optional<std::vector<double>> attention_out, softmax_max, softmax_sum;
};

struct FaVerdict {
  std::vector<ErrorStats> tensors;
  std::optional<FaRule> fa_rule;
  std::string mistrust;  // why the reference cannot tell a right answer from a wrong one; empty if it can
  // All element checks and the FA rule hold (a passing result with a non-empty `mistrust` is MISTRUSTED).
  bool passed() const;
  // "out 1.2e-03/3.9e-03 max 2.4e-08 sum 1.1e-07 fa 1.2e-03<=4.4e-03": max abs error / tolerance scale.
  std::string summary() const;
};

// `naive_out` is attention_out of the naive low-precision reference (fp16/bf16 only). keep_prob < 1 widens the
// fp16/bf16 absolute bound of attention_out by 1/keep_prob: P' = P/keep_prob is rounded to the dtype before P·V,
// so each rounding error grows by that factor while the output does not (FlashAttention's rule still binds).
FaVerdict judge_fa(const FaValues& dev, const FaValues& ref, const std::optional<std::vector<double>>& naive_out,
                   DType out_dtype, double keep_prob = 1.0);

}  // namespace cannon::tools

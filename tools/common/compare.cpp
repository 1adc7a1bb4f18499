// Element checks, FlashAttention's rule and the degenerate-reference test. The printed summary gives, per
// tensor, the largest absolute error and in brackets the largest fraction of its tolerance used, so a
// passing run still shows how close it came.
#include "tools/common/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cannon::tools {
namespace {

const char* short_name(const std::string& name) {
  if (name == "attention_out") return "out";
  if (name == "softmax_max") return "max";
  if (name == "softmax_sum") return "sum";
  return name.c_str();
}

// Why `ref` (attention_out) cannot catch a wrong answer, or "" if it can: non-finite values, or all values
// within the absolute tolerance of each other (a constant output passes for many wrong kernels).
std::string degenerate(const std::vector<double>& ref, Tolerance tol) {
  if (ref.empty()) return "";
  if (!std::all_of(ref.begin(), ref.end(), [](double v) { return std::isfinite(v); })) {
    return "reference attention_out has non-finite values";
  }
  auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
  if (ref.size() > 1 && *hi - *lo <= 2 * tol.atol + tol.rtol * std::max(std::fabs(*lo), std::fabs(*hi))) {
    return fmt::format("reference attention_out is constant within tolerance ({:.3e}..{:.3e})", *lo, *hi);
  }
  return "";
}

}  // namespace

ErrorStats compare_values(const std::string& name, const std::vector<double>& dev, const std::vector<double>& ref,
                          Tolerance tol) {
  ErrorStats s;
  s.name = name;
  s.tol = tol;
  s.count = static_cast<int64_t>(ref.size());
  if (dev.size() != ref.size()) {
    s.bad = 1;
    return s;
  }
  for (std::size_t i = 0; i < ref.size(); ++i) {
    double d = dev[i], r = ref[i];
    if (d == r) continue;
    double diff = std::fabs(d - r);
    double bound = tol.atol + tol.rtol * std::fabs(r);
    if (std::isfinite(diff)) {
      s.max_abs = std::max(s.max_abs, diff);
      if (r != 0) s.max_rel = std::max(s.max_rel, diff / std::fabs(r));
      s.max_excess = std::max(s.max_excess, bound > 0 ? diff / bound : INFINITY);
    }
    if (!(diff <= bound)) {
      if (s.bad++ == 0) {
        s.first_bad = static_cast<int64_t>(i);
        s.dev_at_first = d;
        s.ref_at_first = r;
      }
    }
  }
  return s;
}

bool FaVerdict::passed() const {
  if (fa_rule && !fa_rule->ok()) return false;
  return std::all_of(tensors.begin(), tensors.end(), [](const ErrorStats& s) { return s.ok(); });
}

std::string FaVerdict::summary() const {
  std::string text;
  for (const ErrorStats& s : tensors) {
    text += fmt::format("{}{}={:.2e}[{:.2f}]", text.empty() ? "" : " ", short_name(s.name), s.max_abs, s.max_excess);
    if (s.bad && s.first_bad < 0) {
      text += " (size mismatch)";
    } else if (s.bad) {
      text += fmt::format(" ({}/{} bad, first #{} dev={:.6g} ref={:.6g})", s.bad, s.count, s.first_bad, s.dev_at_first,
                          s.ref_at_first);
    }
  }
  if (fa_rule) {
    text += fmt::format(" fa={:.2e}{}{:.2e}(naive {:.2e})", fa_rule->device_err, fa_rule->ok() ? "<=" : ">",
                        fa_rule->bound, fa_rule->naive_err);
  }
  return text;
}

FaVerdict judge_fa(const FaValues& dev, const FaValues& ref, const std::optional<std::vector<double>>& naive_out,
                   DType out_dtype, double keep_prob) {
  FaVerdict v;
  Tolerance out_tol = tolerance(Quantity::kAttentionOut, out_dtype);
  if ((out_dtype == DType::kFloat16 || out_dtype == DType::kBFloat16) && keep_prob > 0 && keep_prob < 1) {
    out_tol.atol /= keep_prob;
  }
  struct Item {
    const char* name;
    const std::optional<std::vector<double>>& dev;
    const std::optional<std::vector<double>>& ref;
    Tolerance tol;
  };
  const Item items[] = {{"attention_out", dev.attention_out, ref.attention_out, out_tol},
                        {"softmax_max", dev.softmax_max, ref.softmax_max, tolerance(Quantity::kSoftmaxMax, out_dtype)},
                        {"softmax_sum", dev.softmax_sum, ref.softmax_sum, tolerance(Quantity::kSoftmaxSum, out_dtype)}};
  for (const Item& item : items) {
    if (item.dev && item.ref) v.tensors.push_back(compare_values(item.name, *item.dev, *item.ref, item.tol));
  }
  if (ref.attention_out) v.mistrust = degenerate(*ref.attention_out, out_tol);

  bool low_precision = out_dtype == DType::kFloat16 || out_dtype == DType::kBFloat16;
  if (low_precision && naive_out && dev.attention_out && ref.attention_out &&
      naive_out->size() == ref.attention_out->size() && dev.attention_out->size() == ref.attention_out->size()) {
    FaRule rule;
    for (std::size_t i = 0; i < ref.attention_out->size(); ++i) {
      double r = (*ref.attention_out)[i];
      // NaN makes the rule fail: max() would drop it, so it is folded in as +inf.
      double d = std::fabs((*dev.attention_out)[i] - r), n = std::fabs((*naive_out)[i] - r);
      rule.device_err = std::max(rule.device_err, std::isnan(d) ? INFINITY : d);
      rule.naive_err = std::max(rule.naive_err, std::isnan(n) ? INFINITY : n);
    }
    rule.bound = kFaRuleMultiplier * rule.naive_err + tolerance(Quantity::kFaRuleFloor, out_dtype).atol;
    v.fa_rule = rule;
  }
  return v;
}

}  // namespace cannon::tools

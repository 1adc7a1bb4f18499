// Element checks, FlashAttention's rule and the degenerate-reference test, for any list of outputs. The printed summary
// gives, per tensor, the largest absolute error and in brackets the largest fraction of its tolerance used, so a
// passing run still shows how close it came.
#include "tools/harness/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "host/runtime/convert.hpp"

namespace cannon::tools {
namespace {

// The attention output is "out" whatever the operator calls it (attention_out, attn_out).
const char* short_name(const std::string& name) {
  if (name == "attention_out" || name == "attn_out") return "out";
  if (name == "softmax_max") return "max";
  if (name == "softmax_sum") return "sum";
  return name.c_str();
}

// Why `ref` (the attention output) cannot catch a wrong answer, or "" if it can: non-finite values, or all values
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

// x stored in `dtype` (through fp32, round to nearest even). FlashAttentionScore's device casts its output ties away
// from zero (CAST_ROUND), NsaSelectedAttention's to even; at a midpoint both neighbours are half an ulp away, so the
// floor F below, a sum of squared rounding errors, is the same either way.
double round_to_dtype(DType dtype, double x) {
  const float f = static_cast<float>(x);
  if (dtype == DType::kFloat16) return fp16_to_float(float_to_fp16(f));
  if (dtype == DType::kBFloat16) return bf16_to_float(float_to_bf16(f));
  return f;
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

bool PRoundingRule::applies() const { return z >= kPRoundingMinZ; }

// Let u be the unrounded reference and d' the displacement a device's rounding of P causes. A device that rounds P
// gives round_out(u + d'), one that does not gives round_out(u) (its fp32 error is far below an fp16/bf16 ulp), so
//   S - F ~ sum d'^2 ~ D   (rounds P)        S - F ~ 0   (skips it),
// D = sum (ref - u)^2 standing in for sum d'^2: each P's relative rounding error is spread alike wherever it is
// rounded. The threshold D/2 sits halfway. The noise in S - F is the cross term 2·sum e·d' with e the output's
// rounding, at most half an ulp h_i and roughly uniform, so its deviation is 2·sigma, sigma = sqrt(sum d^2·h^2/3).
// With z = D / (2 sigma) >= 16 the halfway margin D/2 = z·sigma is 8 deviations on either side.
PRoundingRule p_rounding_rule(const std::vector<double>& dev, const std::vector<double>& ref,
                              const std::vector<double>& unrounded, DType out_dtype) {
  PRoundingRule rule;
  if (dev.size() != ref.size() || unrounded.size() != ref.size()) return rule;
  const double half_eps = dtype_epsilon(out_dtype) / 2;
  double var = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(ref[i]) || !std::isfinite(unrounded[i])) continue;
    const double d = ref[i] - unrounded[i];
    const double h = half_eps * std::fabs(ref[i]);
    rule.p_effect += d * d;
    var += d * d * h * h / 3;
    const double s = dev[i] - unrounded[i];
    rule.from_unrounded += std::isnan(s) ? INFINITY : s * s;
    const double f = round_to_dtype(out_dtype, unrounded[i]) - unrounded[i];
    rule.floor += f * f;
  }
  rule.z = var > 0 ? rule.p_effect / (2 * std::sqrt(var)) : 0;
  return rule;
}

bool Verdict::passed() const {
  if (naive_rule && !naive_rule->ok()) return false;
  if (p_rounding && !p_rounding->ok()) return false;
  return std::all_of(tensors.begin(), tensors.end(), [](const ErrorStats& s) { return s.ok(); });
}

std::string Verdict::summary() const {
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
  if (naive_rule) {
    text += fmt::format(" fa={:.2e}{}{:.2e}(naive {:.2e})", naive_rule->device_err, naive_rule->ok() ? "<=" : ">",
                        naive_rule->bound, naive_rule->naive_err);
  }
  if (p_rounding && p_rounding->applies()) {
    // S - F against D/2: how far past the output's rounding the device is from the unrounded result.
    text += fmt::format(" p_round={:.2e}{}{:.2e}(z {:.0f})", p_rounding->from_unrounded - p_rounding->floor,
                        p_rounding->ok() ? ">=" : "<", p_rounding->p_effect / 2, p_rounding->z);
  }
  return text;
}

Verdict judge(const std::vector<OutputSpec>& specs, const OutputValues& dev, const OutputValues& ref,
              const std::optional<std::vector<double>>& naive_out,
              const std::function<ToleranceBound(const OutputSpec&)>& bound_of,
              const std::optional<UnroundedP>& unrounded) {
  Verdict v;
  std::optional<std::size_t> out;
  std::optional<ToleranceBound> out_bound;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const ToleranceBound bound = bound_of(specs[i]);
    if (i < ref.size() && ref[i]) {
      // An output the reference has but the device did not produce (an optional output the plan left out, such as
      // FlashAttentionScoreGrad's dpse) is compared as empty: a size mismatch, which fails.
      static const std::vector<double> kMissing;
      const bool produced = i < dev.size() && dev[i];
      v.tensors.push_back(compare_values(specs[i].name, produced ? *dev[i] : kMissing, *ref[i], bound.tol));
      v.tensors.back().from_model = bound.from_model;
    }
    if (specs[i].quantity == Quantity::kAttentionOut) out = i, out_bound = bound;
  }
  if (!out || *out >= ref.size() || !ref[*out]) return v;
  const std::vector<double>& r = *ref[*out];
  v.mistrust = degenerate(r, out_bound->tol);

  const std::vector<double>* d = *out < dev.size() && dev[*out] ? &*dev[*out] : nullptr;
  if (out_bound->fa_rule && naive_out && d && naive_out->size() == r.size() && d->size() == r.size()) {
    NaiveRule rule;
    for (std::size_t i = 0; i < r.size(); ++i) {
      // NaN makes the rule fail: max() would drop it, so it is folded in as +inf.
      double de = std::fabs((*d)[i] - r[i]), ne = std::fabs((*naive_out)[i] - r[i]);
      rule.device_err = std::max(rule.device_err, std::isnan(de) ? INFINITY : de);
      rule.naive_err = std::max(rule.naive_err, std::isnan(ne) ? INFINITY : ne);
    }
    rule.bound = kFaRuleMultiplier * rule.naive_err + out_bound->fa_rule_floor;
    v.naive_rule = rule;
  }
  if (out_bound->fa_rule && unrounded && d)
    v.p_rounding = p_rounding_rule(*d, unrounded->rounded, unrounded->values, unrounded->out_dtype);
  return v;
}

ToleranceBound output_bound(const OutputSpec& output, DType dtype, const reference::AttentionStats& stats,
                            const reference::AttentionGradStats& grad_stats) {
  if (output.quantity == Quantity::kGradient) return gradient_bound(output.name, dtype, grad_stats);
  return tolerance_bound(output.name, dtype, dtype, stats);
}

Verdict judge_at(const std::vector<OutputSpec>& specs, const OutputValues& dev, const OutputValues& ref,
                 const std::optional<std::vector<double>>& naive_out, DType out_dtype) {
  return judge(specs, dev, ref, naive_out, [&](const OutputSpec& o) {
    return output_bound(o, out_dtype, reference::AttentionStats{}, reference::AttentionGradStats{});
  });
}

}  // namespace cannon::tools

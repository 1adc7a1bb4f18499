// Reference and verdict of one case, for every operator alike: the bounds come from the tolerance model and the
// statistics of the case's float64 reference.
#include "tools/harness/check.hpp"

#include <chrono>
#include <exception>

namespace cannon::tools {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool low_precision(DType dtype) { return dtype == DType::kFloat16 || dtype == DType::kBFloat16; }

// The float64 attention output among a driver's outputs, if it has one.
std::optional<std::vector<double>> attention_out_of(const OpCase& c, const OutputValues& values) {
  const std::vector<OutputSpec>& specs = c.driver().outputs;
  for (std::size_t i = 0; i < specs.size() && i < values.size(); ++i) {
    if (specs[i].quantity == Quantity::kAttentionOut) return values[i];
  }
  return std::nullopt;
}

}  // namespace

ReferenceResult reference_for(const OpCase& c, std::optional<OutputValues> expected, nlohmann::json& metrics) {
  ReferenceResult ref;
  auto start = Clock::now();
  if (!expected) {
    ReferenceValues r = c.reference();
    ref.values = std::move(r.outputs);
    ref.stats = r.stats;
    ref.grad_stats = r.grad_stats;
    ref.rounded_p = attention_out_of(c, ref.values);
  } else {
    ref.values = std::move(*expected);
    try {
      ReferenceValues r = c.reference();
      ref.stats = r.stats;
      ref.grad_stats = r.grad_stats;
      ref.rounded_p = attention_out_of(c, r.outputs);
    } catch (const std::exception& e) {
      metrics["reference_error"] = e.what();
      ref.stats = c.known_stats();
    }
  }
  metrics["reference_s"] = since(start);
  if (low_precision(c.output_dtype())) {
    start = Clock::now();
    try {
      ref.naive = c.naive_reference();
      ref.unrounded_p = c.unrounded_p_reference();
      if (ref.naive) metrics["naive_s"] = since(start);
    } catch (const std::exception& e) {
      // Only a golden case can get here (its attributes may reach past the reference); report, don't fail.
      metrics["naive_error"] = e.what();
      metrics["naive_s"] = since(start);
    }
  }
  return ref;
}

Verdict judge_case(const OpCase& c, const std::vector<HostData>& dev, const ReferenceResult& ref) {
  OutputValues dev_values;
  for (const HostData& out : dev) dev_values.emplace_back(decode_values(out));
  // The output dtype is the inputs' too (query, prev_attn_out): the dtype P is rounded to before P·V.
  const DType dt = c.output_dtype();
  std::optional<UnroundedP> unrounded;
  if (ref.unrounded_p && ref.rounded_p) unrounded = UnroundedP{*ref.rounded_p, *ref.unrounded_p, dt};
  return judge(
      c.driver().outputs, dev_values, ref.values, ref.naive,
      [&](const OutputSpec& o) { return output_bound(o, dt, ref.stats, ref.grad_stats); }, unrounded);
}

Verdict check_against_reference(const OpCase& c, const std::vector<HostData>& dev) {
  nlohmann::json metrics;
  return judge_case(c, dev, reference_for(c, std::nullopt, metrics));
}

}  // namespace cannon::tools

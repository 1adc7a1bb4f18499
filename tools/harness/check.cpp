// Reference and verdict of one case. Every tolerance comes from the case (OpCase::tolerance), so an operator's rule
// is stated in its driver and the judging here stays the same for all of them.
#include "tools/harness/check.hpp"

#include <chrono>
#include <exception>

namespace cannon::tools {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool low_precision(DType dtype) { return dtype == DType::kFloat16 || dtype == DType::kBFloat16; }

}  // namespace

ReferenceResult reference_for(const OpCase& c, std::optional<OutputValues> expected, nlohmann::json& metrics) {
  ReferenceResult ref;
  auto start = Clock::now();
  ref.values = expected ? std::move(*expected) : c.reference();
  metrics["reference_s"] = since(start);
  if (low_precision(c.output_dtype())) {
    start = Clock::now();
    try {
      ref.naive = c.naive_reference();
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
  return judge(
      c.driver().outputs, dev_values, ref.values, ref.naive, [&](Quantity q) { return c.tolerance(q); },
      low_precision(c.output_dtype()));
}

Verdict check_against_reference(const OpCase& c, const std::vector<HostData>& dev) {
  nlohmann::json metrics;
  return judge_case(c, dev, reference_for(c, std::nullopt, metrics));
}

}  // namespace cannon::tools

// The correctness check of one case, for any operator: the reference side (a golden directory's expected outputs or
// the case's float64 reference, plus the naive low-precision reference for fp16/bf16) and the verdict on the device's
// outputs with the case's tolerances. cannon-conformance's correctness mode and the operator tests share it.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/harness/compare.hpp"
#include "tools/harness/driver.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {

struct ReferenceResult {
  OutputValues values;                       // in the driver's output order
  std::optional<std::vector<double>> naive;  // fp16/bf16 outputs of operators that have a naive reference
};

// `expected` when given, else the case's float64 reference; for fp16/bf16 outputs also the naive reference (when it
// throws, as a golden case's attributes may reach past it, the error goes to metrics["naive_error"]). The times go
// to metrics["reference_s"] and metrics["naive_s"].
ReferenceResult reference_for(const OpCase& c, std::optional<OutputValues> expected, nlohmann::json& metrics);

// Judges device outputs (in the driver's order) against `ref` with the case's tolerances.
Verdict judge_case(const OpCase& c, const std::vector<HostData>& dev, const ReferenceResult& ref);

// reference_for without expected values, then judge_case.
Verdict check_against_reference(const OpCase& c, const std::vector<HostData>& dev);

}  // namespace cannon::tools

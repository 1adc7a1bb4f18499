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
  OutputValues values;                             // in the driver's output order
  std::optional<std::vector<double>> naive;        // fp16/bf16 outputs of operators that have a naive reference
  std::optional<std::vector<double>> unrounded_p;  // fp16/bf16: the attention output with P unrounded
  std::optional<std::vector<double>> rounded_p;    // and the float64 reference's (P rounded), for the same rule
  reference::AttentionStats stats;                 // what the tolerance model derives each output's bound from
  reference::AttentionGradStats grad_stats;        // the same for gradients (backward operators)
};

// `expected` when given, else the case's float64 reference; the statistics of the float64 reference in both cases (a
// golden directory's inputs are run through it too); for fp16/bf16 outputs also the naive reference. A reference
// that throws on a golden case (its attributes may reach past it) is reported in metrics["reference_error"] or
// metrics["naive_error"], not thrown: the case's known_stats() then stand in. The times go to metrics["reference_s"]
// and metrics["naive_s"].
ReferenceResult reference_for(const OpCase& c, std::optional<OutputValues> expected, nlohmann::json& metrics);

// Judges device outputs (in the driver's order) against `ref`, each with the bound the tolerance model derives from
// the reference's statistics (tolerance_model.hpp).
Verdict judge_case(const OpCase& c, const std::vector<HostData>& dev, const ReferenceResult& ref);

// reference_for without expected values, then judge_case.
Verdict check_against_reference(const OpCase& c, const std::vector<HostData>& dev);

}  // namespace cannon::tools

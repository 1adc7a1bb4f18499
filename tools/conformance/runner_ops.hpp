// Internal to the conformance runner: the pieces runner.cpp shares with the RingAttentionUpdate and
// NsaSelectedAttention modes (runner_ops.cpp), so all operators report statuses and repro lines the same way.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cannon/error.hpp"
#include "tools/conformance/runner.hpp"

namespace cannon::tools::runner_detail {

struct Outcome {
  CaseStatus status;
  std::string message;
};

// The status of a case the operator's plan threw for (a pass when the case was marked '!').
Outcome rejected(const Error& e, bool expect_invalid);
std::string join(const std::vector<std::string>& lines);
double median(std::vector<double> times);

// One RingAttentionUpdate / NsaSelectedAttention case (generated from input.rau / input.nsa, or a golden
// directory of that op) in options.mode. `dump_dir` is the case's --dump directory, empty for none.
Outcome run_rau(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_dir,
                nlohmann::json& metrics);
Outcome run_nsa(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_dir,
                nlohmann::json& metrics);

}  // namespace cannon::tools::runner_detail

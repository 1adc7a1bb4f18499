// cannon-bench --startup: the time of the first small FlashAttentionScore call in a fresh process, phase by phase
// (issue 10 part 5: with PoCL's kernel cache warm the first call must take at most 100 ms end to end). The phases
// go through the public API exactly as an application calls it, so nothing of the tools' harness is counted.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace cannon::tools {

// Runs the first call (context, plan, inputs, run, download) and a second plan + run of the same shape, prints the
// phases in ms and fills `report` ("phases_ms" and the totals). `entered` is when main() began. Returns 0.
int run_startup(const std::string& device, std::chrono::steady_clock::time_point entered, nlohmann::json& report);

}  // namespace cannon::tools

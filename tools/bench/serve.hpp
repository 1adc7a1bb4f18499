// cannon-bench --serve: the problems made ready once, then one timed run per request on stdin, so that a driver
// (tools/bench/compare_torch.py --paired) can alternate single runs of cannon and of another library. On a noisy
// machine two runs back to back see the same conditions; blocks of runs seconds apart do not.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tools/bench/bench_case.hpp"

namespace cannon::tools {

// Prepares every problem with `prepare`, then prints one line "@ready <json>" (`report` with each case's problem
// and flops added) and answers each input line:
// "run I" → "@ms <milliseconds of one timed run of problem I>", "quit" or end of input → returns 0. A problem that
// fails to prepare prints "@error <message>" and returns 1; a malformed request prints "@error ..." and goes on.
int run_serve(const std::vector<std::string>& problems, const std::function<Sampler(const std::string&)>& prepare,
              nlohmann::json report);

}  // namespace cannon::tools

// One cannon-bench measurement through the operator drivers, the same plan, inputs and guarded run as
// cannon-conformance: plan first (a problem the operator rejects never allocates its inputs), fill, one checked
// warm-up run (it compiles the kernels and warms caches), then the median of timed runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "tools/harness/driver.hpp"

namespace cannon::tools {

struct Timing {
  double seconds = 0;           // median of the timed runs
  double work = 0;              // of one run: FLOPs or bytes (the driver's WorkUnit)
  std::vector<double> samples;  // every timed run's seconds, in run order
};

// Plans `c`, calls `fill(c)` (generate or load its inputs), runs it once checked, then `repeat` timed runs.
// Throws cannon::Error on rejection or when the warm-up run damaged a guard or left an output unwritten.
Timing time_case(const Context& ctx, OpCase& c, int repeat, const std::function<void(OpCase&)>& fill);

// A problem string of any registered operator, inputs generated from `seed`.
Timing time_problem(const Context& ctx, const std::string& text, uint64_t seed, int repeat);

double median(std::vector<double> values);

}  // namespace cannon::tools

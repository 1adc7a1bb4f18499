// One cannon-bench measurement through the operator drivers, the same plan, inputs and guarded run as
// cannon-conformance: plan first (a problem the operator rejects never allocates its inputs), fill, one checked
// warm-up run (it compiles the kernels and warms caches), then the median of timed runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

// A case made ready to time: planned, filled, run once checked. Each call of `once` is one timed run (seconds of
// wall time). `state` owns what the runs use (inputs, outputs, plan); the sampler is valid while it lives.
struct Sampler {
  std::shared_ptr<void> state;
  std::function<double()> once;
  double work = 0;  // of one run: FLOPs or bytes (the driver's WorkUnit)
};
// Plans `c` (taking it over), calls `fill` (generate or load its inputs), runs it once checked.
// Throws cannon::Error on rejection or when that run damaged a guard or left an output unwritten.
Sampler prepare_case(const Context& ctx, std::unique_ptr<OpCase> c, const std::function<void(OpCase&)>& fill);
// A problem string of any registered operator, inputs generated from `seed`.
Sampler prepare_problem(const Context& ctx, const std::string& text, uint64_t seed);
// `repeat` timed runs of one sampler.
Timing time_sampler(const Sampler& s, int repeat);
// `repeat` rounds over several samplers, one timed run of each per round, the order rotated every round: on a noisy
// machine a slow phase then falls on every case alike, so ratios between them (causal against dense) hold up.
std::vector<Timing> time_interleaved(const std::vector<Sampler>& samplers, int repeat);
// The median over rounds of case[r] / base[r] (two time_interleaved sample lists, round by round; rounds where the
// base is 0 are left out); 0 for none.
double median_round_ratio(const std::vector<double>& cases, const std::vector<double>& base);

// Plans `c`, calls `fill(c)` (generate or load its inputs), runs it once checked, then `repeat` timed runs.
// Throws cannon::Error on rejection or when the warm-up run damaged a guard or left an output unwritten.
Timing time_case(const Context& ctx, OpCase& c, int repeat, const std::function<void(OpCase&)>& fill);

// A problem string of any registered operator, inputs generated from `seed`.
Timing time_problem(const Context& ctx, const std::string& text, uint64_t seed, int repeat);

double median(std::vector<double> values);

}  // namespace cannon::tools

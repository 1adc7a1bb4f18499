// Timing one case (bench_case.hpp).
#include "tools/bench/bench_case.hpp"

#include <algorithm>

#include "cannon/error.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/device_run.hpp"

namespace cannon::tools {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

Timing time_case(const Context& ctx, OpCase& c, int repeat, const std::function<void(OpCase&)>& fill) {
  DeviceRun run(ctx, c);
  fill(c);
  run.prepare();
  run.run();
  std::vector<std::string> problems;
  run.read(problems);
  if (!problems.empty()) throw Error(Status::kInnerError, "guard or output check failed: " + problems.front());
  std::vector<double> secs;
  for (int r = 0; r < repeat; ++r) secs.push_back(run.timed_run());
  return Timing{median(secs), run.planned().work(), secs};
}

Timing time_problem(const Context& ctx, const std::string& text, uint64_t seed, int repeat) {
  std::unique_ptr<OpCase> c = parse_problem(text)->describe();
  return time_case(ctx, *c, repeat, [seed](OpCase& x) { x.generate(seed); });
}

}  // namespace cannon::tools

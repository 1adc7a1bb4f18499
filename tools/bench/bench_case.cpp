// Timing one case (bench_case.hpp).
#include "tools/bench/bench_case.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "cannon/error.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/device_run.hpp"

namespace cannon::tools {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

namespace {
// A case and its device run; the run refers to the case, so both live in one place. `owned` is empty where the
// caller keeps the case (time_case).
struct CaseState {
  CaseState(const Context& ctx, std::unique_ptr<OpCase> own, OpCase& c) : owned(std::move(own)), op(c), run(ctx, c) {}
  std::unique_ptr<OpCase> owned;
  OpCase& op;
  DeviceRun run;
};

Sampler prepare_state(std::shared_ptr<CaseState> st, const std::function<void(OpCase&)>& fill) {
  fill(st->op);
  st->run.prepare();
  st->run.run();
  std::vector<std::string> problems;
  st->run.read(problems);
  if (!problems.empty()) throw Error(Status::kInnerError, "guard or output check failed: " + problems.front());
  CaseState* raw = st.get();
  const double work = st->run.planned().work();
  return Sampler{std::move(st), [raw] { return raw->run.timed_run(); }, work};
}
}  // namespace

Sampler prepare_case(const Context& ctx, std::unique_ptr<OpCase> c, const std::function<void(OpCase&)>& fill) {
  OpCase& ref = *c;
  return prepare_state(std::make_shared<CaseState>(ctx, std::move(c), ref), fill);
}

Sampler prepare_problem(const Context& ctx, const std::string& text, uint64_t seed) {
  return prepare_case(ctx, parse_problem(text)->describe(), [seed](OpCase& x) { x.generate(seed); });
}

Timing time_sampler(const Sampler& s, int repeat) {
  std::vector<double> secs;
  for (int r = 0; r < repeat; ++r) secs.push_back(s.once());
  return Timing{median(secs), s.work, secs};
}

std::vector<Timing> time_interleaved(const std::vector<Sampler>& samplers, int repeat) {
  std::vector<Timing> out(samplers.size());
  const std::size_t n = samplers.size();
  for (int r = 0; r < repeat; ++r) {
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(r)) % n;
      out[i].samples.push_back(samplers[i].once());
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    out[i].seconds = median(out[i].samples);
    out[i].work = samplers[i].work;
  }
  return out;
}

double median_round_ratio(const std::vector<double>& cases, const std::vector<double>& base) {
  std::vector<double> ratios;
  for (std::size_t r = 0; r < cases.size() && r < base.size(); ++r) {
    if (base[r] > 0) ratios.push_back(cases[r] / base[r]);
  }
  return median(ratios);
}

Timing time_case(const Context& ctx, OpCase& c, int repeat, const std::function<void(OpCase&)>& fill) {
  return time_sampler(prepare_state(std::make_shared<CaseState>(ctx, nullptr, c), fill), repeat);
}

Timing time_problem(const Context& ctx, const std::string& text, uint64_t seed, int repeat) {
  return time_sampler(prepare_problem(ctx, text, seed), repeat);
}

}  // namespace cannon::tools

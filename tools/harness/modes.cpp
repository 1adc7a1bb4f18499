// The run modes on one case of any operator. Each starts with the operator's plan, so validation errors are sorted
// before anything is allocated; correctness compares with the float64 reference (or a golden directory's expected
// tensors), bitwise runs twice and compares bytes, performance reports the median of timed runs.
#include "tools/harness/modes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <new>
#include <optional>

#include "cannon/error.hpp"
#include "tools/harness/check.hpp"
#include "tools/harness/device_run.hpp"
#include "tools/harness/golden.hpp"

namespace cannon::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Dump = std::function<void(const std::vector<HostData>&)>;

struct Outcome {
  CaseStatus status;
  std::string message;
};

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The status of a case the operator threw for (a pass when the case was marked '!').
Outcome rejected(const Error& e, bool expect_invalid) {
  bool invalid = e.status() == Status::kParamInvalid || e.status() == Status::kParamNullptr;
  if (invalid && expect_invalid) return {CaseStatus::kPassed, std::string("rejected as expected: ") + e.what()};
  if (invalid) return {CaseStatus::kInvalidArguments, e.what()};
  if (e.status() == Status::kUnimplemented) return {CaseStatus::kUnimplemented, e.what()};
  return {CaseStatus::kFailed, fmt::format("{}: {}", status_name(e.status()), e.what())};
}

std::string join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += (text.empty() ? "" : "; ") + line;
  return text;
}

double median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t.empty() ? 0 : t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
}

Outcome correctness(const OpCase& c, DeviceRun& run, std::optional<OutputValues> expected, json& metrics,
                    const Dump& dump) {
  auto start = Clock::now();
  run.run();
  std::vector<std::string> problems;
  std::vector<HostData> outs = run.read(problems);
  metrics["device_s"] = since(start);
  dump(outs);

  const Verdict verdict = judge_case(c, outs, reference_for(c, std::move(expected), metrics));
  for (const ErrorStats& s : verdict.tensors) {
    metrics[s.name] = json{{"max_abs", s.max_abs}, {"max_rel", s.max_rel}, {"max_excess", s.max_excess}, {"bad", s.bad},
                           {"atol", s.tol.atol},   {"rtol", s.tol.rtol},   {"from_model", s.from_model}};
  }
  if (verdict.naive_rule) {
    metrics["fa_rule"] = json{{"device_err", verdict.naive_rule->device_err},
                              {"naive_err", verdict.naive_rule->naive_err},
                              {"bound", verdict.naive_rule->bound}};
  }
  if (verdict.p_rounding) {
    metrics["p_rounding"] = json{{"from_unrounded", verdict.p_rounding->from_unrounded},
                                 {"floor", verdict.p_rounding->floor},
                                 {"p_effect", verdict.p_rounding->p_effect},
                                 {"z", verdict.p_rounding->z},
                                 {"applies", verdict.p_rounding->applies()}};
  }
  std::string summary = verdict.summary();
  c.check_run(problems, summary, metrics);
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems) + "; " + summary};
  if (!verdict.passed()) return {CaseStatus::kFailed, summary};
  if (!verdict.mistrust.empty()) return {CaseStatus::kMistrusted, verdict.mistrust + "; " + summary};
  return {CaseStatus::kPassed, summary};
}

// "attention_out: 3 of 4096 elements differ (first #17)" for each output that is not byte-identical.
Outcome bitwise(const OpCase& c, DeviceRun& run, json& metrics, const Dump& dump) {
  std::vector<std::string> problems;
  run.run();
  std::vector<HostData> first = run.read(problems);
  dump(first);
  run.run();
  std::vector<HostData> second = run.read(problems);
  const std::vector<OutputSpec>& specs = c.driver().outputs;
  std::size_t bytes = 0;
  for (std::size_t k = 0; k < first.size() && k < second.size() && k < specs.size(); ++k) {
    const HostData& a = first[k];
    const HostData& b = second[k];
    bytes += a.bytes.size();
    std::size_t item = dtype_size(a.desc.dtype), differ = 0, first_at = 0;
    for (std::size_t i = 0; i < a.bytes.size(); i += item) {
      if (std::memcmp(&a.bytes[i], &b.bytes[i], item) != 0 && differ++ == 0) first_at = i / item;
    }
    metrics[specs[k].name] = json{{"differing_elements", differ}};
    if (differ) {
      problems.push_back(fmt::format("{}: {} of {} elements differ between two runs (first #{})", specs[k].name, differ,
                                     a.desc.numel(), first_at));
    }
  }
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems)};
  return {CaseStatus::kPassed, fmt::format("two runs identical ({} output bytes)", bytes)};
}

Outcome performance(const OpCase& c, DeviceRun& run, const RunOptions& options, json& metrics) {
  std::vector<std::string> problems;
  run.run();  // the first warm-up also compiles the kernels; its result is checked for guard damage
  run.read(problems);
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems)};
  for (int i = 1; i < options.warmup; ++i) run.timed_run();
  std::vector<double> times;
  for (int i = 0; i < std::max(options.repeats, 1); ++i) times.push_back(run.timed_run());
  const WorkUnit unit = c.driver().work_unit;
  const double mid = median(times), fastest = *std::min_element(times.begin(), times.end());
  const double rate = run.planned().work() / mid * 1e-9;
  metrics["median_ms"] = mid * 1e3;
  metrics["min_ms"] = fastest * 1e3;
  metrics[work_metric(unit)] = run.planned().work();
  metrics[rate_metric(unit)] = rate;
  return {CaseStatus::kPassed, fmt::format("{:.3f} ms (min {:.3f}, {} runs) {:.2f} {}", mid * 1e3, fastest * 1e3,
                                           times.size(), rate, rate_unit(unit))};
}

Outcome run_mode(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_name,
                 const std::vector<const Driver*>& drivers, json& metrics) {
  std::unique_ptr<OpCase> c;
  std::optional<OutputValues> expected;
  std::vector<ExpectedArray> expected_arrays;
  if (input.problem) {
    c = input.problem->describe();
  } else {
    const GoldenFiles files = golden_files_on_disk(input.golden_dir);
    GoldenCase golden = load_golden(golden_driver(drivers, files), files);
    c = std::move(golden.c);
    expected = std::move(golden.expected);
    expected_arrays = std::move(golden.expected_arrays);
  }
  const Driver& driver = c->driver();
  std::optional<DeviceRun> run;
  try {
    run.emplace(ctx, *c);  // plans: a case the operator rejects never allocates its inputs
  } catch (const Error& e) {
    return rejected(e, input.expect_invalid);
  }
  metrics[work_metric(driver.work_unit)] = run->planned().work();
  metrics["workspace_bytes"] = run->planned().workspace_bytes();
  check_expected(expected_arrays, driver.outputs, run->planned().output_descs());
  if (input.problem) c->generate(input.seed);
  // Some rules need the tensors' values (actual_seq_qlen, topk_indices): the run checks them, so a case marked '!'
  // may also be rejected there.
  if (input.expect_invalid) {
    try {
      run->prepare();
      run->run();
    } catch (const Error& e) {
      return rejected(e, true);
    }
    return {CaseStatus::kFailed, "the operator accepted a case marked '!' (must be rejected)"};
  }
  run->prepare();

  Dump dump = [&](const std::vector<HostData>& outs) {
    if (options.dump_dir.empty()) return;
    write_golden((std::filesystem::path(options.dump_dir) / dump_name).string(), *c, outs, input.name);
  };
  switch (options.mode) {
    case Mode::kBitwise:
      return bitwise(*c, *run, metrics, dump);
    case Mode::kPerformance:
      return performance(*c, *run, options, metrics);
    default:
      return correctness(*c, *run, std::move(expected), metrics, dump);
  }
}

}  // namespace

const char* status_text(CaseStatus status) {
  switch (status) {
    case CaseStatus::kPassed:
      return "PASSED";
    case CaseStatus::kFailed:
      return "FAILED";
    case CaseStatus::kSkipped:
      return "SKIPPED";
    case CaseStatus::kUnimplemented:
      return "UNIMPLEMENTED";
    case CaseStatus::kInvalidArguments:
      return "INVALID_ARGUMENTS";
    case CaseStatus::kMistrusted:
      return "MISTRUSTED";
  }
  return "?";
}

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kList:
      return "list";
    case Mode::kCorrectness:
      return "correctness";
    case Mode::kBitwise:
      return "bitwise";
    case Mode::kPerformance:
      return "performance";
  }
  return "?";
}

bool is_failure(CaseStatus s) {
  return s == CaseStatus::kFailed || s == CaseStatus::kMistrusted || s == CaseStatus::kInvalidArguments;
}

bool is_skip(CaseStatus s) { return s == CaseStatus::kSkipped || s == CaseStatus::kUnimplemented; }

std::string repro_line(const CaseInput& input, const RunOptions& options) {
  std::string line = fmt::format("cannon-conformance --mode={}", mode_name(options.mode));
  if (!options.device_spec.empty()) line += fmt::format(" --device='{}'", options.device_spec);
  if (input.generated() && !input.own_seed() && options.seed != 0) line += fmt::format(" --seed={}", options.seed);
  if (!input.generated()) return line + fmt::format(" --golden '{}'", input.golden_dir);
  return line + fmt::format(" '{}{}'", input.expect_invalid ? "!" : "", input.name);
}

CaseResult run_case(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_name,
                    const std::vector<const Driver*>& drivers) {
  CaseResult result;
  result.name = input.name;
  result.repro = repro_line(input, options);
  auto start = Clock::now();
  try {
    Outcome outcome = run_mode(ctx, input, options, dump_name, drivers, result.metrics);
    result.status = outcome.status;
    result.message = outcome.message;
  } catch (const Error& e) {
    // Rejections outside the operator's plan (a corrupt golden directory, a problem too large for the tools, an
    // input value the run checks) are INVALID_ARGUMENTS too; only the operator's own count for a '!' case.
    Outcome outcome = rejected(e, false);
    result.status = outcome.status;
    result.message = outcome.message;
  } catch (const std::bad_alloc&) {
    result.status = CaseStatus::kFailed;
    result.message = "out of host memory (std::bad_alloc): the case's host tensors or reference do not fit";
  } catch (const std::exception& e) {
    result.status = CaseStatus::kFailed;
    result.message = e.what();
  }
  result.seconds = since(start);
  return result;
}

}  // namespace cannon::tools

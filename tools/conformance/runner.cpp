// The three run modes on one FaCase. Each starts with the operator's plan, so validation errors are sorted
// before anything is allocated; correctness compares with the float64 reference (or a golden directory's
// expected tensors), bitwise runs twice and compares bytes, performance reports the median of timed runs.
#include "tools/conformance/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <new>

#include "cannon/error.hpp"
#include "host/runtime/philox.hpp"
#include "tools/common/compare.hpp"
#include "tools/common/device_run.hpp"
#include "tools/common/golden.hpp"
#include "tools/common/op_golden.hpp"
#include "tools/conformance/runner_ops.hpp"

namespace cannon::tools {
namespace runner_detail {

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

}  // namespace runner_detail

namespace {

using nlohmann::json;
using runner_detail::join;
using runner_detail::Outcome;
using runner_detail::rejected;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

FaValues values_of(const FaDeviceOutputs& o) {
  return FaValues{decode_values(o.attention_out), decode_values(o.softmax_max), decode_values(o.softmax_sum)};
}

// The built-in dropout generator's kept fraction for a generated case with 0 < keep_prob < 1 and no explicit
// drop_mask (host Philox, the statement the reference and kernels share); none otherwise. The rule:
// within 0.01 of keep_prob, judged from 2^20 elements up (below that, sampling noise can reach it).
constexpr int64_t kKeptCheckNumel = int64_t{1} << 20;
constexpr double kKeptTolerance = 0.01;

std::optional<double> generator_kept_fraction(const FaCase& fa) {
  const FaDims& d = fa.dims;
  const int64_t numel = d.score_numel();
  if (fa.inputs.drop_mask || !(fa.attrs.keep_prob > 0 && fa.attrs.keep_prob < 1) || fa.attrs.offset < 0 || numel <= 0) {
    return std::nullopt;
  }
  philox::DropoutShape shape{d.n1, d.tnd ? d.q_lens : std::vector<int64_t>(static_cast<std::size_t>(d.b), d.s1),
                             d.tnd ? d.kv_lens : std::vector<int64_t>(static_cast<std::size_t>(d.b), d.s2)};
  philox::DropoutGenerator gen(fa.attrs.seed, fa.attrs.offset, fa.attrs.keep_prob);
  int64_t kept = 0;
  for (uint8_t byte : philox::generate_drop_mask(gen, shape))
    kept += static_cast<int64_t>(std::bitset<8>(byte).count());
  return static_cast<double>(kept) / static_cast<double>(numel);
}

Outcome correctness(FaCase& fa, FaDeviceRun& run, const std::optional<FaValues>& expected, json& metrics,
                    const std::function<void(const FaDeviceOutputs&)>& dump) {
  auto start = Clock::now();
  run.run();
  std::vector<std::string> problems;
  FaDeviceOutputs outs = run.read(problems);
  metrics["device_s"] = since(start);
  dump(outs);

  FaValues ref;
  std::optional<std::vector<double>> naive;
  start = Clock::now();
  if (expected) {
    ref = *expected;
  } else {
    auto r = reference::flash_attention_score(fa.ref_inputs(), fa.attrs, reference::Precision::kFloat64);
    ref = FaValues{std::move(r.attention_out.values), std::move(r.softmax_max.values), std::move(r.softmax_sum.values)};
  }
  metrics["reference_s"] = since(start);
  if (fa.output_dtype() == DType::kFloat16 || fa.output_dtype() == DType::kBFloat16) {
    start = Clock::now();
    try {
      naive = reference::flash_attention_score(fa.ref_inputs(), fa.attrs, reference::Precision::kNaiveLowPrecision)
                  .attention_out.values;
    } catch (const std::exception& e) {
      // Only a golden case can get here (its attributes may reach past the reference); report, don't fail.
      metrics["naive_error"] = e.what();
    }
    metrics["naive_s"] = since(start);
  }

  FaVerdict verdict = judge_fa(values_of(outs), ref, naive, fa.output_dtype(), fa.attrs.keep_prob);
  for (const ErrorStats& s : verdict.tensors) {
    metrics[s.name] = json{{"max_abs", s.max_abs}, {"max_rel", s.max_rel}, {"max_excess", s.max_excess},
                           {"bad", s.bad},         {"atol", s.tol.atol},   {"rtol", s.tol.rtol}};
  }
  if (verdict.fa_rule) {
    metrics["fa_rule"] = json{{"device_err", verdict.fa_rule->device_err},
                              {"naive_err", verdict.fa_rule->naive_err},
                              {"bound", verdict.fa_rule->bound}};
  }
  std::string summary = verdict.summary();
  if (std::optional<double> kept = generator_kept_fraction(fa)) {
    metrics["generator_kept_fraction"] = *kept;
    summary += fmt::format(" kept={:.4f}", *kept);
    if (fa.dims.score_numel() >= kKeptCheckNumel && std::abs(*kept - fa.attrs.keep_prob) > kKeptTolerance) {
      problems.push_back(fmt::format("dropout generator keeps {:.4f} of the elements, keep_prob is {} (limit {})",
                                     *kept, fa.attrs.keep_prob, kKeptTolerance));
    }
  }
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems) + "; " + summary};
  if (!verdict.passed()) return {CaseStatus::kFailed, summary};
  if (!verdict.mistrust.empty()) return {CaseStatus::kMistrusted, verdict.mistrust + "; " + summary};
  return {CaseStatus::kPassed, summary};
}

// "attention_out: 3 of 4096 elements differ (first #17)" for each output that is not byte-identical.
Outcome bitwise(FaDeviceRun& run, json& metrics, const std::function<void(const FaDeviceOutputs&)>& dump) {
  std::vector<std::string> problems;
  run.run();
  FaDeviceOutputs first = run.read(problems);
  dump(first);
  run.run();
  FaDeviceOutputs second = run.read(problems);
  const std::pair<const char*, std::pair<const HostData*, const HostData*>> outputs[] = {
      {"attention_out", {&first.attention_out, &second.attention_out}},
      {"softmax_max", {&first.softmax_max, &second.softmax_max}},
      {"softmax_sum", {&first.softmax_sum, &second.softmax_sum}}};
  std::size_t bytes = 0;
  for (const auto& [name, pair] : outputs) {
    const HostData& a = *pair.first;
    const HostData& b = *pair.second;
    bytes += a.bytes.size();
    std::size_t item = dtype_size(a.desc.dtype), differ = 0, first_at = 0;
    for (std::size_t i = 0; i < a.bytes.size(); i += item) {
      if (std::memcmp(&a.bytes[i], &b.bytes[i], item) != 0 && differ++ == 0) first_at = i / item;
    }
    metrics[name] = json{{"differing_elements", differ}};
    if (differ) {
      problems.push_back(fmt::format("{}: {} of {} elements differ between two runs (first #{})", name, differ,
                                     a.desc.numel(), first_at));
    }
  }
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems)};
  return {CaseStatus::kPassed, fmt::format("two runs identical ({} output bytes)", bytes)};
}

Outcome performance(FaDeviceRun& run, const RunOptions& options, json& metrics) {
  std::vector<std::string> problems;
  run.run();  // the first warm-up also compiles the kernels; its result is checked for guard damage
  run.read(problems);
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems)};
  for (int i = 1; i < options.warmup; ++i) run.timed_run();
  std::vector<double> times;
  for (int i = 0; i < std::max(options.repeats, 1); ++i) times.push_back(run.timed_run());
  std::sort(times.begin(), times.end());
  double median =
      times.size() % 2 ? times[times.size() / 2] : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
  double gflops = run.plan().flops / median * 1e-9;
  metrics["median_ms"] = median * 1e3;
  metrics["min_ms"] = times.front() * 1e3;
  metrics["flops"] = run.plan().flops;
  metrics["gflops"] = gflops;
  return {CaseStatus::kPassed, fmt::format("{:.3f} ms (min {:.3f}, {} runs) {:.2f} GFLOP/s", median * 1e3,
                                           times.front() * 1e3, times.size(), gflops)};
}

Outcome run_mode(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_name,
                 json& metrics) {
  const std::string dump_dir =
      options.dump_dir.empty() ? "" : (std::filesystem::path(options.dump_dir) / dump_name).string();
  const std::string golden = input.golden_dir.empty() ? "" : golden_op(input.golden_dir);
  if (input.rau || golden == "ring_attention_update")
    return runner_detail::run_rau(ctx, input, options, dump_dir, metrics);
  if (input.nsa || golden == "nsa_select_attention")
    return runner_detail::run_nsa(ctx, input, options, dump_dir, metrics);
  FaCase fa;
  std::optional<FaValues> expected;
  std::vector<ExpectedArray> expected_arrays;
  if (input.problem) {
    fa = describe_case(*input.problem);
  } else {
    GoldenCase golden = load_golden(input.golden_dir);
    fa = std::move(golden.fa);
    expected = std::move(golden.expected);
    expected_arrays = std::move(golden.expected_arrays);
  }
  std::optional<FaDeviceRun> run;
  try {
    run.emplace(ctx, fa);
  } catch (const Error& e) {
    return rejected(e, input.expect_invalid);
  }
  if (input.expect_invalid) return {CaseStatus::kFailed, "the operator accepted a case marked '!' (must be rejected)"};
  check_expected(expected_arrays, kFaGoldenOutputs,
                 {run->plan().attention_out, run->plan().softmax_max, run->plan().softmax_sum});
  metrics["flops"] = run->plan().flops;
  metrics["workspace_bytes"] = run->plan().workspace_size;
  if (input.problem) generate_inputs(fa, input.seed);
  run->prepare(fa);

  auto dump = [&](const FaDeviceOutputs& outs) {
    if (options.dump_dir.empty()) return;
    write_golden((std::filesystem::path(options.dump_dir) / dump_name).string(), fa, outs, input.name);
  };
  switch (options.mode) {
    case Mode::kBitwise:
      return bitwise(*run, metrics, dump);
    case Mode::kPerformance:
      return performance(*run, options, metrics);
    default:
      return correctness(fa, *run, expected, metrics, dump);
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

CaseResult run_case(const Context& ctx, const CaseInput& input, const RunOptions& options,
                    const std::string& dump_name) {
  CaseResult result;
  result.name = input.name;
  result.repro = repro_line(input, options);
  auto start = Clock::now();
  try {
    Outcome outcome = run_mode(ctx, input, options, dump_name, result.metrics);
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

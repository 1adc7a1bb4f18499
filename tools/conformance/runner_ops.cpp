// The three run modes for RingAttentionUpdate and NsaSelectedAttention, written once over the device-run
// classes of op_device_run.hpp. Judging reuses FlashAttentionScore's: element checks from the tolerance table for
// all three outputs (the merge's attn_out at the output dtype's row, max and sum at the fp32 rows) and, for NSA in
// fp16/bf16, FlashAttention's 2x-naive rule against the reference run with every intermediate in the dtype.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>

#include "tools/common/compare.hpp"
#include "tools/common/op_device_run.hpp"
#include "tools/common/op_golden.hpp"
#include "tools/conformance/runner_ops.hpp"

namespace cannon::tools::runner_detail {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Dump = std::function<void(const std::vector<HostData>&)>;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

constexpr const char* kNames[] = {"attention_out", "softmax_max", "softmax_sum"};

FaValues values_of(const std::vector<HostData>& outs) {
  FaValues v;
  if (outs.size() == 3) v = FaValues{decode_values(outs[0]), decode_values(outs[1]), decode_values(outs[2])};
  return v;
}

Outcome verdict_outcome(const FaVerdict& verdict, const std::vector<std::string>& problems, json& metrics) {
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
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems) + "; " + summary};
  if (!verdict.passed()) return {CaseStatus::kFailed, summary};
  if (!verdict.mistrust.empty()) return {CaseStatus::kMistrusted, verdict.mistrust + "; " + summary};
  return {CaseStatus::kPassed, summary};
}

template <class Run>
Outcome bitwise(Run& run, json& metrics, const Dump& dump) {
  std::vector<std::string> problems;
  run.run();
  std::vector<HostData> first = run.read(problems);
  dump(first);
  run.run();
  std::vector<HostData> second = run.read(problems);
  std::size_t bytes = 0;
  for (std::size_t k = 0; k < first.size() && k < second.size(); ++k) {
    const HostData& a = first[k];
    const HostData& b = second[k];
    bytes += a.bytes.size();
    std::size_t item = dtype_size(a.desc.dtype), differ = 0, first_at = 0;
    for (std::size_t i = 0; i < a.bytes.size(); i += item) {
      if (std::memcmp(&a.bytes[i], &b.bytes[i], item) != 0 && differ++ == 0) first_at = i / item;
    }
    metrics[kNames[k]] = json{{"differing_elements", differ}};
    if (differ) {
      problems.push_back(fmt::format("{}: {} of {} elements differ between two runs (first #{})", kNames[k], differ,
                                     a.desc.numel(), first_at));
    }
  }
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems)};
  return {CaseStatus::kPassed, fmt::format("two runs identical ({} output bytes)", bytes)};
}

// `work` is plan.bytes (unit "GB/s") or plan.flops ("GFLOP/s").
template <class Run>
Outcome performance(Run& run, const RunOptions& options, json& metrics, double work, const char* unit) {
  std::vector<std::string> problems;
  run.run();  // the first warm-up also compiles the kernels; its result is checked for guard damage
  run.read(problems);
  if (!problems.empty()) return {CaseStatus::kFailed, join(problems)};
  for (int i = 1; i < options.warmup; ++i) run.timed_run();
  std::vector<double> times;
  for (int i = 0; i < std::max(options.repeats, 1); ++i) times.push_back(run.timed_run());
  const double mid = median(times), rate = work / mid * 1e-9;
  metrics["median_ms"] = mid * 1e3;
  metrics["min_ms"] = *std::min_element(times.begin(), times.end()) * 1e3;
  metrics[std::string(unit) == "GB/s" ? "gbps" : "gflops"] = rate;
  return {CaseStatus::kPassed, fmt::format("{:.3f} ms (min {:.3f}, {} runs) {:.2f} {}", mid * 1e3,
                                           metrics["min_ms"].get<double>(), times.size(), rate, unit)};
}

template <class Case, class Run>
Outcome correctness(Run& run, Case& c, const std::optional<FaValues>& expected, json& metrics, const Dump& dump,
                    const std::function<FaValues(std::optional<std::vector<double>>&)>& reference) {
  auto start = Clock::now();
  run.run();
  std::vector<std::string> problems;
  std::vector<HostData> outs = run.read(problems);
  metrics["device_s"] = since(start);
  dump(outs);
  start = Clock::now();
  std::optional<std::vector<double>> naive;
  FaValues ref = expected ? *expected : reference(naive);
  metrics["reference_s"] = since(start);
  FaVerdict verdict = judge_fa(values_of(outs), ref, naive, c.output_dtype());
  return verdict_outcome(verdict, problems, metrics);
}

// Plan (rejections sorted first), generate or load, prepare, then the mode. `reference` returns the float64
// reference and, for fp16/bf16 NSA, the naive low-precision attention_out.
template <class Case, class Run>
Outcome run_op(const Context& ctx, Case& c, const std::optional<FaValues>& expected, const CaseInput& input,
               const RunOptions& options, json& metrics, double work, const char* unit, const Dump& dump,
               const std::function<FaValues(std::optional<std::vector<double>>&)>& reference) {
  std::optional<Run> run;
  try {
    run.emplace(ctx, c);
  } catch (const Error& e) {
    return rejected(e, input.expect_invalid);
  }
  metrics["workspace_bytes"] = run->plan().workspace_size;
  // Some rules need the tensors' values (actual_seq_qlen, topk_indices): run() checks them, so a case marked '!'
  // may also be rejected there.
  if (input.expect_invalid) {
    try {
      run->prepare(c);
      run->run();
    } catch (const Error& e) {
      return rejected(e, true);
    }
    return {CaseStatus::kFailed, "the operator accepted a case marked '!' (must be rejected)"};
  }
  run->prepare(c);
  try {
    if (options.mode == Mode::kBitwise) return bitwise(*run, metrics, dump);
    if (options.mode == Mode::kPerformance) return performance(*run, options, metrics, work, unit);
    return correctness(*run, c, expected, metrics, dump, reference);
  } catch (const Error& e) {
    if (e.status() == Status::kParamInvalid || e.status() == Status::kParamNullptr) return rejected(e, false);
    throw;
  }
}

}  // namespace

Outcome run_rau(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_dir,
                json& metrics) {
  RauCase c;
  std::optional<FaValues> expected;
  std::vector<ExpectedArray> expected_arrays;
  if (input.rau) {
    c = describe_case(*input.rau);
  } else {
    RauGolden g = load_rau_golden(input.golden_dir);
    c = std::move(g.c);
    expected = std::move(g.expected);
    expected_arrays = std::move(g.expected_arrays);
  }
  // Inputs are generated after planning, so a rejected case never allocates.
  std::optional<RingAttentionUpdatePlan> plan;
  try {
    plan = plan_ring_attention_update(ctx, c.descs(), c.attrs);
  } catch (const Error& e) {
    return rejected(e, input.expect_invalid);
  }
  metrics["bytes"] = plan->bytes;
  check_expected(expected_arrays, kRauGoldenOutputs, {plan->attn_out, plan->softmax_max, plan->softmax_sum});
  if (input.rau) generate_inputs(c, input.seed);
  Dump dump = [&](const std::vector<HostData>& outs) {
    if (!dump_dir.empty()) write_rau_golden(dump_dir, c, outs, input.name);
  };
  return run_op<RauCase, RauDeviceRun>(
      ctx, c, expected, input, options, metrics, plan->bytes, "GB/s", dump, [&](std::optional<std::vector<double>>&) {
        auto r = reference::ring_attention_update(c.ref_inputs(), c.attrs);
        return FaValues{std::move(r.attn_out.values), std::move(r.softmax_max.values), std::move(r.softmax_sum.values)};
      });
}

Outcome run_nsa(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_dir,
                json& metrics) {
  NsaCase c;
  std::optional<FaValues> expected;
  std::vector<ExpectedArray> expected_arrays;
  if (input.nsa) {
    c = describe_case(*input.nsa);
  } else {
    NsaGolden g = load_nsa_golden(input.golden_dir);
    c = std::move(g.c);
    expected = std::move(g.expected);
    expected_arrays = std::move(g.expected_arrays);
  }
  std::optional<NsaSelectedAttentionPlan> plan;
  try {
    plan = plan_nsa_selected_attention(ctx, c.descs(), c.attrs);
  } catch (const Error& e) {
    return rejected(e, input.expect_invalid);
  }
  metrics["flops"] = plan->flops;
  check_expected(expected_arrays, kNsaGoldenOutputs, {plan->attention_out, plan->softmax_max, plan->softmax_sum});
  if (input.nsa) generate_inputs(c, input.seed);
  Dump dump = [&](const std::vector<HostData>& outs) {
    if (!dump_dir.empty()) write_nsa_golden(dump_dir, c, outs, input.name);
  };
  const bool low = c.output_dtype() == DType::kFloat16 || c.output_dtype() == DType::kBFloat16;
  return run_op<NsaCase, NsaDeviceRun>(
      ctx, c, expected, input, options, metrics, plan->flops, "GFLOP/s", dump,
      [&](std::optional<std::vector<double>>& naive) {
        auto r = reference::nsa_selected_attention(c.ref_inputs(), c.attrs, reference::Precision::kFloat64);
        if (low) {
          naive = reference::nsa_selected_attention(c.ref_inputs(), c.attrs, reference::Precision::kNaiveLowPrecision)
                      .attention_out.values;
        }
        return FaValues{std::move(r.attention_out.values), std::move(r.softmax_max.values),
                        std::move(r.softmax_sum.values)};
      });
}

}  // namespace cannon::tools::runner_detail

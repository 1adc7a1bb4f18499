// Shared pieces of the operator tests: one Context per process (kernels are compiled once per variant),
// and a FaProblem run end to end the way cannon-conformance runs it (random inputs, guarded and poisoned
// device buffers, float64 reference, the tolerance table), so a failing test prints a conformance repro.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cannon/cannon.hpp"
#include "cannon/config.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/ops/plan_access.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/fa/fa_problem.hpp"
#include "tools/harness/check.hpp"
#include "tools/harness/compare.hpp"
#include "tools/harness/device_run.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {
// gtest prints parameters through PrintTo (found by ADL): the problem string, not the struct's bytes.
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
inline void PrintTo(const FaProblem& problem, std::ostream* os) { *os << to_string(problem); }
}  // namespace cannon::tools

namespace cannon::optest {

inline const Context& test_context() {
  static const Context ctx = Context::create();
  return ctx;
}

// One Context per CANNON_TUNE setting, made on first use (each builds its own programs). Names carry their kernel,
// as in CANNON_TUNE: {{"fa.SPLIT_KV", 2}}.
inline const Context& tuned_context(const std::map<std::string, long>& tune) {
  static std::map<std::map<std::string, long>, std::unique_ptr<Context>> contexts;
  auto& slot = contexts[tune];
  if (!slot) {
    Config config = Config::global();
    for (const auto& [key, value] : tune) config.tune[key] = value;
    slot = std::make_unique<Context>(Context::create("", config));
  }
  return *slot;
}

// A fixed seed per case, derived from its canonical problem string (FNV-1a), so each case draws its own data.
inline uint64_t case_seed(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

// The outputs of an attention operator as host data, in its driver's order.
struct FaOutputs {
  tools::HostData attention_out, softmax_max, softmax_sum;

  static FaOutputs from(std::vector<tools::HostData> outs) {
    return {std::move(outs.at(0)), std::move(outs.at(1)), std::move(outs.at(2))};
  }
  std::vector<tools::HostData> list() const { return {attention_out, softmax_max, softmax_sum}; }
};

// Judges device outputs of `fa` against the float64 reference (and, for fp16/bf16, FlashAttention's rule), with
// the tolerances cannon-conformance applies.
inline tools::Verdict judge_outputs(const tools::FaCase& fa, const FaOutputs& dev) {
  return tools::check_against_reference(fa, dev.list());
}

struct CaseRun {
  std::string repro;  // "cannon-conformance 'fa:...:seed=N'": the same inputs and the same judgement
  tools::FaCase fa;
  FaOutputs dev;
  std::vector<std::string> problems;  // guard damage, changed inputs, unwritten output elements
  tools::Verdict verdict;
  bool generic_kernel = false;  // the plan chose the generic (not the CPU-shaped) kernel variant
};

// Generates, runs on the device (of ctx, test_context() by default) and judges one problem against the float64
// reference.
inline CaseRun run_case(const tools::FaProblem& problem, const Context& ctx = test_context()) {
  CaseRun r;
  const std::string text = tools::to_string(problem);
  const uint64_t seed = problem.seed.value_or(case_seed(text));
  tools::FaProblem seeded = problem;
  seeded.seed = seed;
  r.repro = "cannon-conformance '" + tools::to_string(seeded) + "'";
  r.fa = tools::describe_case(problem);
  tools::generate_inputs(r.fa, seed);

  const FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, r.fa.descs(), r.fa.attrs);
  r.generic_kernel = detail::PlanAccess::data(plan).kernel.variant == KernelVariant::kGeneric;
  tools::DeviceRun run(ctx, r.fa);
  run.prepare();
  run.run();
  r.dev = FaOutputs::from(run.read(r.problems));

  r.verdict = judge_outputs(r.fa, r.dev);
  return r;
}

// The gtest assertions every correctness case makes.
inline void expect_case_passes(const CaseRun& r) {
  for (const std::string& problem : r.problems) ADD_FAILURE() << r.repro << ": " << problem;
  EXPECT_TRUE(r.verdict.passed()) << r.repro << ": " << r.verdict.summary()
                                  << (r.verdict.mistrust.empty() ? "" : " MISTRUSTED: " + r.verdict.mistrust);
}

// A generated case (inputs drawn from the case's own seed) without running it.
inline tools::FaCase make_case(const std::string& problem_text) {
  const tools::FaProblem problem = tools::parse_fa_problem(problem_text);
  tools::FaCase fa = tools::describe_case(problem);
  tools::generate_inputs(fa, problem.seed.value_or(case_seed(tools::to_string(problem))));
  return fa;
}

// The plan of a problem string on ctx, and the plan data behind it (host/ops/plan_access.hpp).
inline FlashAttentionScorePlan plan_fa(const std::string& problem_text, const Context& ctx = test_context()) {
  const tools::FaCase fa = make_case(problem_text);
  return plan_flash_attention_score(ctx, fa.descs(), fa.attrs);
}
inline const detail::FlashAttentionScorePlanData& fa_plan_data(const FlashAttentionScorePlan& plan) {
  return detail::PlanAccess::data(plan);
}

inline DeviceTensor to_device(const Context& ctx, const tools::HostData& data) {
  DeviceTensor t = allocate(ctx, data.desc);
  upload(ctx, t.view(), data.bytes.data(), data.bytes.size());
  return t;
}

inline std::vector<uint8_t> from_device(const Context& ctx, const DeviceTensor& t) {
  std::vector<uint8_t> bytes(t.desc().bytes());
  download(ctx, t.view(), bytes.data(), bytes.size());
  return bytes;
}

inline FaOutputs outputs_of(const Context& ctx, const DeviceTensor& out, const DeviceTensor& max,
                            const DeviceTensor& sum) {
  return {
      {out.desc(), from_device(ctx, out)}, {max.desc(), from_device(ctx, max)}, {sum.desc(), from_device(ctx, sum)}};
}

// An output buffer with 64 guard bytes on each side, all poisoned with 0xFF (a NaN in every float dtype).
struct Guarded {
  DeviceTensor buffer;
  TensorView view;
  Guarded(const Context& ctx, const TensorDesc& desc)
      : buffer(allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(desc.bytes() + 128)}})),
        view{buffer.buffer(), 64, desc, {}} {
    std::vector<uint8_t> poison(desc.bytes() + 128, 0xFF);
    upload(ctx, buffer.view(), poison.data(), poison.size());
  }
  tools::HostData read(const Context& ctx, std::vector<std::string>& problems, const char* what) const {
    std::vector<uint8_t> all(view.desc.bytes() + 128);
    download(ctx, buffer.view(), all.data(), all.size());
    for (std::size_t i = 0; i < 64; ++i) {
      if (all[i] != 0xFF || all[all.size() - 1 - i] != 0xFF) {
        problems.push_back(std::string(what) + ": guard bytes overwritten");
        break;
      }
    }
    return {view.desc, std::vector<uint8_t>(all.begin() + 64, all.end() - 64)};
  }
};

// Expects `call` to throw cannon::Error with `status` and a message containing every needle.
template <typename Call>
void expect_error(Call&& call, Status status, std::initializer_list<const char*> needles) {
  try {
    call();
    ADD_FAILURE() << "no error; expected " << status_name(status) << " mentioning " << *needles.begin();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    for (const char* needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// gtest parameter names allow only [A-Za-z0-9_].
inline std::string param_name(const std::string& text) {
  std::string name;
  for (char ch : text) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

// A name for a parameterized case of problem strings ("fa:..."): its index and the string past the prefix.
inline std::string problem_case_name(const testing::TestParamInfo<const char*>& info) {
  return std::to_string(info.index) + "_" + param_name(std::string(info.param).substr(3));
}

// The generic kernel variant picked in-process, through a Context with its own Config (no CANNON_TUNE needed).
inline const Context& generic_context() {
  static const Context ctx = [] {
    Config config = Config::global();
    config.tune["fa.VARIANT"] = 1;
    return Context::create("", config);
  }();
  return ctx;
}

}  // namespace cannon::optest

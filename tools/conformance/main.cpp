// cannon-conformance: runs the cases of every registered operator driver (problem strings "fa:", "rau:", "nsa:",
// batch files, golden directories) on the selected OpenCL device and checks them against cannon's float64
// references, benchdnn style.
// Exit status: 0 when nothing failed, 1 when a case FAILED / was MISTRUSTED / was wrongly rejected,
// 2 for a usage error (bad batch file or problem string, no device).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "cannon/context.hpp"
#include "cannon/error.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/batch.hpp"
#include "tools/harness/modes.hpp"
#include "tools/harness/problem_parse.hpp"
#include "tools/harness/report.hpp"

namespace {

using namespace cannon::tools;

constexpr std::size_t kMaxDumpName = 120;

struct Args {
  std::vector<std::string> problems, batches, goldens;
  std::string mode = "correctness", json_path, device;
  RunOptions options;
};

// Cases from batch files, then command-line problems, then golden directories; throws on the first bad one.
std::vector<CaseInput> collect_cases(const Args& args) {
  std::vector<CaseSpec> specs;
  for (const std::string& batch : args.batches) read_batch(batch, specs);
  for (const std::string& text : args.problems) specs.push_back(make_spec(text, "command line"));
  std::vector<CaseInput> cases;
  for (const CaseSpec& spec : specs) {
    const std::string_view op = problem_op(spec.text);
    const Driver* driver = find_driver(op);
    if (!driver) {
      throw std::runtime_error(fmt::format("{}: '{}': unknown operator '{}' (this release knows: {})", spec.origin,
                                           spec.text, op, known_prefixes()));
    }
    CaseInput input;
    try {
      input.problem = driver->parse(spec.text);
    } catch (const std::exception& e) {
      throw std::runtime_error(spec.origin + ": " + e.what());
    }
    input.name = input.problem->canonical();
    input.expect_invalid = spec.expect_invalid;
    input.seed = input.problem->seed().value_or(args.options.seed);
    cases.push_back(std::move(input));
  }
  for (const std::string& dir : args.goldens) {
    CaseInput input;
    input.name = dir;
    input.golden_dir = dir;
    cases.push_back(std::move(input));
  }
  return cases;
}

// A directory name for --dump: index, then the case name with shell-hostile characters replaced.
std::string dump_name(std::size_t index, const CaseInput& input) {
  std::string base = input.generated() ? input.name : std::filesystem::path(input.name).filename().string();
  for (char& c : base) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    if (!keep) c = '_';
  }
  if (base.size() > kMaxDumpName) base.resize(kMaxDumpName);
  return fmt::format("{:04}_{}", index, base);
}

void add_options(CLI::App& app, Args& args) {
  app.add_option("problems", args.problems,
                 "problem strings ('fa:...', 'rau:...', 'nsa:...'; docs/conformance.md), e.g. "
                 "'fa:b2n8g2s1=113s2=203d=64:layout=BSND:dt=bf16'; a leading '!' marks a "
                 "case the operator must reject");
  app.add_option("--batch", args.batches, "batch file (one problem per line, '#' comments, 'include FILE'); repeatable")
      ->allow_extra_args(false);
  app.add_option("--golden", args.goldens,
                 "golden case directories to replay (case.json, *.npy, expected/*.npy); takes every following "
                 "argument, so give problem strings before it")
      ->expected(1, -1);
  app.add_option("--mode", args.mode, "list, correctness, bitwise (run twice, compare bytes) or performance")
      ->check(CLI::IsMember({"list", "correctness", "bitwise", "performance"}));
  app.add_option("--json", args.json_path, "write a JSON report to this file");
  app.add_option("--dump", args.options.dump_dir, "write every case (inputs, cannon's outputs) as a golden directory");
  app.add_option("--device", args.device, "device spec; overrides CANNON_DEVICE (index, P:D, cpu, gpu, name)");
  app.add_option("--seed", args.options.seed, "input seed for cases without their own :seed= (default 0)");
  app.add_option("--repeats", args.options.repeats, "performance: timed runs per case (default 5)");
  app.add_option("--warmup", args.options.warmup, "performance: untimed runs before timing (default 1)");
}

Mode parse_mode(const std::string& mode) {
  if (mode == "list") return Mode::kList;
  if (mode == "bitwise") return Mode::kBitwise;
  if (mode == "performance") return Mode::kPerformance;
  return Mode::kCorrectness;
}

int list_cases(const std::vector<CaseInput>& cases) {
  for (const CaseInput& c : cases) {
    std::printf("%s\n",
                c.generated() ? ((c.expect_invalid ? "!" : "") + c.name).c_str() : ("# --golden " + c.name).c_str());
  }
  std::printf("# %zu cases\n", cases.size());
  return 0;
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "cannon-conformance: runs FlashAttentionScore, RingAttentionUpdate and NsaSelectedAttention cases on an "
      "OpenCL device and checks them against cannon's float64 references"};
  Args args;
  add_options(app, args);
  CLI11_PARSE(app, argc, argv);
  args.options.mode = parse_mode(args.mode);
  args.options.device_spec = args.device;

  std::vector<CaseInput> cases;
  try {
    cases = collect_cases(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannon-conformance: %s\n", e.what());
    return 2;
  }
  if (cases.empty()) {
    std::fprintf(stderr, "cannon-conformance: no cases (give problem strings, --batch FILE or --golden DIR)\n");
    return 2;
  }
  if (args.options.mode == Mode::kList) return list_cases(cases);

  std::optional<cannon::Context> ctx;
  try {
    ctx = cannon::Context::create(args.device);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannon-conformance: no device: %s\n", e.what());
    return 2;
  }
  const cannon::DeviceInfo& info = ctx->info();
  std::string device = fmt::format("{} ({}); {}", info.name, info.platform_name, ctx->selection_reason());
  std::printf("# cannon-conformance --mode=%s: %zu cases on %s\n", args.mode.c_str(), cases.size(), device.c_str());
  std::fflush(stdout);

  std::vector<CaseResult> results;
  Progress progress(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    progress.begin(i, cases[i].name);
    results.push_back(run_case(*ctx, cases[i], args.options, dump_name(i, cases[i]), drivers()));
    progress.end();
    std::printf("%s\n", result_line(results.back()).c_str());
    std::fflush(stdout);
  }

  Summary summary = summarize(results);
  int status = summary.failed ? 1 : 0;
  if (!args.json_path.empty()) {
    try {
      write_json_report(args.json_path, results, args.options, device, summary);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cannon-conformance: %s\n", e.what());
      status = 2;
    }
  }
  std::printf("%s\n", summary_line(summary).c_str());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannon-conformance: %s\n", e.what());
    return 2;
  }
}

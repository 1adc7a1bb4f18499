// cannon-bench: forward-pass GFLOP/s of FlashAttentionScore beside OpenBLAS SGEMM measured in the same
// run on the same cores, so numbers from noisy machines compare as ratios. Cases are problem strings run through
// the operator drivers cannon-conformance uses (tools/drivers); medians of several timed runs are reported.
// `--suite masks` measures what masking saves: causal and band cases against the dense case of the same shape,
// as time ratios (targets: causal <= 0.6x, a 512-wide band <= 0.2x the dense time). `--suite pse`
// measures what pse and dropout cost: in-kernel ALiBi (pse_type 2/3, limit 1.15x), a full pse tensor
// and the dropout generator, against the same shape without them. `--suite ring` and `--suite nsa` are the
// RingAttentionUpdate GB/s (beside a device copy) and NsaSelectedAttention S2 scaling (op_suites.hpp).
// `--backward` times each fa: problem as the backward pass (FlashAttentionScoreGrad) of that forward problem
// (backward.hpp), with the same columns and JSON fields and "pass": "backward"; `--suite grad` is the backward's
// causal vs dense comparison (target: causal <= 0.6x the dense time).
// `--serve` answers one timed run per request on stdin (serve.hpp), for compare_torch.py --paired.
// `--startup` times the first small call of a fresh process phase by phase (startup.hpp). `--json` carries what
// tools/bench/compare_torch.py needs to put cannon beside PyTorch: the device's name and version string (PoCL's
// target), the thread settings, and per case the median, every sample and the plan's FLOPs.
#include <cblas.h>
#include <dlfcn.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "cannon/error.hpp"
#include "tools/bench/backward.hpp"
#include "tools/bench/bench_case.hpp"
#include "tools/bench/op_suites.hpp"
#include "tools/bench/serve.hpp"
#include "tools/bench/startup.hpp"
#include "tools/drivers/fa/fa_problem.hpp"

namespace cannon::tools {
namespace {

// The benchmark's default shapes: B=1, N=8, S=2048, D=64 and 128, fp32 and bf16, non-causal.
constexpr const char* kDefaultCases[] = {
    "fa:b1n8s2048d64:layout=BSND:dt=fp32",
    "fa:b1n8s2048d128:layout=BSND:dt=fp32",
    "fa:b1n8s2048d64:layout=BSND:dt=bf16",
    "fa:b1n8s2048d128:layout=BSND:dt=bf16",
};

// --suite masks: each masked case is timed against the dense case `baseline` rows above it (same B, N, S, D).
// The band is sparse_mode 4 with pre = next = 256 (a rule-only compressed mask: with S1 = S2 it is the band
// -256 <= j - i <= 256, 513 keys wide), so the time measures tile skipping, not reading an S x S mask tensor.
struct SuiteCase {
  std::string problem;
  int baseline;  // index of the dense case in the suite; -1 for a dense case
  double limit;  // the bound on time / dense time, 0 for none
};
const std::vector<SuiteCase> kMaskSuite = {
    {"fa:b1n8s=4096d=128:layout=BSND:dt=fp32", -1, 0},
    {"fa:b1n8s=4096d=128:layout=BSND:dt=fp32:sparse=2", 0, 0.6},
    {"fa:b1n8s=4096d=128:layout=BSND:dt=fp32:sparse=3", 0, 0.6},
    {"fa:b1n8s=8192d=128:layout=BSND:dt=fp32", -1, 0},
    {"fa:b1n8s=8192d=128:layout=BSND:dt=fp32:sparse=4:pre=256:next=256", 3, 0.2},
};

// --suite pse: per shape, the case without pse, then pse_type 2 and 3 (fp32 slopes, with the limit), the full
// [B,N1,S1,S2] pse of type 1 (S=2048 only: at 4096 it is 512 MiB of fp32; for information) and the dropout
// generator at keep_prob 0.9 (for information).
std::vector<SuiteCase> pse_suite() {
  std::vector<SuiteCase> cases;
  for (const std::string shape : {"fa:b1n8s=2048d=128:layout=BSND:dt=fp32", "fa:b1n8s=2048d=128:layout=BSND:dt=bf16",
                                  "fa:b1n8s=4096d=128:layout=BSND:dt=fp32", "fa:b1n8s=4096d=128:layout=BSND:dt=bf16"}) {
    const int base = static_cast<int>(cases.size());
    cases.push_back({shape, -1, 0});
    cases.push_back({shape + ":pse_type=2:pse=slopes_n", base, 1.15});
    cases.push_back({shape + ":pse_type=3:pse=slopes_bn", base, 1.15});
    if (shape.find("s=2048") != std::string::npos) cases.push_back({shape + ":pse=bnss", base, 0});
    cases.push_back({shape + ":keep_prob=0.9", base, 0});
  }
  return cases;
}

// --suite grad: the backward at B=1, N=8, BSND, D in {64, 128} x S in {1024, 4096} x fp32/bf16, each shape dense
// then causal (sparse_mode 3), the causal time against the dense one (limit 0.6).
std::vector<SuiteCase> grad_suite() {
  std::vector<SuiteCase> cases;
  for (int d : {64, 128}) {
    for (int s : {1024, 4096}) {
      for (const char* dt : {"fp32", "bf16"}) {
        const std::string shape = fmt::format("fa:b1n8s={}d={}:layout=BSND:dt={}", s, d, dt);
        const int base = static_cast<int>(cases.size());
        cases.push_back({shape, -1, 0});
        cases.push_back({shape + ":sparse=3", base, 0.6});
      }
    }
  }
  return cases;
}

// OpenBLAS SGEMM n×n×n on all cores (OpenBLAS's default thread count), median GFLOP/s of `repeat` runs.
double sgemm_gflops(int n, int repeat) {
  std::vector<float> a(static_cast<std::size_t>(n) * n), b(a.size()), c(a.size());
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = dist(gen);
    b[i] = dist(gen);
  }
  std::vector<double> rates;
  for (int r = 0; r <= repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) rates.push_back(2.0 * n * n * n / s * 1e-9);  // run 0 warms up
  }
  return median(rates);
}

struct Row {
  std::string problem;
  double ms = 0, gflops = 0, dense_flops = 0, flops = 0;
  std::vector<double> samples_ms;
};

// OpenBLAS's kernel choice ("Haswell", "SkylakeX"; OPENBLAS_CORETYPE overrides it), looked up at run time since
// the BLAS found at configure time need not be OpenBLAS. Empty for another BLAS.
std::string blas_core() {
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = fn ? fn() : nullptr;
  return name ? name : "";
}

// What the JSON report says about the run's conditions: the device (PoCL's name carries its LLVM target, e.g.
// pthread-haswell; the version string its HSTR triple) and the thread settings compare_torch.py matches.
nlohmann::json device_report(const Context& ctx) {
  const DeviceInfo& info = ctx.info();
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  return {{"name", info.name},
          {"version", info.version},
          {"platform", info.platform_name},
          {"platform_version", info.platform_version},
          {"compute_units", info.compute_units},
          {"native_float_width", info.native_float_width},
          {"blas_core", blas_core()},
          {"env",
           {{"POCL_MAX_PTHREAD_COUNT", env("POCL_MAX_PTHREAD_COUNT")},
            {"POCL_KERNELLIB_NAME", env("POCL_KERNELLIB_NAME")},
            {"POCL_LLVM_CPU_NAME", env("POCL_LLVM_CPU_NAME")},
            {"POCL_CACHE_DIR", env("POCL_CACHE_DIR")},
            {"OPENBLAS_NUM_THREADS", env("OPENBLAS_NUM_THREADS")},
            {"OPENBLAS_CORETYPE", env("OPENBLAS_CORETYPE")},
            {"CANNON_TUNE", env("CANNON_TUNE")}}}};
}

// FLOPs of the same shape with nothing masked: 2 (Dk + Dv) per score, every score (non-TND problems).
double dense_flops(const FaProblem& p) {
  return 2.0 * static_cast<double>(p.dk + p.dv) * static_cast<double>(p.b * p.n1) * static_cast<double>(p.s1) *
         static_cast<double>(p.s2);
}

bool is_fag(const std::string& text) { return text.rfind("fag:", 0) == 0; }
// The fa: problem a row times: a fag: problem's text after its prefix.
std::string fa_text(const std::string& text) { return is_fag(text) ? "fa" + text.substr(3) : text; }

// One row: the forward through the operator drivers, or with `backward` (or a fag: problem, the backward of the
// fa: problem after its prefix) the backward of an fa: problem. The fag: driver's own inputs come from the float64
// forward reference, too slow on the host at benchmark sizes; the backward path runs the device's forward instead.
Sampler prepare_bench(const Context& ctx, const std::string& text, uint64_t seed, bool backward) {
  return backward || is_fag(text) ? prepare_backward(ctx, fa_text(text), seed) : prepare_problem(ctx, text, seed);
}

Row make_row(const std::string& text, const Timing& t, bool backward) {
  const bool fag = is_fag(text);
  std::vector<double> samples_ms;
  for (double s : t.samples) samples_ms.push_back(s * 1e3);
  const FaProblem p = parse_fa_problem(fa_text(text));
  return {
      text,   t.seconds * 1e3, t.work / t.seconds * 1e-9, backward || fag ? backward_dense_flops(p) : dense_flops(p),
      t.work, samples_ms};
}

Row bench_case(const Context& ctx, const std::string& text, int repeat, uint64_t seed, bool backward) {
  return make_row(text, time_sampler(prepare_bench(ctx, text, seed, backward), repeat), backward);
}

const char* pass_name(bool backward) { return backward ? "backward" : "forward"; }

// A suite: ms, GFLOP/s of the plan's FLOPs (what the op counts as computed), dense-equivalent GFLOP/s
// (the unmasked FLOPs over the time: the speed a dense kernel would need to match), and time / dense time.
// A dense case and the cases measured against it are timed together, one run of each per round
// (time_interleaved), and the ratio is the median over rounds of a case's time against the dense time of the same
// round: a slow phase of a noisy machine (on the 2-core VM, whole rounds at twice the time) then weighs on both sides
// of a ratio instead of on whichever case it fell on.
int run_suite(const Context& ctx, const std::vector<SuiteCase>& suite, int repeat, uint64_t seed, bool backward,
              nlohmann::json& report) {
  std::vector<Row> rows(suite.size());
  std::vector<std::string> errors(suite.size());
  for (std::size_t g = 0; g < suite.size(); ++g) {
    if (suite[g].baseline >= 0) continue;  // timed in its dense case's group
    std::vector<std::size_t> members;
    std::vector<Sampler> samplers;
    for (std::size_t i = g; i < suite.size(); ++i) {
      if (i != g && suite[i].baseline != static_cast<int>(g)) continue;
      try {
        samplers.push_back(prepare_bench(ctx, suite[i].problem, seed, backward));
        members.push_back(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
    const std::vector<Timing> timings = time_interleaved(samplers, repeat);
    for (std::size_t k = 0; k < members.size(); ++k)
      rows[members[k]] = make_row(suite[members[k]].problem, timings[k], backward);
  }
  fmt::print("{:<72} {:>9} {:>9} {:>9} {:>7} {:>7}\n", "case", "ms", "GFLOP/s", "dense-eq", "ratio", "limit");
  int failures = 0;
  for (std::size_t i = 0; i < suite.size(); ++i) {
    const SuiteCase& sc = suite[i];
    const Row& row = rows[i];
    const bool base_failed = sc.baseline >= 0 && !errors[static_cast<std::size_t>(sc.baseline)].empty();
    if (!errors[i].empty() || base_failed) {
      ++failures;
      fmt::print("{:<72} error: {}\n", sc.problem, errors[i].empty() ? "its dense case failed" : errors[i]);
      continue;
    }
    const Row& base = sc.baseline >= 0 ? rows[static_cast<std::size_t>(sc.baseline)] : row;
    const double ratio = median_round_ratio(row.samples_ms, base.samples_ms);
    const double dense_eq = row.dense_flops / (row.ms * 1e-3) * 1e-9;
    const bool over = sc.limit > 0 && ratio > sc.limit;
    fmt::print("{:<72} {:>9.2f} {:>9.1f} {:>9.1f} {:>7.3f} {:>7}{}\n", row.problem, row.ms, row.gflops, dense_eq, ratio,
               sc.limit > 0 ? fmt::format("{:.2f}", sc.limit) : "-", over ? " OVER" : "");
    report["cases"].push_back({{"problem", row.problem},
                               {"pass", pass_name(backward)},
                               {"ms", row.ms},
                               {"gflops", row.gflops},
                               {"dense_equivalent_gflops", dense_eq},
                               {"ratio_to_dense", ratio},
                               {"limit", sc.limit},
                               {"within_limit", !over},
                               {"samples_ms", row.samples_ms}});
  }
  return failures;
}

int run_main(int argc, char** argv) {
  const auto entered = std::chrono::steady_clock::now();
  CLI::App app{"cannon-bench: FlashAttentionScore forward (or backward) GFLOP/s vs OpenBLAS SGEMM on the same cores"};
  std::vector<std::string> problems;
  int repeat = 5;
  int gemm_n = 2048;
  std::string device, json_path;
  uint64_t seed = 1;
  std::string suite;
  bool startup = false;
  bool backward = false;
  bool serve = false;
  auto* suite_opt =
      app.add_option("--suite", suite,
                     "a predefined comparison instead of the problems: masks (causal and band vs dense), "
                     "pse (ALiBi pse_type 2/3, a full pse and dropout vs none), ring (RingAttentionUpdate "
                     "GB/s vs a device copy), nsa (NsaSelectedAttention time as S2 grows), grad (the backward, "
                     "causal vs dense)")
          ->check(CLI::IsMember({"masks", "pse", "ring", "nsa", "grad"}));
  app.add_option("problems", problems,
                 "problem strings (default: the B=1 N=8 S=2048 D=64/128 fp32/bf16 set); fag:X is --backward of fa:X")
      ->excludes(suite_opt);
  app.add_option("--repeat", repeat, "timed runs per case; the median is reported")->check(CLI::Range(1, 1000));
  app.add_option("--gemm-n", gemm_n, "SGEMM yardstick size n (n×n×n)")->check(CLI::Range(64, 16384));
  app.add_option("--device", device, "device spec, as CANNON_DEVICE");
  app.add_option("--json", json_path, "also write the results as JSON");
  app.add_option("--seed", seed, "input generator seed");
  auto* startup_opt =
      app.add_flag("--startup", startup,
                   "time the first small call of this process phase by phase (context, plan, upload, run, download); "
                   "run it in a fresh process, with PoCL's cache warm or with an empty POCL_CACHE_DIR for a cold build")
          ->excludes(suite_opt);
  app.add_flag("--backward", backward,
               "time each fa: problem as the backward (FlashAttentionScoreGrad) of that forward problem: the forward "
               "runs first on the device, dy is random; GFLOP/s from the grad plan's flops")
      ->excludes(suite_opt)
      ->excludes(startup_opt);
  app.add_flag("--serve", serve,
               "prepare the problems, print '@ready <json>', then time one run per 'run I' line on stdin and print "
               "'@ms <ms>' (compare_torch.py --paired alternates these with PyTorch's runs); 'quit' ends")
      ->excludes(suite_opt)
      ->excludes(startup_opt);
  CLI11_PARSE(app, argc, argv);
  if (suite == "grad") backward = true;
  if (startup) {
    nlohmann::json report;
    const int rc = run_startup(device, entered, report);
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return rc;
  }
  if (problems.empty()) problems.assign(std::begin(kDefaultCases), std::end(kDefaultCases));

  Context ctx = Context::create(device);
  fmt::print("device: {} ({})\n", ctx.info().name, ctx.selection_reason());
  if (suite == "ring" || suite == "nsa") {  // their yardsticks are a device copy / their own S2=4096 time
    nlohmann::json report = {{"device", ctx.info().name}, {"suite", suite}, {"cases", nlohmann::json::array()}};
    int failures =
        suite == "ring" ? run_ring_suite(ctx, repeat, seed, report) : run_nsa_suite(ctx, repeat, seed, report);
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return failures ? 1 : 0;
  }
  const double gemm = sgemm_gflops(gemm_n, repeat);
  fmt::print("OpenBLAS SGEMM {}^3: {:.1f} GFLOP/s (median of {})\n\n", gemm_n, gemm, repeat);
  if (!suite.empty()) {
    nlohmann::json report = {{"device", ctx.info().name},
                             {"sgemm_gflops", gemm},
                             {"suite", suite},
                             {"pass", pass_name(backward)},
                             {"cases", nlohmann::json::array()}};
    if (backward) fmt::print("backward (FlashAttentionScoreGrad); ratio: causal time / dense time\n");
    const std::vector<SuiteCase> cases = suite == "grad" ? grad_suite() : suite == "pse" ? pse_suite() : kMaskSuite;
    int failures = run_suite(ctx, cases, repeat, seed, backward, report);
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return failures ? 1 : 0;
  }
  if (serve) {
    const bool all_fag = std::all_of(problems.begin(), problems.end(), is_fag);
    const nlohmann::json report = {{"device", ctx.info().name},
                                   {"device_info", device_report(ctx)},
                                   {"sgemm_gflops", gemm},
                                   {"sgemm_n", gemm_n},
                                   {"pass", pass_name(backward || all_fag)}};
    return run_serve(
        problems, [&](const std::string& p) { return prepare_bench(ctx, p, seed, backward); }, report);
  }
  if (backward) fmt::print("backward (FlashAttentionScoreGrad) of each problem; GFLOP/s from the grad plan's flops\n");
  fmt::print("{:<44} {:>10} {:>10} {:>10} {:>8}\n", "case", "ms", "GFLOP/s", "SGEMM", "ratio");
  nlohmann::json report = {{"device", ctx.info().name},
                           {"device_info", device_report(ctx)},
                           {"sgemm_gflops", gemm},
                           {"sgemm_n", gemm_n},
                           {"repeat", repeat},
                           {"pass", pass_name(backward)},
                           {"cases", nlohmann::json::array()}};
  int failures = 0;
  for (const std::string& p : problems) {
    try {
      Row row = bench_case(ctx, p, repeat, seed, backward);
      fmt::print("{:<44} {:>10.2f} {:>10.1f} {:>10.1f} {:>8.3f}\n", row.problem, row.ms, row.gflops, gemm,
                 row.gflops / gemm);
      report["cases"].push_back({{"problem", row.problem},
                                 {"pass", pass_name(backward || is_fag(p))},
                                 {"ms", row.ms},
                                 {"gflops", row.gflops},
                                 {"ratio_to_sgemm", row.gflops / gemm},
                                 {"flops", row.flops},
                                 {"samples_ms", row.samples_ms}});
    } catch (const std::exception& e) {
      ++failures;
      fmt::print("{:<44} error: {}\n", p, e.what());
    }
  }
  if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace cannon::tools

int main(int argc, char** argv) {
  try {
    return cannon::tools::run_main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "cannon-bench: {}\n", e.what());
    return 2;
  }
}

// Result lines, progress and the JSON report of cannon-conformance. The '#' before the numbers makes the
// rest of a result line a valid shell command, so a failure is reproduced by pasting it.
#include "tools/harness/report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace cannon::tools {
namespace {

constexpr std::size_t kProgressEvery = 20;
constexpr double kProgressSeconds = 30;

}  // namespace

Progress::Progress(std::size_t total)
    : tty_(isatty(STDERR_FILENO) != 0), total_(total), start_(Clock::now()), last_(start_) {}

void Progress::begin(std::size_t index, const std::string& name) {
  double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  if (tty_) {
    std::fprintf(stderr, "\r\033[K[%zu/%zu] %.0f s  %s", index + 1, total_, elapsed, name.c_str());
    std::fflush(stderr);
    return;
  }
  double quiet = std::chrono::duration<double>(Clock::now() - last_).count();
  if (index > 0 && (index % kProgressEvery == 0 || quiet >= kProgressSeconds)) {
    std::fprintf(stderr, "[%zu/%zu] %.0f s\n", index, total_, elapsed);
    last_ = Clock::now();
  }
}

void Progress::end() {
  if (tty_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

std::string result_line(const CaseResult& r) {
  return fmt::format("{:<17} {}  # {} ({:.2f} s)", status_text(r.status), r.repro, r.message, r.seconds);
}

Summary summarize(const std::vector<CaseResult>& results) {
  Summary s;
  for (const CaseResult& r : results) {
    if (is_failure(r.status)) {
      ++s.failed;
    } else if (is_skip(r.status)) {
      ++s.skipped;
    } else {
      ++s.passed;
    }
  }
  return s;
}

std::string summary_line(const Summary& s) {
  std::string line = fmt::format("{} passed, {} failed", s.passed, s.failed);
  if (s.skipped) line += fmt::format(", {} skipped", s.skipped);
  return line;
}

void write_json_report(const std::string& path, const std::vector<CaseResult>& results, const RunOptions& options,
                       const std::string& device, const Summary& summary) {
  nlohmann::json cases = nlohmann::json::array();
  for (const CaseResult& r : results) {
    cases.push_back({{"case", r.name},
                     {"status", status_text(r.status)},
                     {"repro", r.repro},
                     {"message", r.message},
                     {"seconds", r.seconds},
                     {"metrics", r.metrics}});
  }
  nlohmann::json report{
      {"tool", "cannon-conformance"},
      {"mode", mode_name(options.mode)},
      {"device", device},
      {"seed", options.seed},
      {"summary", {{"passed", summary.passed}, {"failed", summary.failed}, {"skipped", summary.skipped}}},
      {"cases", cases}};
  std::ofstream out(path);
  // Messages may quote driver text that is not UTF-8; `replace` keeps the file valid JSON (NaN/inf become null).
  out << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!out) throw std::runtime_error(path + ": cannot write the JSON report");
}

}  // namespace cannon::tools

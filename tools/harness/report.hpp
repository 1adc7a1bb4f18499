// What cannon-conformance prints: one line per case (status, a paste-able repro command, the key numbers
// after a '#'), a progress indicator on stderr, the final `N passed, N failed` line and the JSON report.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tools/harness/modes.hpp"

namespace cannon::tools {

// On a terminal, a self-erasing "[12/340] fa:..." line; otherwise a "[12/340] 41 s" line every 20 cases or
// every 30 seconds, so CI logs show that a long run is alive without drowning the results.
class Progress {
 public:
  explicit Progress(std::size_t total);
  void begin(std::size_t index, const std::string& name);
  void end();

 private:
  using Clock = std::chrono::steady_clock;
  bool tty_;
  std::size_t total_;
  Clock::time_point start_, last_;
};

// "PASSED            cannon-conformance --mode=correctness 'fa:...'  # out=... (0.41 s)"
std::string result_line(const CaseResult& result);

struct Summary {
  int passed = 0, failed = 0, skipped = 0;
};
Summary summarize(const std::vector<CaseResult>& results);
// "N passed, N failed" plus ", N skipped" when any were skipped.
std::string summary_line(const Summary& summary);

void write_json_report(const std::string& path, const std::vector<CaseResult>& results, const RunOptions& options,
                       const std::string& device, const Summary& summary);

}  // namespace cannon::tools

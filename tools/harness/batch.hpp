// Batch files of cannon-conformance (tests/cases/test_*): one problem string per line, '#' comments,
// `include <file>` lines (relative to the including file), and a leading '!' marking a case that the
// operator must reject as invalid (a negative test).
#pragma once

#include <string>
#include <vector>

namespace cannon::tools {

struct CaseSpec {
  std::string text;             // the problem string, without '!'
  bool expect_invalid = false;  // '!': passes only when the operator rejects it with kParamInvalid/kParamNullptr
  std::string origin;           // "file:line" or "command line", for error messages
};

// Interprets one line of a batch file or one command-line argument: trims it and strips '!'.
CaseSpec make_spec(const std::string& text, const std::string& origin);

// Appends the cases of `path` (and of the files it includes) to `out`. Throws std::runtime_error naming
// file and line for an unreadable file or include nesting deeper than 16 (an include cycle).
void read_batch(const std::string& path, std::vector<CaseSpec>& out);

}  // namespace cannon::tools

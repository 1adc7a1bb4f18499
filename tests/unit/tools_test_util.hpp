// Shared pieces of the tools' unit tests: a FlashAttentionScore case parsed from a problem string with its inputs
// generated, as cannon-conformance makes it, and the concrete case of a loaded golden directory.
#pragma once

#include <cstdint>
#include <string>

#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/fa/fa_problem.hpp"
#include "tools/harness/golden.hpp"

namespace cannon::tools {

inline FaCase generated(const std::string& text, uint64_t seed = 3) {
  FaCase c = describe_case(parse_fa_problem(text));
  generate_inputs(c, seed);
  return c;
}

// The driver's case type of a golden directory (FaCase, RauCase, NsaCase).
template <class C>
const C& case_of(const GoldenCase& golden) {
  return dynamic_cast<const C&>(*golden.c);
}

}  // namespace cannon::tools

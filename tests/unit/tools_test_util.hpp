// Shared piece of the tools' unit tests: a FlashAttentionScore case parsed from a problem string with its inputs
// generated, as cannon-conformance makes it.
#pragma once

#include <cstdint>
#include <string>

#include "tools/common/fa_case.hpp"
#include "tools/common/problem.hpp"

namespace cannon::tools {

inline FaCase generated(const std::string& text, uint64_t seed = 3) {
  FaCase c = describe_case(parse_fa_problem(text));
  generate_inputs(c, seed);
  return c;
}

}  // namespace cannon::tools

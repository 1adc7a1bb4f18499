// The NsaSelectedAttention driver of cannon's tools: "nsa:" problem strings (nsa_problem.hpp), nsa_select_attention
// golden directories, and NsaCase (nsa_case.hpp) as its OpCase.
#pragma once

#include "tools/harness/driver.hpp"

namespace cannon::tools {

const Driver& nsa_driver();

}  // namespace cannon::tools

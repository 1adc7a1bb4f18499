// The RingAttentionUpdate driver of cannon's tools: "rau:" problem strings (rau_problem.hpp), ring_attention_update
// golden directories, and RauCase (rau_case.hpp) as its OpCase.
#pragma once

#include "tools/harness/driver.hpp"

namespace cannon::tools {

const Driver& rau_driver();

}  // namespace cannon::tools

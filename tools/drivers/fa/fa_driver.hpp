// The FlashAttentionScore driver of cannon's tools: "fa:" problem strings (fa_problem.hpp), flash_attention_score
// golden directories, and FaCase (fa_case.hpp) as its OpCase.
#pragma once

#include "tools/harness/driver.hpp"

namespace cannon::tools {

const Driver& fa_driver();

}  // namespace cannon::tools

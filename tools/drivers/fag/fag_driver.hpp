// FlashAttentionScoreGrad's driver: "fag:" problem strings and flash_attention_score_grad golden directories.
#pragma once

#include "tools/harness/driver.hpp"

namespace cannon::tools {

const Driver& fag_driver();

}  // namespace cannon::tools

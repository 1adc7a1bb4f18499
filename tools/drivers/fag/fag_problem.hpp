// The FlashAttentionScoreGrad problem string, "fag:" followed by exactly what "fa:" takes: the forward problem whose
// gradients are asked for (shapes, layout, dtype, masks, pse, dropout; fa_problem.hpp lists the keys), e.g.
// `fag:b2n8g2s1=113s2=203d=64:layout=BSND:dt=bf16:sparse=3`. A few keys of its own describe the backward's extra
// inputs differently from what the forward writes, so negative cases can break them one at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tools/drivers/fa/fa_problem.hpp"

namespace cannon::tools {

// The forward's keys, plus (defaults: what the forward writes):
//   dy_dt=<dtype>     dy's dtype (default: the query's)
//   ain_dt=<dtype>    attention_in's dtype (default: the query's)
//   stats_dt=<dtype>  softmax_max's and softmax_sum's dtype (default fp32)
//   stats_lanes=<int> the statistics' last dimension (default 8)
//   dy_d=<int>        dy's head dim (default dv)
struct FagProblem : FaProblem, CanonicalEquality<FagProblem> {
  std::optional<DType> dy_dt, ain_dt, stats_dt;
  int64_t stats_lanes = 8;
  std::optional<int64_t> dy_d;
};

// The attribute table of "fag:" problem strings and flash_attention_score_grad golden directories: the forward's
// rows, these keys, and torch_npu's `numels` (the dropout generator's element count, which cannon derives) ignored.
const AttrTable<FagProblem, FlashAttentionScoreAttrs>& fag_attr_table();

// Parses "fag:..."; errors as parse_fa_problem's.
FagProblem parse_fag_problem(std::string_view text);

// Canonical form: parse_fag_problem(to_string(p)) == p.
std::string to_string(const FagProblem& problem);

}  // namespace cannon::tools

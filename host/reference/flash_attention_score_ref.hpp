// Float64 reference of FlashAttentionScore forward, written straight from the formulas in
// reference/ascend-semantics.md §1. It shares no code with the planner, the layout code or the kernels:
// it does its own layout indexing and its own TND bookkeeping, so it is an independent statement.
#pragma once

#include <optional>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/attention_stats.hpp"
#include "host/reference/host_tensor.hpp"

namespace cannon::reference {

enum class Precision {
  kFloat64,            // float64 everywhere, except P rounded to the input dtype before P·V (Ascend's CAST_ROUND)
  kNaiveLowPrecision,  // the same math with every intermediate rounded to the input dtype (FA's error yardstick)
  kUnroundedP,         // float64 everywhere, P included: what a device that skips P's rounding would match
};

struct FlashAttentionScoreRefInputs {
  HostTensor query, key, value;
  std::optional<HostTensor> pse, drop_mask, atten_mask;
};

struct FlashAttentionScoreRefOutputs {
  HostTensor attention_out;  // shape of the op's attention_out
  HostTensor softmax_max;    // shape and memory order of the op's softmax_max (8 replicated lanes)
  HostTensor softmax_sum;
  AttentionStats stats;  // magnitudes of this problem for the tolerance model (not part of the op's outputs)
};

// Inputs are assumed valid (the tools validate through the operator's plan first). atten_mask, sparse_mode,
// pre/next tokens, prefix and inner_precise follow docs/flash_attention_score.md (see
// flash_attention_score_ref_mask.hpp), and so do pse, pse_type and q/kv_start_idx (flash_attention_score_ref_pse.hpp)
// and dropout: drop_mask, or keep_prob with seed/offset (flash_attention_score_ref_dropout.hpp).
FlashAttentionScoreRefOutputs flash_attention_score(const FlashAttentionScoreRefInputs& inputs,
                                                    const FlashAttentionScoreAttrs& attrs,
                                                    Precision precision = Precision::kFloat64);

}  // namespace cannon::reference

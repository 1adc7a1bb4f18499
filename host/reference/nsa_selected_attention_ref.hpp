// Float64 reference of NsaSelectedAttention, straight from docs/nsa_selected_attention.md
// (ascend-semantics.md §4): its own gather, softmax and P rounding; it shares no code with the op or its kernel.
#pragma once

#include <optional>

#include "cannon/nsa_selected_attention.hpp"
#include "host/reference/attention_stats.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/host_tensor.hpp"

namespace cannon::reference {

struct NsaSelectedAttentionRefInputs {
  HostTensor query, key, value, topk_indices;
  std::optional<HostTensor> atten_mask;
};

struct NsaSelectedAttentionRefOutputs {
  HostTensor attention_out, softmax_max, softmax_sum;  // shapes of the op's outputs
  AttentionStats stats;  // magnitudes of this problem for the tolerance model (not part of the op's outputs)
};

// kFloat64: float64 except P rounded to the input dtype before P·V (CAST_ROUND); kNaiveLowPrecision: every intermediate
// rounded to the input dtype (the FlashAttention error yardstick); kUnroundedP: P not rounded either, as for
// FlashAttentionScore.
NsaSelectedAttentionRefOutputs nsa_selected_attention(const NsaSelectedAttentionRefInputs& inputs,
                                                      const NsaSelectedAttentionAttrs& attrs,
                                                      Precision precision = Precision::kFloat64);

}  // namespace cannon::reference

// Float64 reference of RingAttentionUpdate, straight from the formula in docs/ring_attention_update.md
// (ascend-semantics.md §3); it shares no code with the op or its kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/ring_attention_update.hpp"
#include "host/reference/host_tensor.hpp"

namespace cannon::reference {

struct RingAttentionUpdateRefInputs {
  HostTensor prev_attn_out, prev_softmax_max, prev_softmax_sum;
  HostTensor cur_attn_out, cur_softmax_max, cur_softmax_sum;
  std::vector<int64_t> actual_seq_qlen;  // TND: [B+1] starting at 0
};

struct RingAttentionUpdateRefOutputs {
  HostTensor attn_out, softmax_max, softmax_sum;  // shapes of the op's outputs
};

RingAttentionUpdateRefOutputs ring_attention_update(const RingAttentionUpdateRefInputs& inputs,
                                                    const RingAttentionUpdateAttrs& attrs);

}  // namespace cannon::reference

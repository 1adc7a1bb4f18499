// NsaSelectedAttention: aclnnNsaSelectedAttention / npu_nsa_select_attention / ops.nsa_select_attention.
// Attention of each query token over the key/value blocks its kv head selected (topk_indices), exactly as
// docs/nsa_selected_attention.md states.
// Two phases, as aclnn has them: plan() validates and reports shapes and workspace, run() enqueues.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "cannon/stream.hpp"
#include "cannon/tensor.hpp"

namespace cannon {

// Attribute names and defaults are MindSpore's nsa_select_attention / torch_npu's npu_nsa_select_attention.
struct NsaSelectedAttentionAttrs {
  double scale_value = 1.0;
  int64_t head_num = 0;
  std::string input_layout = "TND";  // TND only
  int64_t sparse_mode = 0;           // 2 with an atten_mask: left-up causal inside the selection
  int64_t select_block_size = 64;
  int64_t select_block_count = 16;
  std::vector<int64_t> actual_seq_qlen;   // cumulative ends, no leading 0
  std::vector<int64_t> actual_seq_kvlen;  // cumulative ends, no leading 0
};

struct NsaSelectedAttentionDescs {
  TensorDesc query, key, value;  // [T1,N1,Dqk], [T2,N2,Dqk], [T2,N2,Dv]
  TensorDesc topk_indices;       // int32 [T1,N2,select_block_count]
  std::optional<TensorDesc> atten_mask;
};

struct NsaSelectedAttentionTensors {
  TensorView query, key, value, topk_indices;
  std::optional<TensorView> atten_mask;
  TensorView attention_out, softmax_max, softmax_sum;
};

namespace detail {
struct NsaSelectedAttentionPlanData;
struct PlanAccess;
}  // namespace detail

class NsaSelectedAttentionPlan {
 public:
  TensorDesc attention_out;  // [T1,N1,Dv], query dtype
  TensorDesc softmax_max;    // fp32 [T1,N1,8]
  TensorDesc softmax_sum;    // fp32 [T1,N1,8]
  std::size_t workspace_size = 0;
  double flops = 0;  // 2·(Dqk+Dv) per selected score

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::NsaSelectedAttentionPlanData> data_;
};

// Validates every documented rule. Throws Error(kParamInvalid) naming the argument and the rule.
CANNON_API NsaSelectedAttentionPlan plan_nsa_selected_attention(const Context& ctx,
                                                                const NsaSelectedAttentionDescs& descs,
                                                                const NsaSelectedAttentionAttrs& attrs);

// Enqueues the operator on stream.queue (default: ctx's queue) after stream.wait_for and returns the event of its
// last command without waiting. The selected block indices are checked on the device: an index outside its batch
// raises Error(kParamInvalid) naming topk_indices at the next ctx.finish(), and is never used to read keys (the
// outputs are then unspecified). Under CANNON_STRICT=1 run reads topk_indices first (blocking) and throws before
// enqueuing anything.
CANNON_API Event run_nsa_selected_attention(const Context& ctx, const NsaSelectedAttentionPlan& plan,
                                            const NsaSelectedAttentionTensors& tensors, cl_mem workspace,
                                            const Stream& stream = {});

struct NsaSelectedAttentionResult {
  DeviceTensor attention_out, softmax_max, softmax_sum;
};

// Plans, allocates outputs and workspace, runs and waits (ctx.finish()).
CANNON_API NsaSelectedAttentionResult nsa_selected_attention(const Context& ctx, const TensorView& query,
                                                             const TensorView& key, const TensorView& value,
                                                             const TensorView& topk_indices,
                                                             const std::optional<TensorView>& atten_mask,
                                                             const NsaSelectedAttentionAttrs& attrs);

}  // namespace cannon

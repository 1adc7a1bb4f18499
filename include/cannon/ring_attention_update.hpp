// RingAttentionUpdate: aclnnRingAttentionUpdate[V2] / npu_ring_attention_update / ops.ring_attention_update.
// Merges two partial attention results (a previous and a current ring step) with their softmax max/sum, exactly
// as docs/ring_attention_update.md states.
// Two phases, as aclnn has them: plan() validates and reports shapes and workspace, run() enqueues.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "cannon/context.hpp"
#include "cannon/stream.hpp"
#include "cannon/tensor.hpp"

namespace cannon {

// Attribute names and defaults are torch_npu's npu_ring_attention_update.
struct RingAttentionUpdateAttrs {
  std::string input_layout = "SBH";  // SBH or TND
  std::string softmax_layout;        // "" (default) or "TND" (torch_npu's input_softmax_layout)
};

struct RingAttentionUpdateDescs {
  TensorDesc prev_attn_out, prev_softmax_max, prev_softmax_sum;
  TensorDesc cur_attn_out, cur_softmax_max, cur_softmax_sum;
  std::optional<TensorDesc> actual_seq_qlen;  // TND: int64 [B+1], cumulative, starting at 0
};

struct RingAttentionUpdateTensors {
  TensorView prev_attn_out, prev_softmax_max, prev_softmax_sum;
  TensorView cur_attn_out, cur_softmax_max, cur_softmax_sum;
  std::optional<TensorView> actual_seq_qlen;
  TensorView attn_out, softmax_max, softmax_sum;
};

namespace detail {
struct RingAttentionUpdatePlanData;
struct PlanAccess;
}  // namespace detail

class RingAttentionUpdatePlan {
 public:
  TensorDesc attn_out;     // shape and dtype of prev_attn_out
  TensorDesc softmax_max;  // fp32, shape of prev_softmax_max
  TensorDesc softmax_sum;  // fp32, shape of prev_softmax_sum
  std::size_t workspace_size = 0;
  double bytes = 0;  // bytes read and written by one run (for GB/s)

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::RingAttentionUpdatePlanData> data_;
};

// Validates every documented rule (Atlas A2 limits under CANNON_STRICT=1). Throws Error(kParamInvalid), or
// Error(kParamNullptr) when TND lacks actual_seq_qlen (Ascend's ACLNN_ERR_PARAM_NULLPTR).
CANNON_API RingAttentionUpdatePlan plan_ring_attention_update(const Context& ctx, const RingAttentionUpdateDescs& descs,
                                                              const RingAttentionUpdateAttrs& attrs);

// Enqueues the merge on stream.queue (default: ctx's queue) after stream.wait_for and returns the event of its last
// command without waiting. TND: actual_seq_qlen's values are checked on the device (start at 0, never decrease,
// end at T); a bad value raises Error(kParamInvalid) naming actual_seq_qlen at the next ctx.finish(), and the
// outputs are then unspecified but nothing outside them is written. Under CANNON_STRICT=1 run reads the values
// back first (blocking) and throws before enqueuing anything.
CANNON_API Event run_ring_attention_update(const Context& ctx, const RingAttentionUpdatePlan& plan,
                                           const RingAttentionUpdateTensors& tensors, cl_mem workspace,
                                           const Stream& stream = {});

struct RingAttentionUpdateResult {
  DeviceTensor attn_out, softmax_max, softmax_sum;
};

// Plans, allocates outputs and workspace, runs and waits (ctx.finish()). actual_seq_qlen: TND only.
CANNON_API RingAttentionUpdateResult
ring_attention_update(const Context& ctx, const TensorView& prev_attn_out, const TensorView& prev_softmax_max,
                      const TensorView& prev_softmax_sum, const TensorView& cur_attn_out,
                      const TensorView& cur_softmax_max, const TensorView& cur_softmax_sum,
                      const std::optional<TensorView>& actual_seq_qlen, const RingAttentionUpdateAttrs& attrs);

}  // namespace cannon

// FlashAttentionScoreGrad, the backward pass of FlashAttentionScore: aclnnFlashAttentionScoreGrad[V2] /
// aclnnFlashAttentionUnpaddingScoreGrad / npu_fusion_attention_grad, with Ascend's kernel semantics
// (docs/flash_attention_score_grad.md). Same two phases and the same attributes as the forward: plan() validates
// and reports workspace and output shapes, run() enqueues.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <memory>
#include <optional>

#include "cannon/context.hpp"
#include "cannon/flash_attention_score.hpp"
#include "cannon/stream.hpp"
#include "cannon/tensor.hpp"

namespace cannon {

// The forward's inputs and attributes, plus what the backward reads from the forward's run: dy (the gradient of
// attention_out), attention_in (the forward's attention_out, as it was rounded to the input dtype) and the forward's
// softmax_max / softmax_sum (fp32, their shape and memory order as the forward wrote them). With dropout the mask is
// the forward's: its drop_mask, or the same seed/offset attributes (the generator is regenerated bit for bit).
struct FlashAttentionScoreGradDescs {
  TensorDesc query, key, value, dy;
  std::optional<TensorDesc> pse, drop_mask, atten_mask;
  TensorDesc softmax_max, softmax_sum, attention_in;
};

struct FlashAttentionScoreGradTensors {
  TensorView query, key, value, dy;
  std::optional<TensorView> pse, drop_mask, atten_mask;
  TensorView softmax_max, softmax_sum, attention_in;
  TensorView dq, dk, dv;
  // dpse: the gradient of a pse tensor (pse_type 0/1), summed over the scores that read each element (its broadcast
  // batches and rows, the ALiBi-compressed forms' diagonals). Ascend never writes it; cannon computes it only when a
  // view is given (dense, plan.dpse's shape and dtype). Must be absent for ALiBi (pse_type 2/3) and without a pse.
  std::optional<TensorView> dpse;
};

namespace detail {
struct FlashAttentionScoreGradPlanData;
}  // namespace detail

class FlashAttentionScoreGradPlan {
 public:
  TensorDesc dq, dk, dv;  // the shapes, layouts and dtype of query, key and value
  TensorDesc dpse;        // the pse's shape and dtype for pse_type 0/1 with a pse; [0] otherwise
  std::size_t workspace_size = 0;
  double flops = 0;  // 2·(3·Dk + 2·Dv) per score the band rule computes: the backward's five matmuls

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::FlashAttentionScoreGradPlanData> data_;
};

// Validates every documented constraint (the forward's and the backward's own) and books the workspace. Throws
// Error(kParamInvalid) with a message naming the argument and the rule, or Error(kUnimplemented).
CANNON_API FlashAttentionScoreGradPlan plan_flash_attention_score_grad(const Context& ctx,
                                                                       const FlashAttentionScoreGradDescs& descs,
                                                                       const FlashAttentionScoreAttrs& attrs);

// Enqueues the backward pass on stream.queue (default: ctx's queue) after stream.wait_for and returns the event of
// its last command without waiting. `workspace` holds at least plan.workspace_size bytes.
CANNON_API Event run_flash_attention_score_grad(const Context& ctx, const FlashAttentionScoreGradPlan& plan,
                                                const FlashAttentionScoreGradTensors& tensors, cl_mem workspace,
                                                const Stream& stream = {});

struct FlashAttentionScoreGradOptionalInputs {
  std::optional<TensorView> pse, drop_mask, atten_mask;
};

struct FlashAttentionScoreGradResult {
  DeviceTensor dq, dk, dv, dpse;  // dpse: computed for pse_type 0/1 with a pse; [0] otherwise
};

// Plans, allocates the outputs and the workspace, runs and waits.
CANNON_API FlashAttentionScoreGradResult flash_attention_score_grad(
    const Context& ctx, const TensorView& query, const TensorView& key, const TensorView& value, const TensorView& dy,
    const TensorView& softmax_max, const TensorView& softmax_sum, const TensorView& attention_in,
    const FlashAttentionScoreGradOptionalInputs& optional, const FlashAttentionScoreAttrs& attrs);

}  // namespace cannon

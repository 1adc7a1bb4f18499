// FlashAttentionScore forward: aclnnFlashAttentionScore[V2] / npu_fusion_attention /
// ops.speed_fusion_attention, with Ascend's exact semantics (see docs/flash_attention_score.md).
// Two phases, as aclnn has them: plan() validates and reports workspace and output shapes, run() enqueues.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "cannon/stream.hpp"
#include "cannon/tensor.hpp"

namespace cannon {

// Attribute names and defaults are MindSpore's speed_fusion_attention / torch_npu's npu_fusion_attention.
struct FlashAttentionScoreAttrs {
  int64_t head_num = 0;
  std::string input_layout = "BSND";  // BSH, SBH, BSND, BNSD, TND
  double scale = 1.0;
  double keep_prob = 1.0;
  // MindSpore's seed/offset: the built-in dropout generator's key and counter start, used when keep_prob < 1 and
  // no drop_mask is given (docs/flash_attention_score.md, "Dropout").
  int64_t seed = 0;
  int64_t offset = 0;
  int64_t pre_tokens = std::numeric_limits<int32_t>::max();
  int64_t next_tokens = std::numeric_limits<int32_t>::max();
  int64_t inner_precise = 0;
  int64_t sparse_mode = 0;
  int64_t pse_type = 1;
  std::vector<int64_t> prefix;
  std::vector<int64_t> actual_seq_qlen;   // TND: cumulative ends, no leading 0
  std::vector<int64_t> actual_seq_kvlen;  // TND: cumulative ends, no leading 0
  std::vector<int64_t> q_start_idx;
  std::vector<int64_t> kv_start_idx;
  std::string softmax_layout;  // "" (per-batch blocks for TND) or "TND" (same as input)
};

// Shapes and dtypes of the inputs; optional inputs are absent when not given.
struct FlashAttentionScoreDescs {
  TensorDesc query, key, value;
  std::optional<TensorDesc> pse, drop_mask, atten_mask;
};

struct FlashAttentionScoreTensors {
  TensorView query, key, value;
  std::optional<TensorView> pse, drop_mask, atten_mask;
  TensorView attention_out, softmax_max, softmax_sum;
  std::optional<TensorView> softmax_out;  // reserved by Ascend; never written
};

namespace detail {
struct FlashAttentionScorePlanData;
struct PlanAccess;
}  // namespace detail

class FlashAttentionScorePlan {
 public:
  TensorDesc attention_out;  // input layout, head dim Dv, query dtype
  TensorDesc softmax_max;    // fp32, last dim 8
  TensorDesc softmax_sum;    // fp32, last dim 8
  TensorDesc softmax_out;    // reserved: fp32 [0]
  std::size_t workspace_size = 0;
  // MindSpore's and torch_npu's extra outputs: the dropout generator's seed and offset (the attributes, returned
  // unchanged) and numels = N1·Σ S1_b·S2_b, the dropout mask's element count.
  int64_t seed = 0, offset = 0, numels = 0;
  double flops = 0;  // 2·(Dk+Dv) per score of the tiles computed (tiles that masks skip cost nothing)

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::FlashAttentionScorePlanData> data_;
};

// Validates every documented constraint and books the workspace. Throws Error(kParamInvalid) with a
// message naming the argument and the rule, or Error(kUnimplemented).
CANNON_API FlashAttentionScorePlan plan_flash_attention_score(const Context& ctx, const FlashAttentionScoreDescs& descs,
                                                              const FlashAttentionScoreAttrs& attrs);

// Enqueues the forward pass on stream.queue (default: ctx's queue) after stream.wait_for, and returns the event of
// its last command without waiting. `workspace` must be a buffer of at least plan.workspace_size bytes (may be
// null when the size is 0). Views must match the plan's descriptions. With a dense atten_mask (sparse modes 0, 1,
// 5) a first kernel refines the plan's tiles with the mask's contents in the workspace.
CANNON_API Event run_flash_attention_score(const Context& ctx, const FlashAttentionScorePlan& plan,
                                           const FlashAttentionScoreTensors& tensors, cl_mem workspace,
                                           const Stream& stream = {});

// The optional inputs, as views (absent when not given).
struct FlashAttentionScoreOptionalInputs {
  std::optional<TensorView> pse, drop_mask, atten_mask;
};

struct FlashAttentionScoreResult {
  DeviceTensor attention_out, softmax_max, softmax_sum, softmax_out;
  int64_t seed = 0, offset = 0, numels = 0;
};

// Plans, allocates outputs and workspace, runs and waits (ctx.finish()). Arguments in the order every operator's
// convenience call takes them: context, required inputs, optional inputs, attributes.
CANNON_API FlashAttentionScoreResult flash_attention_score(const Context& ctx, const TensorView& query,
                                                           const TensorView& key, const TensorView& value,
                                                           const FlashAttentionScoreOptionalInputs& optional,
                                                           const FlashAttentionScoreAttrs& attrs);
// The same without optional inputs.
CANNON_API FlashAttentionScoreResult flash_attention_score(const Context& ctx, const TensorView& query,
                                                           const TensorView& key, const TensorView& value,
                                                           const FlashAttentionScoreAttrs& attrs);

// The mask API: the built-in generator's dropout mask of `plan` (keep_prob < 1, no drop_mask) as an explicit
// drop_mask, uint8 [ceil(numels/8)], bit k & 7 of byte k >> 3 for element k in B·N1·S1·S2 order (TND: per-batch
// blocks). Passing it back as drop_mask reproduces the run bit for bit. Waits for the device.
CANNON_API DeviceTensor flash_attention_score_dropout_mask(const Context& ctx, const FlashAttentionScorePlan& plan);

}  // namespace cannon

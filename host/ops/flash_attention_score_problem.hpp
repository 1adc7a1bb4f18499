// FlashAttentionScore's validated problem (sizes, layout, TND sequences) and the plan data behind the
// public FlashAttentionScorePlan. validate_flash_attention_score() is the single place where every
// documented constraint is checked; plan and run only consume its result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "host/layout/layout.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/runtime/workspace.hpp"

namespace cannon {

// Row sizes of the plan tables; must match kernels/common/problem.clh (BT_STRIDE, WK_STRIDE).
constexpr int kBatchTableStride = 9;
constexpr int kWorkStride = 4;

struct FaProblem {
  Layout layout = Layout::kBSND;
  DType dtype = DType::kFloat32;
  int64_t batch = 0, n1 = 0, n2 = 0, s1 = 0, s2 = 0, dk = 0, dv = 0;  // TND: s1/s2 are T1/T2
  VarlenSeqs seqs;  // every layout: per-batch starts (tokens for TND, 0 otherwise) and lengths
  bool tnd_softmax_same_as_input = false;
  float scale = 1.0f;
  int64_t group() const { return n1 / n2; }
};

// Checks every documented constraint of the inputs and attributes. Throws Error(kParamInvalid) naming
// the argument and the rule, or Error(kUnimplemented) for Ascend features cannon does not have yet.
FaProblem validate_flash_attention_score(const FlashAttentionScoreDescs& descs, const FlashAttentionScoreAttrs& attrs,
                                         bool strict);

namespace detail {

struct FlashAttentionScorePlanData {
  FaProblem problem;
  FlashAttentionScoreDescs descs;
  KernelConfig kernel;
  cl_program program = nullptr;  // retained
  std::vector<int32_t> work;     // WK_STRIDE ints per work entry
  WorkspaceLedger ledger;

  FlashAttentionScorePlanData() = default;
  FlashAttentionScorePlanData(const FlashAttentionScorePlanData&) = delete;
  FlashAttentionScorePlanData& operator=(const FlashAttentionScorePlanData&) = delete;
  ~FlashAttentionScorePlanData();
};

}  // namespace detail
}  // namespace cannon

// NsaSelectedAttention's validated problem and the plan data behind the public NsaSelectedAttentionPlan.
// validate_nsa_selected_attention() is the one place that checks every documented rule (docs/
// nsa_selected_attention.md); plan and run only consume its result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cannon/nsa_selected_attention.hpp"
#include "host/layout/layout.hpp"
#include "host/ops/plan_base.hpp"
#include "kernels/interface.h"

namespace cannon {

struct NsaProblem {
  DType dtype = DType::kFloat16;
  int64_t t1 = 0, t2 = 0, n1 = 0, n2 = 0, dk = 0, dv = 0;
  int64_t block_size = 0, block_count = 0;
  float scale = 1.0f;
  bool causal = false;  // atten_mask given and sparse_mode == 2
  VarlenSeqs seqs;
  int64_t group() const { return n1 / n2; }
  int64_t selected() const { return block_size * block_count; }
};

// Throws Error(kParamInvalid) naming the argument and the rule. strict adds the Atlas A2 limits.
NsaProblem validate_nsa_selected_attention(const NsaSelectedAttentionDescs& descs,
                                           const NsaSelectedAttentionAttrs& attrs, bool strict);

namespace detail {

// kernel_at(0) is nsa_fwd_cpu or nsa_fwd_generic, kernel_at(1) nsa_topk_check. The batch table (NB_STRIDE int64 per
// batch) and each query token's batch are plan-constant device tables.
struct NsaSelectedAttentionPlanData : PlanBase {
  NsaProblem problem;
  NsaSelectedAttentionDescs descs;
  std::size_t slots = 0;  // work-groups, each with its own slice of the score scratch
  bool generic = false;   // nsa_fwd_generic (one work-item per query row) instead of nsa_fwd_cpu
  std::size_t check_local = 1;
  std::vector<int64_t> batch_table;
  std::vector<int32_t> token_batch;
  cl_mem batch_mem = nullptr, token_mem = nullptr;  // owned by PlanBase
};

}  // namespace detail
}  // namespace cannon

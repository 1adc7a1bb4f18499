// RingAttentionUpdate's validated problem and plan data, shared by plan, run and the tests.
// validate_ring_attention_update() holds every shape/dtype rule of docs/ring_attention_update.md; the strict flag
// (CANNON_STRICT) adds Ascend's Atlas A2 limits, and tests call it directly to check both rule sets.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/ring_attention_update.hpp"
#include "host/ops/plan_base.hpp"
#include "kernels/interface.h"

namespace cannon {

// Where a (row, head)'s 8 softmax lanes live; the kernel's SM_LAYOUT macro takes these values.
enum class RauSoftmaxLayout : int {
  kSbh = RAU_SM_SBH,                  // [B,N,S,8]: ((b·N + n)·S + s)·8
  kTokenMajor = RAU_SM_TOKEN_MAJOR,   // TND "TND" (or N == 1): (t·N + n)·8
  kBatchBlocks = RAU_SM_BATCH_BLOCKS  // TND default: (start_b·N + n·S_b + t − start_b)·8, through a per-token table
};

struct RauProblem {
  bool tnd = false;
  DType dtype = DType::kFloat32;
  int64_t rows = 0;   // SBH: S; TND: T
  int64_t batch = 0;  // SBH: B; TND: len(actual_seq_qlen) − 1
  int64_t heads = 0;  // N
  int64_t dim = 0;    // D
  RauSoftmaxLayout softmax = RauSoftmaxLayout::kSbh;

  // One (row, head) pair per kernel item; attn rows are D apart in every layout.
  int64_t items() const { return rows * (tnd ? 1 : batch) * heads; }
};

// Throws Error(kParamInvalid) naming the argument and the rule. strict adds the Atlas A2 limits (TND: D % 64,
// D <= 768, N <= 256 and the tiling's UB formula).
RauProblem validate_ring_attention_update(const RingAttentionUpdateDescs& descs, const RingAttentionUpdateAttrs& attrs,
                                          bool strict);

// Checks actual_seq_qlen's values against the problem: starts at 0, non-decreasing, ends at T. Run does this on the
// device (kernels/prepass/rau_seq_table.clh); under CANNON_STRICT it reads the values back and calls this first.
void check_actual_seq_qlen(const RauProblem& p, const std::vector<int64_t>& cumulative);

namespace detail {
// kernel_at(0) is the merge; TND plans also have kernel_at(1), rau_seq_table, which checks actual_seq_qlen and fills
// the per-token table (per-batch-block softmax layout) in the workspace.
struct RingAttentionUpdatePlanData : PlanBase {
  RauProblem problem;
  RingAttentionUpdateDescs descs;
  std::size_t local_size = 1;
  std::size_t rows_per_wi = 1;  // tile of rows × head slots per work-item (ROWS_PER_WI, HEADS_PER_WI)
  std::size_t heads_per_wi = 1;
  std::size_t seq_local = 1;  // rau_seq_table's local size
  BuildOptions options;
};
}  // namespace detail

}  // namespace cannon

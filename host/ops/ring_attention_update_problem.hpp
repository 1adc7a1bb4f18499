// RingAttentionUpdate's validated problem and plan data, shared by plan, run and the tests.
// validate_ring_attention_update() holds every shape/dtype rule of docs/ring_attention_update.md; the strict flag
// (CANNON_STRICT) adds Ascend's Atlas A2 limits, and tests call it directly to check both rule sets.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/ring_attention_update.hpp"
#include "host/runtime/workspace.hpp"

namespace cannon {

// Where a (row, head)'s 8 softmax lanes live; the kernel's SM_LAYOUT macro takes these values.
enum class RauSoftmaxLayout : int {
  kSbh = 0,         // [B,N,S,8]: ((b·N + n)·S + s)·8
  kTokenMajor = 1,  // TND "TND" (or N == 1): (t·N + n)·8
  kBatchBlocks = 2  // TND default: (start_b·N + n·S_b + t − start_b)·8, through a per-token table
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

// Checks actual_seq_qlen's values against the problem: starts at 0, non-decreasing, ends at T.
void check_actual_seq_qlen(const RauProblem& p, const std::vector<int64_t>& cumulative);

// Per token t: (softmax element offset of head 0, head stride), for the per-batch-block softmax layout.
std::vector<int64_t> batch_block_token_table(const RauProblem& p, const std::vector<int64_t>& cumulative);

namespace detail {
struct RingAttentionUpdatePlanData {
  RauProblem problem;
  RingAttentionUpdateDescs descs;
  cl_program program = nullptr;  // retained
  std::size_t local_size = 1;
  std::size_t rows_per_wi = 1;  // tile of rows × head slots per work-item (ROWS_PER_WI, HEADS_PER_WI)
  std::size_t heads_per_wi = 1;
  std::string build_options;
  WorkspaceLedger ledger;

  RingAttentionUpdatePlanData() = default;
  RingAttentionUpdatePlanData(const RingAttentionUpdatePlanData&) = delete;
  RingAttentionUpdatePlanData& operator=(const RingAttentionUpdatePlanData&) = delete;
  ~RingAttentionUpdatePlanData();
};
}  // namespace detail

}  // namespace cannon

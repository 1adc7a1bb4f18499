// FlashAttentionScoreGrad's validated problem and plan data. The backward is the forward's problem (same inputs,
// attributes and rules, validate_flash_attention_score) plus dy, attention_in and the forward's statistics, so it
// reuses FaProblem, the batch table and FaArgs, and adds only what the backward's own kernels need.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/flash_attention_score_grad.hpp"
#include "host/ops/flash_attention_score_problem.hpp"

namespace cannon {

// Checks everything the forward checks, plus the backward's own rules (reference/ascend-semantics-backward.md §6):
// dy and attention_in have attention_out's shape and the query's dtype, softmax_max/softmax_sum are fp32 in the
// forward's statistics shape. (A pse_type other than 1 without a pse, which Ascend's grad rejects and its forward
// tolerates, is already rejected by cannon's forward rules.) Throws Error(kParamInvalid).
FaProblem validate_flash_attention_score_grad(const FlashAttentionScoreGradDescs& descs,
                                              const FlashAttentionScoreAttrs& attrs, bool strict,
                                              const DeviceLimits* limits = nullptr);

// The forward's descriptions of the grad's inputs (query, key, value, pse, drop_mask, atten_mask).
FlashAttentionScoreDescs forward_descs(const FlashAttentionScoreGradDescs& d);

// Loop back-edges of the generic backward kernels (fag_dq_generic per query row, fag_dkdv_generic per key), as
// Mesa's llvmpipe counts them (kernels/cube/row_generic.clh).
uint64_t fag_generic_loop_steps(const KernelConfig& c, int64_t max_rows, int64_t max_keys, int64_t group, bool dropout);

// Whether the problem has a pse gradient: pse_type 0/1 with a pse tensor (ALiBi types 2/3 have none).
bool fag_has_dpse(const FaProblem& p);

// Loop back-edges of one fag_dpse work-item (0 without a dpse), counted like fag_generic_loop_steps.
uint64_t fag_dpse_loop_steps(const KernelConfig& c, const FaProblem& p);

namespace detail {

struct FlashAttentionScoreGradPlanData : PlanBase {
  FaProblem problem;
  FlashAttentionScoreGradDescs descs;
  KernelConfig kernel;
  std::vector<int64_t> batch_table;  // the forward's BT_STRIDE rows
  std::vector<int64_t> grad_table;   // GB_STRIDE rows per batch
  std::vector<int32_t> rows;         // GR_STRIDE per block of BLOCK_M query rows of one head
  std::vector<int32_t> keys;         // GK_STRIDE per key entry
  int64_t total_rows = 0;            // Σ N1·S1_b: D's length (generic variant)
  int64_t row_tiles = 0;             // blocks of BLOCK_M query rows over every batch and head
  int parts = 0;                     // CPU variant: key entries per kv head, each with its own dQ copy
  int64_t chunk_rows = 0;            // CPU variant: query rows per chunk (a multiple of the block's lanes)
  int64_t dkv_entry_floats = 0;      // CPU variant: a key entry's dK/dV carried between chunks (0: one chunk)
  bool bf16_pairs = false;           // CPU variant: BF16_DOT, bf16 pair dot products (fag.BF16_DOT)
  uint64_t dpse_loop_steps = 0;      // fag_dpse's loop budget (fag_dpse_loop_steps)
  std::size_t dpse_local = 1;        // fag_dpse's work-group size
  cl_mem batch_mem = nullptr, grad_mem = nullptr, rows_mem = nullptr, keys_mem = nullptr;  // owned by PlanBase
};

}  // namespace detail
}  // namespace cannon

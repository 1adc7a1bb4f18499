// The reference's own reading of FlashAttentionScore shapes: head counts, head dims, per-batch lengths and
// where every (batch, head, row) starts in each of the five layouts. Deliberately independent of host/layout,
// so that the layout code and this file check each other.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/flash_attention_score_ref.hpp"

namespace cannon::reference::detail {

// Rows of one tensor: element (b, n, s, d) lives at batch_base[b] + s*seq_stride + n*head_stride + d.
// The head dim is innermost in every layout, so a row is always contiguous.
struct RowMap {
  std::vector<int64_t> batch_base;
  int64_t seq_stride = 0;
  int64_t head_stride = 0;

  int64_t row(int64_t b, int64_t n, int64_t s) const { return batch_base[b] + s * seq_stride + n * head_stride; }
};

struct FaRefProblem {
  bool tnd = false;
  bool softmax_tnd_order = false;  // TND with softmax_layout "TND": [T1, N1, 8]
  int64_t batch = 0, n1 = 0, n2 = 0, dk = 0, dv = 0;
  int64_t s1_dense = 0;                // S1 of the non-TND layouts (softmax offset)
  std::vector<int64_t> s1, s2;         // per-batch query / key lengths
  std::vector<int64_t> q_rows_before;  // TND: query rows of all earlier batches (acc_b)
  RowMap q, k, v, out;
  std::vector<int64_t> out_shape, softmax_shape;

  // Element offset of lane 0 of the softmax_max/softmax_sum entry for (b, n1, i).
  int64_t softmax_offset(int64_t b, int64_t head, int64_t i) const;
};

// Derives everything above from the input shapes and attributes. Throws Error(kParamInvalid) for shapes the
// reference cannot index safely (wrong rank, sizes that do not divide, lengths past the end of a tensor);
// full validation is the operator's plan.
FaRefProblem describe_problem(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs);

}  // namespace cannon::reference::detail

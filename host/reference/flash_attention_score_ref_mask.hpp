// The reference's own statement of FlashAttentionScore's masking: atten_mask, sparse_mode 0-8, pre/next tokens,
// prefix and invalid-line mode, written straight from the table in docs/flash_attention_score.md ("atten_mask,
// sparse_mode, pre_tokens/next_tokens"). It never calls host/schedule (DESIGN.md): the tile planner is checked
// against this independent, element-by-element reading of the same rule.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/flash_attention_score_ref_layout.hpp"

namespace cannon::reference::detail {

// What one score of one row becomes before the softmax.
enum class Score : uint8_t {
  kComputed,  // visible: q·k·scale
  kMasked,    // computed but masked by the tensor: −FLT_MAX (counts in max, sum and out)
  kSkipped,   // outside the band rule: never computed, contributes nothing at all
};

class MaskRules {
 public:
  // Reads the mask, mode and attributes once. Throws Error(kParamInvalid) for what the reference cannot index
  // or apply (a mask of another dtype or shape when its elements are read, a mode outside 0-8, a prefix list too
  // short for modes 5/6). Everything else the operator's plan rejects is left to it.
  MaskRules(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs, const FaRefProblem& p);

  // False when there is no atten_mask: then nothing is masked, whatever sparse_mode says.
  bool active() const { return active_; }
  // inner_precise 2/3, or switched on because the rule leaves some row with no visible column.
  bool invalid_line() const { return invalid_line_; }

  // The band rule of batch b at batch-local (i, j): −pre_b <= j − i <= next_b, or j < prefix_b.
  bool rule_visible(int64_t b, int64_t i, int64_t j) const {
    const int64_t d = j - i;
    return (d >= -pre_[b] && d <= next_[b]) || j < prefix_[b];
  }
  // The tensor's element for (b, n1, i, j), for the modes that read it (0, 1, 5).
  bool tensor_masked(int64_t b, int64_t n1, int64_t i, int64_t j) const {
    return reads_tensor_ && mask_[b * mask_b_stride_ + n1 * mask_n_stride_ + i * mask_row_stride_ + j] != 0.0;
  }
  // Fills states[0, S2_b) for row i of (b, n1). Only call when active().
  void row_states(int64_t b, int64_t n1, int64_t i, int64_t s2, Score* states) const;

 private:
  void set_rules(const FlashAttentionScoreAttrs& attrs, const FaRefProblem& p);
  void set_tensor(const HostTensor& mask, const FaRefProblem& p);
  bool some_row_without_visible_column(const FaRefProblem& p) const;

  bool active_ = false, reads_tensor_ = false, invalid_line_ = false;
  std::vector<int64_t> pre_, next_, prefix_;  // per batch, after the mode's conversion
  const double* mask_ = nullptr;
  int64_t mask_b_stride_ = 0, mask_n_stride_ = 0, mask_row_stride_ = 0;
};

}  // namespace cannon::reference::detail

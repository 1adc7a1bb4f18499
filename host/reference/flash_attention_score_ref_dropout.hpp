// The reference's own statement of FlashAttentionScore's dropout, from docs/flash_attention_score.md ("Dropout"):
// the keep flag of every score, read from an explicit bit-packed drop_mask or drawn from Ascend 950's Philox
// stream (seed, offset, keep_prob). Only the Philox4x32 block function is shared with the library (it is checked
// against Random123's known answers); the stream layout, counters, byte order and threshold are restated here.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/flash_attention_score_ref_layout.hpp"

namespace cannon::reference::detail {

class DropoutRules {
 public:
  // Throws Error(kParamInvalid) for keep_prob outside (0, 1], a negative offset, or a drop_mask that is not a
  // 1-D uint8 tensor of at least ceil(numels/8) bytes.
  DropoutRules(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs,
               const FaRefProblem& p);

  // keep_prob < 1. With keep_prob == 1 a given drop_mask is ignored, as on Ascend.
  bool active() const { return active_; }
  double keep_prob() const { return keep_prob_; }

  // keep[0, S2_b) of row i (batch-local) of (b, n1): 1 kept, 0 dropped. Only call when active().
  void row(int64_t b, int64_t n1, int64_t i, int64_t s2, uint8_t* keep) const;

 private:
  bool active_ = false;
  double keep_prob_ = 1.0;
  const double* mask_ = nullptr;  // explicit drop_mask bytes, or null for the generator
  const FaRefProblem* p_ = nullptr;
  std::vector<int64_t> mask_base_;  // first explicit-mask element of batch b: N1·Σ_{c<b} S1_c·S2_c
  std::vector<uint64_t> pad_base_;  // first stream element of batch b: N1·Σ_{c<b} S1_c·S2p_c
  uint32_t key_[2] = {0, 0};
  uint64_t offset_groups_ = 0;
  uint32_t threshold_ = 0;
};

}  // namespace cannon::reference::detail

// The attribute arguments that aclnnFlashAttentionScore's family and its backward, aclnnFlashAttentionScoreGrad's,
// share. One conversion to cannon's FlashAttentionScoreAttrs serves both, so a forward call and the backward call
// given the same arguments describe the same problem, with the same checks and messages.
#pragma once

#include <cstdint>
#include <vector>

#include "aclnn/acl_meta.h"
#include "cannon/flash_attention_score.hpp"

namespace cannon::aclnn {

// One call's attribute arguments, in the order the C signatures have them. What an older form lacks stays null
// (arrays, softmax_layout) or at Ascend's default (pse_type 1).
struct FaAttrArgs {
  const aclIntArray *prefix, *seq_q, *seq_kv, *q_start, *kv_start;
  double scale, keep_prob;
  int64_t pre_tokens, next_tokens, head_num;
  const char* input_layout;
  int64_t inner_precise, sparse_mode, pse_type;
  const char* softmax_layout;  // V4's softmaxOutLayout / softmaxInLayout; null for the forms without one
  bool varlen;                 // a TND form (VarLen, Unpadding)
};

// The attributes of entry point `op`. `varlen_op` is the family's TND entry point (where a non-TND form sends TND),
// `softmax_layout_arg` the name of V4's layout argument. aclnn has no dropout seed, so keep_prob < 1 needs a
// dropMaskOptional (`has_drop_mask`). Throws Error(kParamInvalid) naming the argument.
FlashAttentionScoreAttrs fa_attrs(const FaAttrArgs& args, const char* op, const char* varlen_op,
                                  const char* softmax_layout_arg, bool has_drop_mask);

// TND's default softmax layout is per-batch [N1, S_b, 8] blocks. cannon's plans shape it [T, N1, 8]; CANN's
// documentation shapes it [N, T, 8]: the same elements in the same memory. Returns CANN's shape for the planned
// `tnd_shape` when that layout applies, else {} (no other shape is taken).
std::vector<int64_t> ntd_alias(const FlashAttentionScoreAttrs& attrs, const std::vector<int64_t>& tnd_shape);

}  // namespace cannon::aclnn

// The FlashAttentionScore family's attribute arguments as cannon attributes (flash_attention_attrs.hpp), shared by
// the forward and backward entry points.
#include "host/aclnn/flash_attention_attrs.hpp"

#include <string>

#include "host/aclnn/objects.hpp"
#include "host/runtime/check.hpp"

namespace cannon::aclnn {

FlashAttentionScoreAttrs fa_attrs(const FaAttrArgs& c, const char* op, const char* varlen_op,
                                  const char* softmax_layout_arg, bool has_drop_mask) {
  FlashAttentionScoreAttrs a;
  a.head_num = c.head_num;
  a.input_layout = Inputs::text(c.input_layout, "inputLayout");
  a.scale = c.scale;
  a.keep_prob = c.keep_prob;
  a.pre_tokens = c.pre_tokens;
  a.next_tokens = c.next_tokens;
  a.inner_precise = c.inner_precise;
  a.sparse_mode = c.sparse_mode;
  a.pse_type = c.pse_type;
  a.prefix = Inputs::ints(c.prefix);
  a.actual_seq_qlen = Inputs::ints(c.seq_q);
  a.actual_seq_kvlen = Inputs::ints(c.seq_kv);
  a.q_start_idx = Inputs::ints(c.q_start);
  a.kv_start_idx = Inputs::ints(c.kv_start);
  if (c.varlen) {
    require(a.input_layout == "TND", "inputLayout: '{}'; {} takes TND", a.input_layout, op);
  } else {
    require(a.input_layout != "TND", "inputLayout: TND goes through {}", varlen_op);
  }
  if (c.softmax_layout) {
    const std::string layout = c.softmax_layout;
    require(layout.empty() || layout == "same_as_input",
            "{}: '{}'; expected \"\" ([N,T,8] per batch) or \"same_as_input\" ([T,N,8])", softmax_layout_arg, layout);
    a.softmax_layout = layout.empty() ? "" : "TND";
  }
  // aclnn has no seed or offset: a run with dropout takes its mask as dropMaskOptional (CANN's
  // aclnnDropoutGenMask, or cannon::flash_attention_score_dropout_mask).
  require(c.keep_prob >= 1.0 || has_drop_mask, "dropMaskOptional: required when keepProb ({}) < 1", c.keep_prob);
  return a;
}

std::vector<int64_t> ntd_alias(const FlashAttentionScoreAttrs& attrs, const std::vector<int64_t>& tnd_shape) {
  if (attrs.input_layout != "TND" || !attrs.softmax_layout.empty() || tnd_shape.size() != 3) return {};
  return {tnd_shape[1], tnd_shape[0], 8};
}

}  // namespace cannon::aclnn

// RingAttentionUpdate's argument rules (docs/ring_attention_update.md, "Validation"): Ascend's documented checks
// (aclnnRingAttentionUpdate{,V2}.md, op_host/ring_attention_update_tiling.cpp) plus cannon's own, each error naming
// the argument and the rule. The Atlas A2 limits apply only with strict (CANNON_STRICT=1).
#include <algorithm>

#include "host/ops/ring_attention_update_problem.hpp"
#include "host/runtime/check.hpp"

namespace cannon {
namespace {

// Ascend's A2 TND tiling (Tiling4RingAttentionUpdateTND): heads per UB pass from a 192 KiB UB; 0 means the
// shape does not fit and the tiling fails.
int64_t tnd_heads_per_ub_pass(const RauProblem& p) {
  constexpr int64_t kUbBytes = 196608, kRepeat = 64;
  const int64_t elem = static_cast<int64_t>(dtype_size(p.dtype));
  const int64_t all = kUbBytes - kRepeat * (elem * 6 + 8) - kRepeat * 56;
  const int64_t each = p.dim * (elem * 6 + 8) + 8 * 56;
  const int64_t max_heads = all / each;
  return p.softmax == RauSoftmaxLayout::kBatchBlocks ? std::min(max_heads, p.heads) : max_heads;
}

void require_same(const TensorDesc& d, const TensorDesc& ref, const char* what, const char* ref_name) {
  require(d.dtype == ref.dtype, "{}: dtype {} differs from {}'s {}", what, dtype_name(d.dtype), ref_name,
          dtype_name(ref.dtype));
  require(d.shape == ref.shape, "{}: shape {} differs from {}'s {}", what, d.to_string(), ref_name, ref.to_string());
}

void require_nonempty(const TensorDesc& d, const char* what) {
  for (int64_t e : d.shape)
    require(e > 0, "{}: {} has a zero or negative dimension (empty tensors are rejected)", what, d.to_string());
}

void validate_sbh(const TensorDesc& attn, const TensorDesc& sm, RauProblem& p) {
  require(attn.shape.size() == 3, "prev_attn_out: SBH needs rank 3 [S,B,H], got {}", attn.to_string());
  require(sm.shape.size() == 4, "prev_softmax_max: SBH needs rank 4 [B,N,S,8], got {}", sm.to_string());
  require(sm.shape[3] == 8, "prev_softmax_max: the last dimension must be 8, got {}", sm.to_string());
  require(attn.shape[0] == sm.shape[2] && attn.shape[1] == sm.shape[0],
          "prev_attn_out {} and prev_softmax_max {}: attn dim 0 (S) must equal softmax dim 2 and attn dim 1 (B) "
          "softmax dim 0",
          attn.to_string(), sm.to_string());
  require(attn.shape[2] % sm.shape[1] == 0,
          "prev_attn_out: H = {} is not a multiple of N = {} (prev_softmax_max dim 1)", attn.shape[2], sm.shape[1]);
  p.rows = attn.shape[0];
  p.batch = attn.shape[1];
  p.heads = sm.shape[1];
  p.dim = attn.shape[2] / p.heads;
  p.softmax = RauSoftmaxLayout::kSbh;
}

void validate_tnd(const RingAttentionUpdateDescs& d, const RingAttentionUpdateAttrs& attrs, RauProblem& p) {
  const TensorDesc& attn = d.prev_attn_out;
  const TensorDesc& sm = d.prev_softmax_max;
  require(attn.shape.size() == 3, "prev_attn_out: TND needs rank 3 [T,N,D], got {}", attn.to_string());
  require(sm.shape.size() == 3, "prev_softmax_max: TND needs rank 3 [T,N,8], got {}", sm.to_string());
  require(sm.shape[2] == 8, "prev_softmax_max: the last dimension must be 8, got {}", sm.to_string());
  require(sm.shape[0] == attn.shape[0] && sm.shape[1] == attn.shape[1],
          "prev_softmax_max {}: dims 0 and 1 must equal prev_attn_out's T and N ({})", sm.to_string(),
          attn.to_string());
  if (!d.actual_seq_qlen) fail(Status::kParamNullptr, "actual_seq_qlen: required when input_layout is TND");
  const TensorDesc& q = *d.actual_seq_qlen;
  require(q.dtype == DType::kInt64, "actual_seq_qlen: dtype must be int64, got {}", dtype_name(q.dtype));
  require(q.shape.size() == 1 && q.shape[0] >= 2,
          "actual_seq_qlen: must be a 1-D tensor [B+1] starting at 0 (at least 2 values), got {}", q.to_string());
  p.rows = attn.shape[0];
  p.heads = attn.shape[1];
  p.dim = attn.shape[2];
  p.batch = q.shape[0] - 1;
  // N == 1 makes the per-batch blocks and the token-major layout the same addresses (Ascend uses the latter).
  const bool token_major = attrs.softmax_layout == "TND" || p.heads == 1;
  p.softmax = token_major ? RauSoftmaxLayout::kTokenMajor : RauSoftmaxLayout::kBatchBlocks;
}

void validate_a2_limits(const RauProblem& p) {
  if (!p.tnd) return;
  require(p.dim % 64 == 0, "prev_attn_out: D = {} must be a multiple of 64 for TND (Atlas A2, CANNON_STRICT=1)", p.dim);
  require(p.dim <= 768, "prev_attn_out: D = {} exceeds 768 for TND (Atlas A2, CANNON_STRICT=1)", p.dim);
  require(p.heads <= 256, "prev_attn_out: N = {} exceeds 256 for TND (Atlas A2, CANNON_STRICT=1)", p.heads);
  require(tnd_heads_per_ub_pass(p) > 0,
          "prev_attn_out: D = {} with dtype {} does not fit Ascend's 192 KiB UB (TND tiling, CANNON_STRICT=1)", p.dim,
          dtype_name(p.dtype));
}

}  // namespace

RauProblem validate_ring_attention_update(const RingAttentionUpdateDescs& d, const RingAttentionUpdateAttrs& attrs,
                                          bool strict) {
  RauProblem p;
  require(attrs.input_layout == "SBH" || attrs.input_layout == "TND", "input_layout: \"{}\" is not SBH or TND",
          attrs.input_layout);
  require(attrs.softmax_layout.empty() || attrs.softmax_layout == "SBH" || attrs.softmax_layout == "TND",
          "softmax_layout: \"{}\" is not \"\", \"SBH\" or \"TND\"", attrs.softmax_layout);
  p.tnd = attrs.input_layout == "TND";
  p.dtype = d.prev_attn_out.dtype;
  require(p.dtype == DType::kFloat32 || p.dtype == DType::kFloat16 || p.dtype == DType::kBFloat16,
          "prev_attn_out: dtype {} is not fp32, fp16 or bf16", dtype_name(p.dtype));
  require(d.prev_softmax_max.dtype == DType::kFloat32, "prev_softmax_max: dtype {} is not fp32",
          dtype_name(d.prev_softmax_max.dtype));
  require_same(d.cur_attn_out, d.prev_attn_out, "cur_attn_out", "prev_attn_out");
  require_same(d.prev_softmax_sum, d.prev_softmax_max, "prev_softmax_sum", "prev_softmax_max");
  require_same(d.cur_softmax_max, d.prev_softmax_max, "cur_softmax_max", "prev_softmax_max");
  require_same(d.cur_softmax_sum, d.prev_softmax_max, "cur_softmax_sum", "prev_softmax_max");
  // Before the layout rules, which divide by the head count (N = 0 would divide by zero).
  require_nonempty(d.prev_attn_out, "prev_attn_out");
  require_nonempty(d.prev_softmax_max, "prev_softmax_max");
  if (p.tnd) {
    validate_tnd(d, attrs, p);
  } else {
    // Ascend's SBH tiling never reads actual_seq_qlen; cannon ignores it there too.
    validate_sbh(d.prev_attn_out, d.prev_softmax_max, p);
  }
  if (strict) validate_a2_limits(p);
  return p;
}

void check_actual_seq_qlen(const RauProblem& p, const std::vector<int64_t>& c) {
  require(static_cast<int64_t>(c.size()) == p.batch + 1, "actual_seq_qlen: {} values, the plan expects {}", c.size(),
          p.batch + 1);
  require(c.front() == 0, "actual_seq_qlen: must start at 0, starts at {}", c.front());
  for (std::size_t i = 1; i < c.size(); ++i) {
    require(c[i] >= c[i - 1], "actual_seq_qlen: decreases at index {} ({} after {})", i, c[i], c[i - 1]);
  }
  require(c.back() == p.rows, "actual_seq_qlen: ends at {}, but T = {}", c.back(), p.rows);
}

}  // namespace cannon

// pse for FlashAttentionScore on the host: which form a pse is (docs/flash_attention_score.md, "pse"), the
// rules Ascend enforces for it, and where element (b, n1, i, j) lives, as per-batch (base, head, row) strides
// the kernels read. pse_type 2/3 carry fp32 slopes; their ALiBi is generated in the kernel.
#include <algorithm>

#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"

namespace cannon {
namespace {

constexpr int64_t kAlibiRows = 1024;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// The rules that skip every j > i, which the compressed forms need (S1s2Bn2gs1/SameAB SetPseAlibiParams:
// "Pse alibi only support causal sparse type").
bool causal_rule(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a, int64_t s1_max) {
  if (!d.atten_mask) return false;
  return a.sparse_mode == 2 || a.sparse_mode == 3 ||
         (a.sparse_mode == 0 && a.pre_tokens >= s1_max && a.next_tokens == 0);
}

void plan_slopes(const TensorDesc& pse, const FlashAttentionScoreAttrs& a, const FaProblem& p, PsePlan& plan) {
  require(pse.dtype == DType::kFloat32, "pse: pse_type {} takes fp32 slopes, got {}", a.pse_type,
          dtype_name(pse.dtype));
  const bool per_batch = pse.shape == std::vector<int64_t>{p.batch, p.n1};
  require(per_batch || pse.shape == std::vector<int64_t>{p.n1},
          "pse: pse_type {} takes slopes of shape [B,N1] = [{},{}] or [N1] = [{}], got {}", a.pse_type, p.batch, p.n1,
          p.n1, shape_text(pse.shape));
  plan.mode = a.pse_type == 2 ? PseMode::kAlibi : PseMode::kAlibiSqrt;
  // Both start lists or neither (SetQKVStartIdx returns before storing either when one is missing).
  const bool starts = !a.q_start_idx.empty() && !a.kv_start_idx.empty();
  const int64_t q0 = starts ? a.q_start_idx[0] : 0, kv0 = starts ? a.kv_start_idx[0] : 0;
  const bool tnd = p.layout == Layout::kTND;
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
    // TND sparse_mode 8: batches after the first use start index 0 (ProcessVec1 innerAlibiFlag).
    const bool shifted = !(tnd && a.sparse_mode == 8 && b > 0);
    if (tnd && a.sparse_mode == 8 && b == 0) {
      require(checked_add(s1, q0, "pse: S1_0 + q_start_idx") == checked_add(s2, kv0, "pse: S2_0 + kv_start_idx"),
              "pse: pse_type {} with sparse_mode 8 needs S1_0 + q_start = S2_0 + kv_start", a.pse_type);
    } else {
      require(s1 == s2, "pse: pse_type {} needs S1 == S2{} (got {} and {})", a.pse_type, tnd ? " in every batch" : "",
              s1, s2);
    }
    PseBatch pb;
    pb.slope = per_batch ? b * p.n1 : 0;
    // The kernels form the ALiBi distance j - i + shift in int32; with S below 2^30, a shift within ±2^30
    // keeps it exact.
    pb.shift = shifted ? checked_sub(kv0, q0, "pse: kv_start_idx - q_start_idx") : 0;
    require(pb.shift > -kMaxSeq && pb.shift < kMaxSeq,
            "pse: kv_start_idx - q_start_idx = {} must be within ±2^30 (the kernels' ALiBi distance is int32)",
            pb.shift);
    plan.batches.push_back(pb);
  }
}

void plan_tensor_dense(const TensorDesc& pse, const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a,
                       const FaProblem& p, PsePlan& plan) {
  const auto& s = pse.shape;
  const bool ok = s.size() == 4 && (s[0] == p.batch || s[0] == 1) && s[1] == p.n1 && s[3] == p.s2 &&
                  (s[2] == p.s1 || s[2] == 1 || (s[2] == kAlibiRows && p.s1 > kAlibiRows));
  require(ok,
          "pse: takes [B|1,N1,S1,S2], [B|1,N1,1,S2] or, when S1 > 1024, [B|1,N1,1024,S2] with B={} N1={} "
          "S1={} S2={}, got {}",
          p.batch, p.n1, p.s1, p.s2, shape_text(s));
  const bool compressed = s[2] == kAlibiRows && p.s1 > kAlibiRows;
  if (compressed) {
    require(p.s1 == p.s2, "pse: the ALiBi-compressed form needs S1 == S2 (got {} and {})", p.s1, p.s2);
    require(causal_rule(d, a, p.s1),
            "pse: the ALiBi-compressed form needs a causal rule: atten_mask with sparse_mode 2, 3, or 0 with "
            "pre_tokens >= S1 and next_tokens == 0");
    plan.map = PseMap::kCompressed;
    plan.cols = p.s2;
  }
  const int64_t head = s[2] * s[3];
  for (int64_t b = 0; b < p.batch; ++b) {
    PseBatch pb;
    pb.base = (s[0] == 1 ? 0 : b) * p.n1 * head;
    pb.head = head;
    pb.row = s[2] == 1 && p.s1 != 1 ? 0 : s[3];
    plan.batches.push_back(pb);
  }
}

void plan_tensor_tnd(const TensorDesc& pse, const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a,
                     const FaProblem& p, PsePlan& plan) {
  int64_t rows_count = 0, full_count = 0, s1_max = 0, s2_max = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    rows_count += p.n1 * p.seqs.kv_len[b];
    full_count += p.n1 * p.seqs.q_len[b] * p.seqs.kv_len[b];
    s1_max = std::max(s1_max, p.seqs.q_len[b]);
    s2_max = std::max(s2_max, p.seqs.kv_len[b]);
  }
  const auto& s = pse.shape;
  bool flat = !s.empty();
  for (std::size_t i = 1; i < s.size(); ++i) flat = flat && s[i] == 1;
  if (flat && (s[0] == rows_count || s[0] == full_count)) {
    // Packed per-batch forms, recognised by element count, BN1S first (the VarLen tiling's order).
    const bool rows_form = s[0] == rows_count;
    int64_t base = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      const int64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
      plan.batches.push_back({base, rows_form ? s2 : s1 * s2, rows_form ? 0 : s2, 0, 0});
      base += p.n1 * (rows_form ? s2 : s1 * s2);
    }
    return;
  }
  const bool compressed =
      s.size() == 4 && (s[0] == p.batch || s[0] == 1) && s[1] == p.n1 && s[2] == kAlibiRows && s[3] == s2_max;
  require(compressed,
          "pse: layout TND takes [N1·ΣS2_b] = [{}], [N1·ΣS1_b·S2_b] = [{}] or [B|1,N1,1024,S2max] = [{}|1,{},1024,{}], "
          "got {}",
          rows_count, full_count, p.batch, p.n1, s2_max, shape_text(s));
  for (int64_t b = 0; b < p.batch; ++b) {
    require(p.seqs.q_len[b] == p.seqs.kv_len[b],
            "pse: the TND ALiBi-compressed form needs S1_b == S2_b in every batch");
  }
  require(causal_rule(d, a, s1_max),
          "pse: the ALiBi-compressed form needs a causal rule: atten_mask with sparse_mode 2, 3, or 0 with "
          "pre_tokens >= max S1_b and next_tokens == 0");
  plan.map = PseMap::kTndCompressed;
  plan.cols = s2_max;
  for (int64_t b = 0; b < p.batch; ++b) {
    plan.batches.push_back({(s[0] == 1 ? 0 : b) * p.n1 * kAlibiRows * s2_max, kAlibiRows * s2_max, s2_max, 0, 0});
  }
}

}  // namespace

PsePlan plan_pse(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a, const FaProblem& p) {
  PsePlan plan;
  if (!d.pse) {
    require(a.pse_type == 1, "pse_type: {} needs a pse input (AnalyzeOptionalInput)", a.pse_type);
    plan.batches.assign(static_cast<std::size_t>(p.batch), PseBatch{});
    return plan;
  }
  const bool tnd = p.layout == Layout::kTND;
  if (tnd) {
    require(a.sparse_mode != 7, "pse: not supported with sparse_mode 7");
    for (int64_t b = 0; b < p.batch; ++b) {
      require(p.seqs.q_len[b] > 0 && p.seqs.kv_len[b] > 0, "pse: not supported when a TND batch has length 0");
    }
  }
  if (a.pse_type >= 2) {
    plan_slopes(*d.pse, a, p, plan);
    return plan;
  }
  require(d.pse->dtype == p.dtype, "pse: dtype {} must equal query's dtype {} for pse_type {}",
          dtype_name(d.pse->dtype), dtype_name(p.dtype), a.pse_type);
  plan.mode = a.pse_type == 1 ? PseMode::kAddScale : PseMode::kAdd;
  if (tnd) {
    if (a.sparse_mode == 8) {
      for (int64_t b = 0; b < p.batch; ++b) {
        require(p.seqs.q_len[b] == p.seqs.kv_len[b], "pse: sparse_mode 8 with a pse needs S1_b == S2_b in every batch");
      }
    }
    plan_tensor_tnd(*d.pse, d, a, p, plan);
  } else {
    plan_tensor_dense(*d.pse, d, a, p, plan);
  }
  return plan;
}

}  // namespace cannon

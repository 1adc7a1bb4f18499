// Every documented rule of NsaSelectedAttention, checked once, with messages naming the argument and the rule.
// Sources: aclnnNsaSelectedAttention.md 约束说明 and aclnn_nsa_selected_attention.cpp (cannmirror/ops-transformer);
// ascend-semantics.md §4. Rules that only reflect Atlas A2 resources apply under CANNON_STRICT=1.
#include <cmath>
#include <limits>

#include "host/ops/nsa_selected_attention_problem.hpp"
#include "host/runtime/check.hpp"

namespace cannon {
namespace {

constexpr int64_t kMaxBlockSize = 128;   // selectedBlockSize <= 128, multiple of 16
constexpr int64_t kMaxBlockCount = 128;  // selectedBlockCount in [1, 128]
constexpr int64_t kMaxGroup = 32;        // G = N1/N2 <= 32 (also the kernel's two 16-lane row vectors)
constexpr int64_t kMaxHeadDim = 768;     // aclnn HEAD_DIM_MAX
// Atlas A2 only (CANNON_STRICT=1).
constexpr int64_t kStrictMaxSelected = 128 * 64;  // count·bs < 8K
constexpr int64_t kStrictMaxBatch = 1024;
constexpr int64_t kStrictMaxHeads = 128;
constexpr int64_t kStrictMaxSeq = 128 * 1024;

void check_shape(const TensorDesc& d, const char* what) {
  require(d.shape.size() == 3, "{}: shape {} has rank {}; input_layout TND needs rank 3", what, d.to_string(),
          d.shape.size());
  for (std::size_t i = 0; i < 3; ++i) {
    require(d.shape[i] >= 1, "{}: dimension {} of {} is {}; T, N and D must be at least 1", what, i, d.to_string(),
            d.shape[i]);
  }
}

void check_attrs(const NsaSelectedAttentionAttrs& a) {
  require(a.input_layout == "TND", "input_layout: '{}' is not supported; NsaSelectedAttention supports only TND",
          a.input_layout);
  // The kernel multiplies in fp32: a double beyond FLT_MAX would become inf there and every score NaN.
  require(std::isfinite(a.scale_value) && std::fabs(a.scale_value) <= std::numeric_limits<float>::max(),
          "scale_value: {} must be finite and within fp32's range (|scale_value| <= {})", a.scale_value,
          std::numeric_limits<float>::max());
  require(a.sparse_mode == 0 || a.sparse_mode == 2, "sparse_mode: {} is not supported (expected 0 or 2)",
          a.sparse_mode);
  require(a.select_block_size >= 16 && a.select_block_size <= kMaxBlockSize && a.select_block_size % 16 == 0,
          "select_block_size: {} must be a multiple of 16 in [16, {}]", a.select_block_size, kMaxBlockSize);
  require(a.select_block_count >= 1 && a.select_block_count <= kMaxBlockCount,
          "select_block_count: {} must be in [1, {}]", a.select_block_count, kMaxBlockCount);
}

void check_dtypes(const NsaSelectedAttentionDescs& d, bool strict) {
  const DType dt = d.query.dtype;
  require(is_floating(dt), "query: dtype {} is not supported (expected fp16 or bf16; fp32 as a cannon extension)",
          dtype_name(dt));
  require(!strict || dt != DType::kFloat32, "query: fp32 is a cannon extension; CANNON_STRICT accepts fp16 and bf16");
  require(d.key.dtype == dt, "key: dtype {} must equal query's dtype {}", dtype_name(d.key.dtype), dtype_name(dt));
  require(d.value.dtype == dt, "value: dtype {} must equal query's dtype {}", dtype_name(d.value.dtype),
          dtype_name(dt));
  require(d.topk_indices.dtype == DType::kInt32, "topk_indices: dtype {} must be int32",
          dtype_name(d.topk_indices.dtype));
  if (d.atten_mask) {
    require(d.atten_mask->dtype == DType::kBool || d.atten_mask->dtype == DType::kUInt8,
            "atten_mask: dtype {} must be bool or uint8", dtype_name(d.atten_mask->dtype));
    require(d.atten_mask->shape.size() == 2, "atten_mask: shape {} must have rank 2", d.atten_mask->to_string());
  }
}

void check_sequences(const NsaProblem& p, bool strict) {
  const int64_t sel = p.selected();
  for (int64_t b = 0; b < p.seqs.batches(); ++b) {
    const int64_t s2 = p.seqs.kv_len[b];
    require(s2 >= sel, "actual_seq_kvlen: batch {} has {} keys, fewer than select_block_count·select_block_size = {}",
            b, s2, sel);
    require(s2 % p.block_size == 0, "actual_seq_kvlen: batch {} has {} keys, not a multiple of select_block_size {}", b,
            s2, p.block_size);
    if (strict) {
      require(p.seqs.q_len[b] <= kStrictMaxSeq && s2 <= kStrictMaxSeq,
              "actual_seq_qlen/actual_seq_kvlen: batch {} is longer than {} (CANNON_STRICT)", b, kStrictMaxSeq);
    }
  }
}

}  // namespace

NsaProblem validate_nsa_selected_attention(const NsaSelectedAttentionDescs& d, const NsaSelectedAttentionAttrs& a,
                                           bool strict) {
  check_attrs(a);
  check_dtypes(d, strict);
  check_shape(d.query, "query");
  check_shape(d.key, "key");
  check_shape(d.value, "value");
  NsaProblem p;
  p.dtype = d.query.dtype;
  p.t1 = d.query.shape[0];
  p.n1 = d.query.shape[1];
  p.dk = d.query.shape[2];
  p.t2 = d.key.shape[0];
  p.n2 = d.key.shape[1];
  p.dv = d.value.shape[2];
  p.block_size = a.select_block_size;
  p.block_count = a.select_block_count;
  p.scale = static_cast<float>(a.scale_value);
  p.causal = d.atten_mask.has_value() && a.sparse_mode == 2;

  require(a.head_num == p.n1, "head_num: {} must equal query's head count N1={}", a.head_num, p.n1);
  require(d.key.shape[2] == p.dk, "key: head dim {} must equal query's head dim {} (Dq == Dk)", d.key.shape[2], p.dk);
  require(d.value.shape[0] == p.t2 && d.value.shape[1] == p.n2,
          "value: shape {} must be [{}, {}, Dv] like key's T and N", d.value.to_string(), p.t2, p.n2);
  require(p.dv <= p.dk, "value: head dim Dv={} must not exceed Dk={}", p.dv, p.dk);
  require(p.dk <= kMaxHeadDim, "query: head dim {} exceeds the maximum {}", p.dk, kMaxHeadDim);
  require(p.n1 % p.n2 == 0, "key: query heads N1={} must be a multiple of key heads N2={} (GQA)", p.n1, p.n2);
  require(p.group() <= kMaxGroup, "query: group size G = N1/N2 = {} exceeds {}", p.group(), kMaxGroup);
  const TensorDesc expected_topk{DType::kInt32, {p.t1, p.n2, p.block_count}};
  require(d.topk_indices == expected_topk, "topk_indices: is {} but must be {} ([T1, N2, select_block_count])",
          d.topk_indices.to_string(), expected_topk.to_string());
  if (strict) {
    require(p.dk == 192 && p.dv == 128, "query/value: CANNON_STRICT requires Dqk=192 and Dv=128, got {} and {}", p.dk,
            p.dv);
    require(p.n1 <= kStrictMaxHeads, "query: CANNON_STRICT allows at most {} heads, got {}", kStrictMaxHeads, p.n1);
    require(p.selected() < kStrictMaxSelected,
            "select_block_count·select_block_size: {} must be below {} (CANNON_STRICT)", p.selected(),
            kStrictMaxSelected);
  }
  require(!a.actual_seq_qlen.empty() && !a.actual_seq_kvlen.empty(),
          "actual_seq_qlen/actual_seq_kvlen: required with input_layout TND");
  p.seqs = parse_varlen(a.actual_seq_qlen, a.actual_seq_kvlen, p.t1, p.t2);
  require(!strict || p.seqs.batches() <= kStrictMaxBatch, "actual_seq_qlen: CANNON_STRICT allows at most {} batches",
          kStrictMaxBatch);
  check_sequences(p, strict);
  return p;
}

}  // namespace cannon

// Every documented constraint of FlashAttentionScore forward, checked once, with messages that name the
// argument and the rule (ascend-semantics.md §1.1, §1.7; aclnnFlashAttentionScore docs).
#include <cmath>
#include <limits>

#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"

namespace cannon {
namespace {

constexpr int64_t kMaxHeads = 256;    // N1 <= 256 (aclnn doc)
constexpr int64_t kMaxHeadDim = 768;  // D in [1, 768] (Atlas A2)

void check_dtypes(const FlashAttentionScoreDescs& d) {
  require(is_floating(d.query.dtype), "query: dtype {} is not supported (expected fp32, fp16 or bf16)",
          dtype_name(d.query.dtype));
  require(d.key.dtype == d.query.dtype, "key: dtype {} must equal query's dtype {}", dtype_name(d.key.dtype),
          dtype_name(d.query.dtype));
  require(d.value.dtype == d.query.dtype, "value: dtype {} must equal query's dtype {}", dtype_name(d.value.dtype),
          dtype_name(d.query.dtype));
}

void check_attrs(const FlashAttentionScoreAttrs& a, Layout layout) {
  // The kernels multiply in fp32: a double beyond FLT_MAX would become inf there and every score NaN.
  require(std::isfinite(a.scale) && std::fabs(a.scale) <= std::numeric_limits<float>::max(),
          "scale: {} must be finite and within fp32's range (|scale| <= {})", a.scale,
          std::numeric_limits<float>::max());
  require(a.head_num >= 1 && a.head_num <= kMaxHeads, "head_num: {} must be in [1, {}]", a.head_num, kMaxHeads);
  require(a.sparse_mode >= 0 && a.sparse_mode <= 8, "sparse_mode: {} must be in [0, 8]", a.sparse_mode);
  require(a.pse_type >= 0 && a.pse_type <= 3, "pse_type: {} must be in [0, 3]", a.pse_type);
  require(a.inner_precise >= 0 && a.inner_precise <= 3, "inner_precise: {} must be in [0, 3]", a.inner_precise);
  if (layout != Layout::kTND) {
    require(a.actual_seq_qlen.empty() && a.actual_seq_kvlen.empty(),
            "actual_seq_qlen/actual_seq_kvlen: only used with input_layout TND, but input_layout is {}",
            layout_name(layout));
  }
  require(a.softmax_layout.empty() || a.softmax_layout == "TND" || a.softmax_layout == "same_as_input",
          "softmax_layout: '{}' (expected \"\", \"TND\" or \"same_as_input\")", a.softmax_layout);
  require(a.softmax_layout.empty() || layout == Layout::kTND,
          "softmax_layout: '{}' is only valid with input_layout TND", a.softmax_layout);
}

void check_dim(int64_t value, const char* arg, const char* name) {
  require(value >= 1, "{}: {} is {}; it must be at least 1", arg, name, value);
}

// Every tensor of the run and the per-batch table against the device, before any table sized by B or S exists.
// Sequence lengths also bound the kernels' int32 row/key indices and the tile list's (col0 << 1) encoding.
void check_limits(const FlashAttentionScoreDescs& d, const FaProblem& p, const DeviceLimits& limits) {
  std::vector<DeviceBuffer> buffers = fa_device_buffers(d, p);
  if (p.layout != Layout::kTND) {
    buffers.push_back({"plan batch_table", checked_mul_u64(static_cast<uint64_t>(p.batch), BT_STRIDE * sizeof(int64_t),
                                                           "plan batch_table")});
  }
  check_buffers_fit(limits, buffers);
  check_index_limit("query: sequence length S1", static_cast<uint64_t>(p.s1), kMaxSeq - 1,
                    "the kernels' index range 2^30 - 1");
  check_index_limit("key: sequence length S2", static_cast<uint64_t>(p.s2), kMaxSeq - 1,
                    "the kernels' index range 2^30 - 1");
}

}  // namespace

std::vector<DeviceBuffer> fa_device_buffers(const FlashAttentionScoreDescs& d, const FaProblem& p) {
  const bool tnd = p.layout == Layout::kTND;
  const TensorDesc out{p.dtype, layout_shape(p.layout, {tnd ? 1 : p.batch, p.s1, p.n1, p.dv})};
  const TensorDesc stats{DType::kFloat32,
                         tnd ? std::vector<int64_t>{p.s1, p.n1, 8} : std::vector<int64_t>{p.batch, p.n1, p.s1, 8}};
  std::vector<DeviceBuffer> buffers{buffer_of("query", d.query),     buffer_of("key", d.key),
                                    buffer_of("value", d.value),     buffer_of("attention_out", out),
                                    buffer_of("softmax_max", stats), buffer_of("softmax_sum", stats)};
  if (d.pse) buffers.push_back(buffer_of("pse", *d.pse));
  if (d.drop_mask) buffers.push_back(buffer_of("drop_mask", *d.drop_mask));
  if (d.atten_mask) buffers.push_back(buffer_of("atten_mask", *d.atten_mask));
  return buffers;
}

FaProblem validate_flash_attention_score(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a,
                                         bool strict, const DeviceLimits* limits) {
  FaProblem p;
  p.layout = parse_layout(a.input_layout, "input_layout");
  check_dtypes(d);
  check_attrs(a, p.layout);
  p.dtype = d.query.dtype;
  p.scale = static_cast<float>(a.scale);

  LayoutDims q = layout_dims(p.layout, d.query.shape, a.head_num, "query");
  require(q.heads == a.head_num, "query: has {} heads but head_num is {}", q.heads, a.head_num);
  check_dim(q.dim, "query", "head dim D");
  // BSH/SBH pack N·D into H: the kv head count follows from the query's head dim.
  const bool packed = p.layout == Layout::kBSH || p.layout == Layout::kSBH;
  int64_t n2 = 0;
  if (packed) {
    require(d.key.shape.size() == 3, "key: shape has rank {}, but layout {} needs rank 3", d.key.shape.size(),
            layout_name(p.layout));
    require(d.key.shape[2] > 0 && d.key.shape[2] % q.dim == 0,
            "key: H={} must be a positive multiple of the query head dim {} (H = N2·D)", d.key.shape[2], q.dim);
    n2 = d.key.shape[2] / q.dim;
  }
  LayoutDims k = layout_dims(p.layout, d.key.shape, packed ? n2 : 0, "key");
  LayoutDims v = layout_dims(p.layout, d.value.shape, packed ? k.heads : 0, "value");

  require(k.batch == q.batch && v.batch == q.batch, "key/value: batch {}/{} must equal query's batch {}", k.batch,
          v.batch, q.batch);
  require(k.seq == v.seq, "value: sequence length {} must equal key's {}", v.seq, k.seq);
  require(k.heads == v.heads, "value: has {} heads but key has {}", v.heads, k.heads);
  require(k.dim == q.dim, "key: head dim {} must equal query's head dim {} (Dq == Dk)", k.dim, q.dim);
  check_dim(k.heads, "key", "head count N2");
  check_dim(v.dim, "value", "head dim Dv");
  require(q.heads % k.heads == 0, "key: query heads N1={} must be a multiple of key heads N2={} (GQA)", q.heads,
          k.heads);
  require(v.dim <= k.dim, "value: head dim Dv={} must not exceed Dk={}", v.dim, k.dim);
  require(q.dim <= kMaxHeadDim, "query: head dim {} exceeds the maximum {}", q.dim, kMaxHeadDim);
  if (strict) {
    require(q.dim % 16 == 0 && v.dim % 16 == 0,
            "query/value: CANNON_STRICT requires head dims that are multiples of 16");
  }

  p.batch = q.batch;
  p.n1 = q.heads;
  p.n2 = k.heads;
  p.s1 = q.seq;
  p.s2 = k.seq;
  p.dk = q.dim;
  p.dv = v.dim;
  if (limits) check_limits(d, p, *limits);
  if (p.layout == Layout::kTND) {
    check_dim(p.s1, "query", "T");
    check_dim(p.s2, "key", "T");
    p.seqs = parse_varlen(a.actual_seq_qlen, a.actual_seq_kvlen, p.s1, p.s2);
    p.batch = p.seqs.batches();
    if (limits) {
      check_buffers_fit(
          *limits, {{"plan batch_table", checked_mul_u64(static_cast<uint64_t>(p.batch), BT_STRIDE * sizeof(int64_t),
                                                         "plan batch_table")}});
    }
    p.tnd_softmax_same_as_input = !a.softmax_layout.empty();
  } else {
    check_dim(p.batch, "query", "batch B");
    check_dim(p.s1, "query", "sequence length S1");
    check_dim(p.s2, "key", "sequence length S2");
    for (int64_t b = 0; b < p.batch; ++b) {
      p.seqs.q_start.push_back(0);
      p.seqs.q_len.push_back(p.s1);
      p.seqs.kv_start.push_back(0);
      p.seqs.kv_len.push_back(p.s2);
    }
  }
  p.sparse_mode = a.sparse_mode;
  if (d.atten_mask) validate_atten_mask(*d.atten_mask, p, a.sparse_mode);
  schedule::MaskAttrs mask_attrs;
  mask_attrs.has_atten_mask = d.atten_mask.has_value();
  mask_attrs.varlen = p.layout == Layout::kTND;
  mask_attrs.sparse_mode = a.sparse_mode;
  mask_attrs.pre_tokens = a.pre_tokens;
  mask_attrs.next_tokens = a.next_tokens;
  mask_attrs.inner_precise = a.inner_precise;
  mask_attrs.prefix = a.prefix;
  p.masks = schedule::plan_masks(mask_attrs, p.seqs.q_len, p.seqs.kv_len);
  p.pse = plan_pse(d, a, p);
  p.dropout = plan_dropout(d, a, p);
  p.seed = a.seed;
  p.offset = a.offset;
  return p;
}

}  // namespace cannon

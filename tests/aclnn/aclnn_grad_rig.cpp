// The backward's aclnn test rig (aclnn_grad_rig.hpp): inputs drawn per problem, the forward and backward entry
// points of each form called with one argument struct, and the same problem through the C++ API.
#include "aclnn_grad_rig.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace aclnn_test {
namespace {

std::size_t item_size(aclDataType dtype) {
  return dtype == ACL_FLOAT ? 4 : dtype == ACL_FLOAT16 || dtype == ACL_BF16 ? 2 : 1;
}

int64_t count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Uniform values in [lo, hi) stored as `dtype` (fp32 or fp16).
Host values(std::vector<int64_t> shape, aclDataType dtype, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  const std::vector<float> f = random_floats(static_cast<std::size_t>(count(shape)), seed, lo, hi);
  Host h{{}, std::move(shape), dtype};
  h.bytes.resize(f.size() * item_size(dtype));
  if (dtype == ACL_FLOAT) {
    std::memcpy(h.bytes.data(), f.data(), h.bytes.size());
  } else {
    for (std::size_t i = 0; i < f.size(); ++i) {
      const aclFloat16 x = aclFloatToFloat16(f[i]);
      std::memcpy(h.bytes.data() + 2 * i, &x, 2);
    }
  }
  return h;
}

// The layout's shape of the query side (q, dy, attention_out) or the key side (k, v) with head dim `d`.
std::vector<int64_t> layout_shape(const Problem& p, bool query_side, int64_t d) {
  const int64_t s = query_side ? p.s1 : p.s2, n = query_side ? p.n1 : p.n2;
  if (p.layout == "TND") return {query_side ? p.cum_q.back() : p.cum_kv.back(), n, d};
  if (p.layout == "BSH") return {p.b, s, n * d};
  if (p.layout == "SBH") return {s, p.b, n * d};
  if (p.layout == "BNSD") return {p.b, n, s, d};
  return {p.b, s, n, d};
}

std::unique_ptr<Dev> upload(const Host& h) {
  if (h.bytes.empty()) return nullptr;
  return std::make_unique<Dev>(h.bytes.data(), item_size(h.dtype), h.shape, h.dtype);
}

std::unique_ptr<Dev> zeroed(const std::vector<int64_t>& shape, aclDataType dtype) {
  const std::vector<uint8_t> bytes(static_cast<std::size_t>(count(shape)) * item_size(dtype), 0);
  return std::make_unique<Dev>(bytes.data(), item_size(dtype), shape, dtype);
}

aclIntArray* array(const std::vector<int64_t>& values) {
  return values.empty() ? nullptr : aclCreateIntArray(values.data(), values.size());
}

cannon::DType cannon_dtype(aclDataType dtype) {
  switch (dtype) {
    case ACL_FLOAT16:
      return cannon::DType::kFloat16;
    case ACL_UINT8:
      return cannon::DType::kUInt8;
    case ACL_BOOL:
      return cannon::DType::kBool;
    default:
      return cannon::DType::kFloat32;
  }
}

bool is_v2(Form form) { return form == Form::kV2 || form == Form::kUnpaddingV2; }

}  // namespace

Problem bsh_problem() {
  Problem p;
  p.layout = "BSH";
  p.b = 2, p.s1 = 29, p.s2 = 45, p.n1 = 4, p.n2 = 2, p.d = p.dv = 24;
  return p;
}

Problem tnd_problem() {
  Problem p;
  p.layout = "TND";
  p.cum_q = {17, 17, 60}, p.cum_kv = {31, 70, 111};
  p.n1 = 4, p.n2 = 2, p.d = p.dv = 24;
  return p;
}

Rig::Rig(const Problem& problem) : p(problem) {
  q = values(layout_shape(p, true, p.d), p.dtype, 11);
  k = values(layout_shape(p, false, p.d), p.dtype, 12);
  v = values(layout_shape(p, false, p.dv), p.dtype, 13);
  dy = values(layout_shape(p, true, p.dv), p.dtype, 14);
  if (!p.pse_shape.empty()) {  // ALiBi's slopes are positive fp32
    pse = p.pse_type >= 2 ? values(p.pse_shape, ACL_FLOAT, 15, 0.05f, 0.5f) : values(p.pse_shape, p.dtype, 15);
  }
  std::mt19937 gen(16);
  if (!p.mask_shape.empty()) {  // the compressed 2048×2048 masks are upper triangles, a full mask is random
    mask = {std::vector<uint8_t>(static_cast<std::size_t>(count(p.mask_shape))), p.mask_shape, ACL_BOOL};
    const bool compressed = p.mask_shape == std::vector<int64_t>{2048, 2048};
    for (std::size_t i = 0; i < mask.bytes.size(); ++i) {
      mask.bytes[i] = compressed ? i % 2048 > i / 2048 : gen() % 4 == 0;
    }
  }
  if (p.keep_prob < 1) {
    int64_t scores = p.b * p.n1 * p.s1 * p.s2;
    if (p.layout == "TND") {
      scores = 0;
      for (std::size_t i = 0; i < p.cum_q.size(); ++i) {
        scores += p.n1 * (p.cum_q[i] - (i ? p.cum_q[i - 1] : 0)) * (p.cum_kv[i] - (i ? p.cum_kv[i - 1] : 0));
      }
    }
    drop = {std::vector<uint8_t>(static_cast<std::size_t>((scores + 7) / 8)), {(scores + 7) / 8}, ACL_UINT8};
    for (uint8_t& byte : drop.bytes) byte = static_cast<uint8_t>(gen() | gen());  // keeps about 3 in 4
  }
  q_dev_ = upload(q);
  k_dev_ = upload(k);
  v_dev_ = upload(v);
  dy_dev_ = upload(dy);
  pse_dev_ = upload(pse);
  drop_dev_ = upload(drop);
  mask_dev_ = upload(mask);
  const int64_t t1 = p.layout == "TND" ? p.cum_q.back() : 0;
  stats_shape = p.layout != "TND" ? std::vector<int64_t>{p.b, p.n1, p.s1, 8}
                : p.ntd_stats     ? std::vector<int64_t>{p.n1, t1, 8}
                                  : std::vector<int64_t>{t1, p.n1, 8};
  attn = zeroed(dy.shape, p.dtype);
  smax = zeroed(stats_shape, ACL_FLOAT);
  ssum = zeroed(stats_shape, ACL_FLOAT);
  dq = zeroed(q.shape, p.dtype);
  dk = zeroed(k.shape, p.dtype);
  dv = zeroed(v.shape, p.dtype);
  seq_q_ = array(p.cum_q);
  seq_kv_ = array(p.cum_kv);
  q_start_ = array(p.q_start);
  kv_start_ = array(p.kv_start);
  std::snprintf(layout_, sizeof layout_, "%s", p.layout.c_str());
  std::snprintf(softmax_layout_, sizeof softmax_layout_, "%s", p.same_as_input ? "same_as_input" : "");
}

Rig::~Rig() {
  aclDestroyIntArray(seq_q_);
  aclDestroyIntArray(seq_kv_);
  aclDestroyIntArray(q_start_);
  aclDestroyIntArray(kv_start_);
}

Call Rig::call(Form form) {
  auto tensor = [](const std::unique_ptr<Dev>& d) -> const aclTensor* { return d ? d->tensor : nullptr; };
  Call c;
  c.q = tensor(q_dev_);
  c.k = tensor(k_dev_);
  c.v = tensor(v_dev_);
  c.dy = tensor(dy_dev_);
  c.pse = tensor(pse_dev_);
  c.drop = tensor(drop_dev_);
  c.mask = tensor(mask_dev_);
  c.smax = smax->tensor;
  c.ssum = ssum->tensor;
  c.attn = attn->tensor;
  c.seq_q = seq_q_;
  c.seq_kv = seq_kv_;
  c.q_start = is_v2(form) ? q_start_ : nullptr;
  c.kv_start = is_v2(form) ? kv_start_ : nullptr;
  c.scale = p.scale;
  c.keep_prob = p.keep_prob;
  c.pre = p.pre;
  c.next = p.next;
  c.heads = p.n1;
  c.layout = layout_;
  c.sparse_mode = p.sparse_mode;
  c.pse_type = p.pse_type;
  c.softmax_layout = form == Form::kUnpaddingV4 ? softmax_layout_ : nullptr;
  c.dq = dq->tensor;
  c.dk = dk->tensor;
  c.dv = dv->tensor;
  return c;
}

void Rig::forward(Form form, aclrtStream stream) {
  const Call c = call(form);
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  aclnnStatus status = ACLNN_SUCCESS;
  Phase2 phase2 = nullptr;
  switch (form) {
    case Form::kV1:
      status = aclnnFlashAttentionScoreGetWorkspaceSize(
          c.q, c.k, c.v, c.pse, c.drop, c.padding, c.mask, c.prefix, c.scale, c.keep_prob, c.pre, c.next, c.heads,
          c.layout, c.inner_precise, c.sparse_mode, c.smax, c.ssum, nullptr, c.attn, &ws, &ex);
      phase2 = aclnnFlashAttentionScore;
      break;
    case Form::kV2:
      status = aclnnFlashAttentionScoreV2GetWorkspaceSize(c.q, c.k, c.v, c.pse, c.drop, c.padding, c.mask, c.prefix,
                                                          c.q_start, c.kv_start, c.scale, c.keep_prob, c.pre, c.next,
                                                          c.heads, c.layout, c.inner_precise, c.sparse_mode, c.pse_type,
                                                          c.smax, c.ssum, nullptr, c.attn, &ws, &ex);
      phase2 = aclnnFlashAttentionScoreV2;
      break;
    case Form::kUnpadding:
      status = aclnnFlashAttentionVarLenScoreGetWorkspaceSize(
          c.q, c.k, c.v, c.pse, c.drop, c.padding, c.mask, c.prefix, c.seq_q, c.seq_kv, c.scale, c.keep_prob, c.pre,
          c.next, c.heads, c.layout, c.inner_precise, c.sparse_mode, c.smax, c.ssum, nullptr, c.attn, &ws, &ex);
      phase2 = aclnnFlashAttentionVarLenScore;
      break;
    case Form::kUnpaddingV2:
      status = aclnnFlashAttentionVarLenScoreV2GetWorkspaceSize(
          c.q, c.k, c.v, c.pse, c.drop, c.padding, c.mask, c.prefix, c.seq_q, c.seq_kv, c.q_start, c.kv_start, c.scale,
          c.keep_prob, c.pre, c.next, c.heads, c.layout, c.inner_precise, c.sparse_mode, c.pse_type, c.smax, c.ssum,
          nullptr, c.attn, &ws, &ex);
      phase2 = aclnnFlashAttentionVarLenScoreV2;
      break;
    case Form::kUnpaddingV4:
      status = aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize(
          c.q, c.k, c.v, c.pse, c.drop, c.padding, c.mask, c.prefix, c.seq_q, c.seq_kv, c.scale, c.keep_prob, c.pre,
          c.next, c.heads, c.layout, c.inner_precise, c.sparse_mode, c.softmax_layout, c.smax, c.ssum, nullptr, c.attn,
          &ws, &ex);
      phase2 = aclnnFlashAttentionVarLenScoreV4;
      break;
  }
  ASSERT_EQ(status, ACLNN_SUCCESS) << "forward: " << message();
  run("forward", phase2, ws, ex, stream);
}

aclnnStatus grad_phase1(Form form, const Call& c, uint64_t* ws, aclOpExecutor** ex) {
  switch (form) {
    case Form::kV1:
      return aclnnFlashAttentionScoreGradGetWorkspaceSize(c.q, c.k, c.v, c.dy, c.pse, c.drop, c.padding, c.mask, c.smax,
                                                          c.ssum, c.softmax_in, c.attn, c.prefix, c.scale, c.keep_prob,
                                                          c.pre, c.next, c.heads, c.layout, c.inner_precise,
                                                          c.sparse_mode, c.dq, c.dk, c.dv, c.dpse, ws, ex);
    case Form::kV2:
      return aclnnFlashAttentionScoreGradV2GetWorkspaceSize(
          c.q, c.k, c.v, c.dy, c.pse, c.drop, c.padding, c.mask, c.smax, c.ssum, c.softmax_in, c.attn, c.prefix,
          c.q_start, c.kv_start, c.scale, c.keep_prob, c.pre, c.next, c.heads, c.layout, c.inner_precise, c.sparse_mode,
          c.pse_type, c.dq, c.dk, c.dv, c.dpse, ws, ex);
    case Form::kUnpadding:
      return aclnnFlashAttentionUnpaddingScoreGradGetWorkspaceSize(
          c.q, c.k, c.v, c.dy, c.pse, c.drop, c.padding, c.mask, c.smax, c.ssum, c.softmax_in, c.attn, c.prefix,
          c.seq_q, c.seq_kv, c.scale, c.keep_prob, c.pre, c.next, c.heads, c.layout, c.inner_precise, c.sparse_mode,
          c.dq, c.dk, c.dv, c.dpse, ws, ex);
    case Form::kUnpaddingV2:
      return aclnnFlashAttentionUnpaddingScoreGradV2GetWorkspaceSize(
          c.q, c.k, c.v, c.dy, c.pse, c.drop, c.padding, c.mask, c.smax, c.ssum, c.softmax_in, c.attn, c.prefix,
          c.seq_q, c.seq_kv, c.q_start, c.kv_start, c.scale, c.keep_prob, c.pre, c.next, c.heads, c.layout,
          c.inner_precise, c.sparse_mode, c.pse_type, c.dq, c.dk, c.dv, c.dpse, ws, ex);
    case Form::kUnpaddingV4:
      return aclnnFlashAttentionUnpaddingScoreGradV4GetWorkspaceSize(
          c.q, c.k, c.v, c.dy, c.pse, c.drop, c.padding, c.mask, c.smax, c.ssum, c.softmax_in, c.attn, c.prefix,
          c.seq_q, c.seq_kv, c.scale, c.keep_prob, c.pre, c.next, c.heads, c.layout, c.inner_precise, c.sparse_mode,
          c.dq, c.dk, c.dv, c.dpse, c.softmax_layout, ws, ex);
  }
  return ACLNN_ERR_INNER;
}

Phase2 grad_phase2(Form form) {
  switch (form) {
    case Form::kV1:
      return aclnnFlashAttentionScoreGrad;
    case Form::kV2:
      return aclnnFlashAttentionScoreGradV2;
    case Form::kUnpadding:
      return aclnnFlashAttentionUnpaddingScoreGrad;
    case Form::kUnpaddingV2:
      return aclnnFlashAttentionUnpaddingScoreGradV2;
    case Form::kUnpaddingV4:
      return aclnnFlashAttentionUnpaddingScoreGradV4;
  }
  return nullptr;
}

cannon::FlashAttentionScoreAttrs Rig::attrs(Form form) const {
  cannon::FlashAttentionScoreAttrs a = fa_attrs(p.n1, p.scale, p.layout.c_str());
  a.keep_prob = p.keep_prob;
  a.pre_tokens = p.pre;
  a.next_tokens = p.next;
  a.sparse_mode = p.sparse_mode;
  a.pse_type = is_v2(form) ? p.pse_type : 1;
  a.actual_seq_qlen = p.cum_q;
  a.actual_seq_kvlen = p.cum_kv;
  if (is_v2(form)) {
    a.q_start_idx = p.q_start;
    a.kv_start_idx = p.kv_start;
  }
  a.softmax_layout = form == Form::kUnpaddingV4 && p.same_as_input ? "TND" : "";
  return a;
}

// q, k, v, dy, softmax_max, softmax_sum, attention_in, pse, drop_mask, atten_mask (the last three empty views when
// absent); the statistics in the C++ API's shape (TND's [T,N,8]).
std::vector<cannon::TensorView> Rig::cpp_inputs(CppTensors& cpp) const {
  auto put = [&](const Host& h) {
    return h.bytes.empty() ? cannon::TensorView{}
                           : cpp.upload(h.bytes.data(), h.bytes.size(), {cannon_dtype(h.dtype), h.shape});
  };
  std::vector<int64_t> stats = stats_shape;
  if (p.ntd_stats) std::swap(stats[0], stats[1]);
  const Host max{smax->read<uint8_t>(), stats, ACL_FLOAT}, sum{ssum->read<uint8_t>(), stats, ACL_FLOAT};
  const Host out{attn->read<uint8_t>(), dy.shape, p.dtype};
  return {put(q), put(k), put(v), put(dy), put(max), put(sum), put(out), put(pse), put(drop), put(mask)};
}

cannon::FlashAttentionScoreGradResult Rig::cpp_grad(CppTensors& cpp, Form form) const {
  const std::vector<cannon::TensorView> in = cpp_inputs(cpp);
  auto optional = [](const cannon::TensorView& t) {
    return t.buffer ? std::optional<cannon::TensorView>(t) : std::nullopt;
  };
  return cannon::flash_attention_score_grad(cpp.ctx, in[0], in[1], in[2], in[3], in[4], in[5], in[6],
                                            {optional(in[7]), optional(in[8]), optional(in[9])}, attrs(form));
}

cannon::FlashAttentionScoreGradPlan Rig::cpp_plan(CppTensors& cpp, Form form) const {
  const std::vector<cannon::TensorView> in = cpp_inputs(cpp);
  auto desc = [](const cannon::TensorView& t) {
    return t.buffer ? std::optional<cannon::TensorDesc>(t.desc) : std::nullopt;
  };
  return cannon::plan_flash_attention_score_grad(cpp.ctx,
                                                 {in[0].desc, in[1].desc, in[2].desc, in[3].desc, desc(in[7]),
                                                  desc(in[8]), desc(in[9]), in[4].desc, in[5].desc, in[6].desc},
                                                 attrs(form));
}

}  // namespace aclnn_test

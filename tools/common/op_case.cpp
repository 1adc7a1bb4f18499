// Shapes and random inputs of RingAttentionUpdate and NsaSelectedAttention cases (docs/ring_attention_update.md,
// docs/nsa_selected_attention.md). Every tensor draws from its own stream and range, so swapped operands show.
#include "tools/common/op_case.hpp"

#include <algorithm>
#include <cfloat>
#include <numeric>
#include <random>

#include "host/runtime/checked.hpp"

namespace cannon::tools {
namespace {

// Uniform in [lo, hi] from 53 random bits (portable), rounded to float so fp32 stores are exact.
double uniform(std::mt19937_64& rng, double lo, double hi) {
  return static_cast<float>(lo + (hi - lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53));
}

HostData random_tensor(const TensorDesc& desc, std::mt19937_64& rng, double lo, double hi) {
  std::vector<double> values(static_cast<std::size_t>(std::max<int64_t>(desc.numel(), 0)));
  for (double& v : values) v = uniform(rng, lo, hi);
  return encode_values(desc.dtype, desc.shape, values);
}

std::mt19937_64 stream(uint64_t seed, uint32_t which) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), which};
  return std::mt19937_64(seq);
}

int64_t last(const std::vector<int64_t>& v) { return v.empty() ? 0 : std::max<int64_t>(v.back(), 0); }

}  // namespace

HostData seq_tensor(DType dtype, const std::vector<int64_t>& cumulative) {
  return encode_values(dtype, {static_cast<int64_t>(cumulative.size())},
                       std::vector<double>(cumulative.begin(), cumulative.end()));
}

RingAttentionUpdateDescs RauCase::descs() const {
  RingAttentionUpdateDescs d{prev_out.desc, prev_max.desc, prev_sum.desc, cur_out.desc,
                             cur_max.desc,  cur_sum.desc,  std::nullopt};
  if (actual_seq_qlen) d.actual_seq_qlen = actual_seq_qlen->desc;
  return d;
}

reference::RingAttentionUpdateRefInputs RauCase::ref_inputs() const {
  reference::RingAttentionUpdateRefInputs r{to_host_tensor(prev_out),
                                            to_host_tensor(prev_max),
                                            to_host_tensor(prev_sum),
                                            to_host_tensor(cur_out),
                                            to_host_tensor(cur_max),
                                            to_host_tensor(cur_sum),
                                            {}};
  if (actual_seq_qlen) {
    for (double v : decode_values(*actual_seq_qlen)) r.actual_seq_qlen.push_back(static_cast<int64_t>(v));
  }
  return r;
}

std::vector<NamedInput> RauCase::named_inputs() const {
  std::vector<NamedInput> v{{"prev_attn_out", prev_out}, {"prev_softmax_max", prev_max}, {"prev_softmax_sum", prev_sum},
                            {"cur_attn_out", cur_out},   {"cur_softmax_max", cur_max},   {"cur_softmax_sum", cur_sum}};
  if (actual_seq_qlen) v.push_back({"actual_seq_qlen", *actual_seq_qlen});
  return v;
}

NsaSelectedAttentionDescs NsaCase::descs() const {
  NsaSelectedAttentionDescs d{query.desc, key.desc, value.desc, topk_indices.desc, std::nullopt};
  if (atten_mask) d.atten_mask = atten_mask->desc;
  return d;
}

reference::NsaSelectedAttentionRefInputs NsaCase::ref_inputs() const {
  reference::NsaSelectedAttentionRefInputs r{to_host_tensor(query), to_host_tensor(key), to_host_tensor(value),
                                             to_host_tensor(topk_indices), std::nullopt};
  if (atten_mask) r.atten_mask = to_host_tensor(*atten_mask);
  return r;
}

std::vector<NamedInput> NsaCase::named_inputs() const {
  std::vector<NamedInput> v{{"query", query}, {"key", key}, {"value", value}, {"topk_indices", topk_indices}};
  if (atten_mask) v.push_back({"atten_mask", *atten_mask});
  return v;
}

RauCase describe_case(const RauProblem& p) {
  RauCase c;
  c.attrs.input_layout = p.layout;
  c.attrs.softmax_layout = p.softmax_layout;
  c.invalid = p.invalid;
  c.invalid_frac = p.invalid_frac;
  const int64_t cur_d = p.cur_d.value_or(p.d);
  std::vector<int64_t> out_shape, cur_shape, stat_shape;
  if (p.tnd()) {
    c.cum_seq = p.cum_seq();
    const int64_t t = last(c.cum_seq);
    out_shape = {t, p.n, p.d};
    cur_shape = {t, p.n, cur_d};
    stat_shape = {t, p.n, p.lanes};
    if (p.seq_tensor) c.actual_seq_qlen = HostData{TensorDesc{p.seq_dt, {static_cast<int64_t>(c.cum_seq.size())}}, {}};
  } else {
    out_shape = {p.s, p.b, checked_mul(p.n, p.d, "H = N·D")};
    cur_shape = {p.s, p.b, checked_mul(p.n, cur_d, "cur_attn_out: H = N·D")};
    stat_shape = {p.b, p.n, p.s, p.lanes};
  }
  c.prev_out.desc = TensorDesc{p.dtype, out_shape};
  c.cur_out.desc = TensorDesc{p.cur_dt.value_or(p.dtype), cur_shape};
  for (HostData* h : {&c.prev_max, &c.prev_sum, &c.cur_max, &c.cur_sum}) h->desc = TensorDesc{p.stat_dt, stat_shape};
  check_descs(
      {{"prev_attn_out", &c.prev_out.desc}, {"cur_attn_out", &c.cur_out.desc}, {"softmax_max", &c.prev_max.desc}});
  return c;
}

void generate_inputs(RauCase& c, uint64_t seed) {
  // Streams 1-6: the six tensors; 7: the choice of invalid rows.
  std::mt19937_64 rng[] = {stream(seed, 1), stream(seed, 2), stream(seed, 3),
                           stream(seed, 4), stream(seed, 5), stream(seed, 6)};
  std::mt19937_64 pick = stream(seed, 7);
  const TensorDesc& sd = c.prev_max.desc;
  const int64_t lanes = sd.shape.empty() ? 1 : sd.shape.back();
  const int64_t rows = lanes > 0 ? sd.numel() / lanes : 0;
  auto stats = [&](std::mt19937_64& r, double lo, double hi) {
    std::vector<double> v(static_cast<std::size_t>(std::max<int64_t>(sd.numel(), 0)));
    for (int64_t row = 0; row < rows; ++row) {
      double x = uniform(r, lo, hi);
      for (int64_t l = 0; l < lanes; ++l) v[static_cast<std::size_t>(row * lanes + l)] = x;
    }
    return v;
  };
  std::vector<double> out[2] = {decode_values(random_tensor(c.prev_out.desc, rng[0], -1.0, 1.0)),
                                decode_values(random_tensor(c.cur_out.desc, rng[3], -0.9, 1.0))};
  std::vector<double> mx[2] = {stats(rng[1], -4, 4), stats(rng[4], -4, 4)};
  std::vector<double> sm[2] = {stats(rng[2], 1, 64), stats(rng[5], 1, 64)};

  // Invalid rows: a row is (token, batch, head); its attn elements and its softmax lanes are located per layout.
  if (c.invalid != "none" && rows > 0) {
    const bool tnd = c.attrs.input_layout == "TND";
    const auto& os = c.prev_out.desc.shape;
    const int64_t n = tnd ? os[1] : (sd.shape.size() > 1 ? sd.shape[1] : 1);
    const int64_t d = tnd ? os[2] : (n > 0 ? os[2] / n : 0);
    const int64_t batches = tnd ? static_cast<int64_t>(c.cum_seq.size()) - 1 : os[1];
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t start = tnd ? c.cum_seq[b] : 0, len = tnd ? c.cum_seq[b + 1] - start : os[0];
      for (int64_t s = 0; s < len; ++s) {
        for (int64_t h = 0; h < n; ++h) {
          if (uniform(pick, 0, 1) >= c.invalid_frac) continue;
          const int64_t t = start + s;
          int64_t attn = tnd ? (t * n + h) * d : s * (batches * n * d) + (b * n + h) * d;
          int64_t stat = !tnd                                        ? ((b * n + h) * len + s) * lanes
                         : c.attrs.softmax_layout == "TND" || n == 1 ? (t * n + h) * lanes
                                                                     : (start * n + h * len + s) * lanes;
          for (int side = 0; side < 2; ++side) {
            if (c.invalid != "both" && c.invalid != (side == 0 ? "prev" : "cur")) continue;
            for (int64_t i = 0; i < d; ++i) out[side][static_cast<std::size_t>(attn + i)] = 0;
            for (int64_t l = 0; l < lanes; ++l) {
              mx[side][static_cast<std::size_t>(stat + l)] = -FLT_MAX;
              sm[side][static_cast<std::size_t>(stat + l)] = FLT_MAX;
            }
          }
        }
      }
    }
  }
  c.prev_out = encode_values(c.prev_out.desc.dtype, c.prev_out.desc.shape, out[0]);
  c.cur_out = encode_values(c.cur_out.desc.dtype, c.cur_out.desc.shape, out[1]);
  c.prev_max = encode_values(sd.dtype, sd.shape, mx[0]);
  c.prev_sum = encode_values(sd.dtype, sd.shape, sm[0]);
  c.cur_max = encode_values(sd.dtype, sd.shape, mx[1]);
  c.cur_sum = encode_values(sd.dtype, sd.shape, sm[1]);
  if (c.actual_seq_qlen) c.actual_seq_qlen = seq_tensor(c.actual_seq_qlen->desc.dtype, c.cum_seq);
}

NsaCase describe_case(const NsaProblem& p) {
  NsaCase c;
  NsaSelectedAttentionAttrs& a = c.attrs;
  a.scale_value = p.effective_scale();
  a.head_num = p.head_num.value_or(p.n1);
  a.input_layout = p.layout;
  a.sparse_mode = p.sparse_mode();
  a.select_block_size = p.bs;
  a.select_block_count = p.count;
  a.actual_seq_qlen = p.cum_seq_q();
  a.actual_seq_kvlen = p.cum_seq_kv();
  c.idx = p.idx;
  const int64_t t1 = last(a.actual_seq_qlen), t2 = last(a.actual_seq_kvlen);
  c.query.desc = TensorDesc{p.dtype, {t1, p.n1, p.dk}};
  c.key.desc = TensorDesc{p.dtype, {t2, p.n2, p.dk}};
  c.value.desc = TensorDesc{p.dtype, {t2, p.n2, p.dv}};
  c.topk_indices.desc = TensorDesc{DType::kInt32, {t1, p.n2, p.count}};
  const std::string mask = p.mask_kind();
  if (mask == "comp") c.atten_mask = HostData{TensorDesc{DType::kUInt8, {2048, 2048}}, {}};
  if (mask == "ss")
    c.atten_mask = HostData{TensorDesc{DType::kUInt8, {std::max<int64_t>(t1, 0), std::max<int64_t>(t2, 0)}}, {}};
  check_descs({{"query", &c.query.desc},
               {"key", &c.key.desc},
               {"value", &c.value.desc},
               {"topk_indices", &c.topk_indices.desc},
               {"atten_mask", c.atten_mask ? &c.atten_mask->desc : nullptr}});
  return c;
}

void generate_inputs(NsaCase& c, uint64_t seed) {
  std::mt19937_64 q_rng = stream(seed, 1), k_rng = stream(seed, 2), v_rng = stream(seed, 3), i_rng = stream(seed, 4);
  c.query = random_tensor(c.query.desc, q_rng, -1.0, 1.0);
  c.key = random_tensor(c.key.desc, k_rng, -0.9, 1.0);
  c.value = random_tensor(c.value.desc, v_rng, -1.0, 0.8);
  const auto& sh = c.topk_indices.desc.shape;
  const int64_t n2 = sh[1], count = sh[2], bs = std::max<int64_t>(c.attrs.select_block_size, 1);
  std::vector<double> idx(static_cast<std::size_t>(std::max<int64_t>(c.topk_indices.desc.numel(), 0)));
  const auto& q_ends = c.attrs.actual_seq_qlen;
  const auto& kv_ends = c.attrs.actual_seq_kvlen;
  auto below = [&](int64_t n) { return n > 0 ? static_cast<int64_t>(i_rng() % static_cast<uint64_t>(n)) : 0; };
  int64_t q_start = 0, kv_start = 0;
  for (std::size_t b = 0; b < q_ends.size(); ++b) {
    const int64_t kv_len = b < kv_ends.size() ? kv_ends[b] - kv_start : 0;
    const int64_t blocks = std::max<int64_t>(kv_len / bs, 1);
    for (int64_t t = q_start; t < q_ends[b] && t < sh[0]; ++t) {
      for (int64_t h = 0; h < n2; ++h) {
        std::vector<int64_t> all(static_cast<std::size_t>(blocks));
        std::iota(all.begin(), all.end(), 0);
        std::vector<int64_t> pick;
        if (c.idx == "repeat" || count > blocks) {
          for (int64_t k = 0; k < count; ++k) pick.push_back(below(blocks));
          if (count > 1) pick[1] = pick[0];  // at least one repeat
        } else {
          for (int64_t k = 0; k < count; ++k) std::swap(all[k], all[k + below(blocks - k)]);  // partial shuffle
          pick.assign(all.begin(), all.begin() + count);
          if (c.idx == "sorted") std::sort(pick.begin(), pick.end());
          if (c.idx == "diag") {
            const int64_t diag = std::min((t - q_start) / bs, blocks - 1);
            auto it = std::find(pick.begin(), pick.end(), diag);
            if (it != pick.end())
              std::swap(*it, pick[0]);
            else
              pick[0] = diag;
          }
        }
        if (c.idx == "oob") pick[static_cast<std::size_t>(below(count))] = kv_len / bs + (t % 2 ? 0 : 7);
        for (int64_t k = 0; k < count; ++k) idx[static_cast<std::size_t>((t * n2 + h) * count + k)] = pick[k];
      }
    }
    q_start = std::max(q_start, q_ends[b]);
    kv_start = std::max(kv_start, b < kv_ends.size() ? kv_ends[b] : kv_start);
  }
  c.topk_indices = encode_values(DType::kInt32, sh, idx);
  if (c.atten_mask) {
    const auto& ms = c.atten_mask->desc.shape;
    std::vector<double> m(static_cast<std::size_t>(c.atten_mask->desc.numel()));
    for (int64_t i = 0; i < ms[0]; ++i)
      for (int64_t j = 0; j < ms[1]; ++j) m[static_cast<std::size_t>(i * ms[1] + j)] = j > i ? 1 : 0;
    c.atten_mask = encode_values(c.atten_mask->desc.dtype, ms, m);
  }
}

}  // namespace cannon::tools

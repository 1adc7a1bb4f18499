// Shapes and random inputs of NsaSelectedAttention cases (docs/nsa_selected_attention.md). Every tensor draws from its
// own stream and range, so swapped operands show.
#include "tools/drivers/nsa/nsa_case.hpp"

#include <algorithm>
#include <numeric>
#include <random>

#include "tools/harness/random.hpp"

namespace cannon::tools {
namespace {

int64_t last(const std::vector<int64_t>& v) { return v.empty() ? 0 : std::max<int64_t>(v.back(), 0); }

}  // namespace

NsaCase describe_case(const NsaProblem& p) {
  NsaCase c;
  NsaSelectedAttentionAttrs& a = c.attrs;
  copy_attrs(nsa_attr_table(), p, a);
  a.scale_value = p.effective_scale();
  a.head_num = p.head_num.value_or(p.n1);
  a.sparse_mode = p.sparse_mode();
  a.select_block_size = p.bs;
  a.select_block_count = p.count;
  a.actual_seq_qlen = p.cum_seq_q();
  a.actual_seq_kvlen = p.cum_seq_kv();
  c.idx = p.idx;
  const int64_t t1 = last(a.actual_seq_qlen), t2 = last(a.actual_seq_kvlen);
  c.inputs.query.desc = TensorDesc{p.dtype, {t1, p.n1, p.dk}};
  c.inputs.key.desc = TensorDesc{p.dtype, {t2, p.n2, p.dk}};
  c.inputs.value.desc = TensorDesc{p.dtype, {t2, p.n2, p.dv}};
  c.inputs.topk_indices.desc = TensorDesc{DType::kInt32, {t1, p.n2, p.count}};
  const std::string mask = p.mask_kind();
  if (mask == "comp") c.inputs.atten_mask = HostData{TensorDesc{DType::kUInt8, {2048, 2048}}, {}};
  if (mask == "ss")
    c.inputs.atten_mask = HostData{TensorDesc{DType::kUInt8, {std::max<int64_t>(t1, 0), std::max<int64_t>(t2, 0)}}, {}};
  check_descs({{"query", &c.inputs.query.desc},
               {"key", &c.inputs.key.desc},
               {"value", &c.inputs.value.desc},
               {"topk_indices", &c.inputs.topk_indices.desc},
               {"atten_mask", c.inputs.atten_mask ? &c.inputs.atten_mask->desc : nullptr}});
  return c;
}

void generate_inputs(NsaCase& c, uint64_t seed) {
  std::mt19937_64 q_rng = seeded_stream(seed, 1), k_rng = seeded_stream(seed, 2), v_rng = seeded_stream(seed, 3);
  std::mt19937_64 i_rng = seeded_stream(seed, 4);
  c.inputs.query = random_tensor(c.inputs.query.desc, q_rng, -1.0, 1.0);
  c.inputs.key = random_tensor(c.inputs.key.desc, k_rng, -0.9, 1.0);
  c.inputs.value = random_tensor(c.inputs.value.desc, v_rng, -1.0, 0.8);
  const auto& sh = c.inputs.topk_indices.desc.shape;
  const int64_t n2 = sh[1], count = sh[2], bs = std::max<int64_t>(c.attrs.select_block_size, 1);
  std::vector<double> idx(static_cast<std::size_t>(std::max<int64_t>(c.inputs.topk_indices.desc.numel(), 0)));
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
  c.inputs.topk_indices = encode_values(DType::kInt32, sh, idx);
  if (c.inputs.atten_mask) {
    const auto& ms = c.inputs.atten_mask->desc.shape;
    std::vector<double> m(static_cast<std::size_t>(c.inputs.atten_mask->desc.numel()));
    for (int64_t i = 0; i < ms[0]; ++i)
      for (int64_t j = 0; j < ms[1]; ++j) m[static_cast<std::size_t>(i * ms[1] + j)] = j > i ? 1 : 0;
    c.inputs.atten_mask = encode_values(c.inputs.atten_mask->desc.dtype, ms, m);
  }
}

}  // namespace cannon::tools

// The NsaSelectedAttention reference against a brute force that states the rule differently: it builds, per
// query token and head, the explicit list of gathered key rows and a dense visibility mask over the batch's keys
// (visible iff local key <= local query), and runs textbook softmax attention over that list. Plus the
// properties the semantics imply: repeats count twice, order does not matter, a fully masked row averages.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "host/reference/nsa_selected_attention_ref.hpp"

namespace cannon::reference {
namespace {

struct Problem {
  std::vector<int64_t> q_lens, kv_lens;
  int64_t n1 = 4, n2 = 2, dk = 8, dv = 4, bs = 4, count = 3;
  bool causal = false;
};

NsaSelectedAttentionRefInputs make_inputs(const Problem& p, NsaSelectedAttentionAttrs& a, std::mt19937_64& rng) {
  int64_t t1 = 0, t2 = 0;
  a = {};
  for (std::size_t b = 0; b < p.q_lens.size(); ++b) {
    a.actual_seq_qlen.push_back(t1 += p.q_lens[b]);
    a.actual_seq_kvlen.push_back(t2 += p.kv_lens[b]);
  }
  a.scale_value = 0.4;
  a.head_num = p.n1;
  a.sparse_mode = p.causal ? 2 : 0;
  a.select_block_size = p.bs;
  a.select_block_count = p.count;
  std::uniform_real_distribution<double> uni(-2, 2);
  auto rnd = [&](std::vector<int64_t> shape) {
    HostTensor h{DType::kFloat32, shape, {}};
    h.values.resize(static_cast<std::size_t>(h.numel()));
    for (double& x : h.values) x = uni(rng);
    return h;
  };
  NsaSelectedAttentionRefInputs in{rnd({t1, p.n1, p.dk}),
                                   rnd({t2, p.n2, p.dk}),
                                   rnd({t2, p.n2, p.dv}),
                                   {DType::kInt32, {t1, p.n2, p.count}, {}},
                                   std::nullopt};
  for (std::size_t b = 0; b < p.q_lens.size(); ++b)
    for (int64_t t = 0; t < p.q_lens[b] * p.n2 * p.count; ++t)
      in.topk_indices.values.push_back(static_cast<double>(rng() % static_cast<uint64_t>(p.kv_lens[b] / p.bs)));
  if (p.causal) in.atten_mask = HostTensor{DType::kBool, {4, 4}, std::vector<double>(16, 1.0)};
  return in;
}

// Textbook attention over an explicit key list with a dense mask of the batch's keys.
NsaSelectedAttentionRefOutputs brute_force(const NsaSelectedAttentionRefInputs& in, const Problem& p,
                                           const NsaSelectedAttentionAttrs& a) {
  const int64_t t1 = in.query.shape[0], g = p.n1 / p.n2;
  NsaSelectedAttentionRefOutputs o{{DType::kFloat32, {t1, p.n1, p.dv}, std::vector<double>(t1 * p.n1 * p.dv)},
                                   {DType::kFloat32, {t1, p.n1, 8}, std::vector<double>(t1 * p.n1 * 8)},
                                   {DType::kFloat32, {t1, p.n1, 8}, std::vector<double>(t1 * p.n1 * 8)}};
  int64_t q0 = 0, k0 = 0;
  for (std::size_t b = 0; b < p.q_lens.size(); ++b) {
    for (int64_t i = 0; i < p.q_lens[b]; ++i) {
      std::vector<bool> visible(static_cast<std::size_t>(p.kv_lens[b]));
      for (int64_t j = 0; j < p.kv_lens[b]; ++j) visible[j] = !p.causal || j <= i;
      const int64_t t = q0 + i;
      for (int64_t h1 = 0; h1 < p.n1; ++h1) {
        const int64_t h2 = h1 / g;
        std::vector<int64_t> keys;
        for (int64_t c = 0; c < p.count; ++c) {
          const auto idx = static_cast<int64_t>(in.topk_indices.values[(t * p.n2 + h2) * p.count + c]);
          for (int64_t r = 0; r < p.bs; ++r) keys.push_back(idx * p.bs + r);
        }
        std::vector<double> s;
        for (int64_t j : keys) {
          double dot = 0;
          for (int64_t d = 0; d < p.dk; ++d)
            dot += in.query.values[(t * p.n1 + h1) * p.dk + d] * in.key.values[((k0 + j) * p.n2 + h2) * p.dk + d];
          s.push_back(visible[j] ? dot * a.scale_value
                                 : static_cast<float>(-FLT_MAX * static_cast<float>(a.scale_value)));
        }
        double m = -DBL_MAX, l = 0;
        for (double x : s) m = std::max(m, x);
        for (double x : s) l += std::exp(x - m);
        for (std::size_t j = 0; j < keys.size(); ++j)
          for (int64_t d = 0; d < p.dv; ++d)
            o.attention_out.values[(t * p.n1 + h1) * p.dv + d] +=
                std::exp(s[j] - m) / l * in.value.values[((k0 + keys[j]) * p.n2 + h2) * p.dv + d];
        for (int e = 0; e < 8; ++e) {
          o.softmax_max.values[(t * p.n1 + h1) * 8 + e] = m;
          o.softmax_sum.values[(t * p.n1 + h1) * 8 + e] = l;
        }
      }
    }
    q0 += p.q_lens[b];
    k0 += p.kv_lens[b];
  }
  return o;
}

void expect_near_all(const std::vector<double>& a, const std::vector<double>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::fabs(b[i]))) << what << " " << i;
}

TEST(NsaRef, MatchesBruteForce) {
  std::mt19937_64 rng(5);
  for (bool causal : {false, true}) {
    for (const Problem& base : {Problem{{9}, {16}}, Problem{{6, 1, 13}, {12, 16, 20}}}) {
      Problem p = base;
      p.causal = causal;
      NsaSelectedAttentionAttrs a;
      const auto in = make_inputs(p, a, rng);
      const auto ref = nsa_selected_attention(in, a);
      const auto bf = brute_force(in, p, a);
      expect_near_all(ref.attention_out.values, bf.attention_out.values, 1e-12, "out");
      expect_near_all(ref.softmax_max.values, bf.softmax_max.values, 1e-12, "max");
      expect_near_all(ref.softmax_sum.values, bf.softmax_sum.values, 1e-12, "sum");
    }
  }
}

// Repeats are not deduplicated: [i, i] has the softmax of block i with every exp counted twice (same out,
// double sum); permuting the slots changes nothing.
TEST(NsaRef, RepeatedAndUnorderedIndices) {
  std::mt19937_64 rng(9);
  Problem p{{5}, {16}};
  p.count = 2;
  NsaSelectedAttentionAttrs a;
  auto in = make_inputs(p, a, rng);
  for (std::size_t i = 0; i < in.topk_indices.values.size(); i += 2)
    in.topk_indices.values[i + 1] = in.topk_indices.values[i];
  const auto twice = nsa_selected_attention(in, a);
  Problem p1 = p;
  p1.count = 1;
  NsaSelectedAttentionAttrs a1 = a;
  a1.select_block_count = 1;
  auto in1 = in;
  in1.topk_indices = {DType::kInt32, {5, 2, 1}, {}};
  for (std::size_t i = 0; i < in.topk_indices.values.size(); i += 2)
    in1.topk_indices.values.push_back(in.topk_indices.values[i]);
  const auto once = nsa_selected_attention(in1, a1);
  expect_near_all(twice.attention_out.values, once.attention_out.values, 1e-12, "out");
  for (std::size_t i = 0; i < once.softmax_sum.values.size(); ++i)
    EXPECT_NEAR(twice.softmax_sum.values[i], 2 * once.softmax_sum.values[i], 1e-12);

  Problem p3{{5}, {16}};
  auto in3 = make_inputs(p3, a, rng);
  const auto before = nsa_selected_attention(in3, a);
  for (std::size_t i = 0; i < in3.topk_indices.values.size(); i += 3)
    std::swap(in3.topk_indices.values[i], in3.topk_indices.values[i + 2]);
  expect_near_all(nsa_selected_attention(in3, a).attention_out.values, before.attention_out.values, 1e-12, "out");
}

// The diagonal block: s1 = 5, bs = 4 → diag 1: block 0 visible, keys 4, 5 of block 1 visible, 6, 7 masked,
// block 2 fully masked. A row whose selection is all in the future averages V uniformly (max -FLT_MAX·scale).
TEST(NsaRef, CausalDiagonalBlockAndFullyMaskedRow) {
  std::mt19937_64 rng(3);
  Problem p{{6}, {12}};
  p.n1 = p.n2 = 1;
  p.causal = true;
  NsaSelectedAttentionAttrs a;
  auto in = make_inputs(p, a, rng);
  for (double& x : in.topk_indices.values) x = 2;  // every row: blocks 2, 2, 2
  in.topk_indices.values[5 * 3 + 0] = 1;           // row 5: block 1 (diag), then 2, 2
  const auto out = nsa_selected_attention(in, a);
  // Row 0: keys 8..11 all in the future; the fill is -FLT_MAX times scale 0.4 in fp32.
  EXPECT_EQ(out.softmax_max.values[0], static_cast<double>(-FLT_MAX * 0.4f));
  EXPECT_EQ(out.softmax_sum.values[0], 12.0);
  for (int64_t d = 0; d < p.dv; ++d) {
    double mean = 0;
    for (int64_t r = 8; r < 12; ++r) mean += in.value.values[r * p.dv + d] / 4;
    EXPECT_NEAR(out.attention_out.values[d], mean, 1e-12);
  }
  // Row 5 sees keys 4 and 5 only.
  double s[2], m, l = 0;
  for (int j = 0; j < 2; ++j) {
    s[j] = 0;
    for (int64_t d = 0; d < p.dk; ++d) s[j] += in.query.values[5 * p.dk + d] * in.key.values[(4 + j) * p.dk + d];
    s[j] *= a.scale_value;
  }
  m = std::max(s[0], s[1]);
  for (double x : s) l += std::exp(x - m);
  EXPECT_NEAR(out.softmax_max.values[5 * 8], m, 1e-12);
  EXPECT_NEAR(out.softmax_sum.values[5 * 8], l, 1e-12);
  for (int64_t d = 0; d < p.dv; ++d) {
    const double o =
        (std::exp(s[0] - m) * in.value.values[4 * p.dv + d] + std::exp(s[1] - m) * in.value.values[5 * p.dv + d]) / l;
    EXPECT_NEAR(out.attention_out.values[5 * p.dv + d], o, 1e-12);
  }
}

}  // namespace
}  // namespace cannon::reference

// Brute-force checks of the reference's pse (docs/flash_attention_score.md, "pse (position encoding)"). Each case
// first writes down the full pse it means, P[b][n][i][j], then packs it into the form under test (BNSS, 1NSS,
// BN1S, 1N1S, TND packed, ALiBi-compressed the way Huawei's golden generate_pse does it, or slopes); the brute
// force reads P, never the packed tensor, so the reference's index arithmetic is checked against a plain table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref.hpp"

namespace cannon::reference {
namespace {

using PseFn = std::function<double(int64_t b, int64_t n, int64_t i, int64_t j)>;
using VisibleFn = std::function<bool(int64_t b, int64_t i, int64_t j)>;

struct Case {
  std::string layout = "BNSD";  // or "TND" (softmax_layout "TND")
  std::vector<int64_t> s1, s2;  // per batch; BNSD uses s1[0], s2[0] for every batch
  int64_t n1 = 2, n2 = 1, dk = 4, dv = 3;
  int64_t batch() const { return static_cast<int64_t>(s1.size()); }
  bool tnd() const { return layout == "TND"; }
};

std::vector<int64_t> starts(const std::vector<int64_t>& len) {
  std::vector<int64_t> s(len.size() + 1, 0);
  for (size_t b = 0; b < len.size(); ++b) s[b + 1] = s[b] + len[b];
  return s;
}
int64_t max_of(const std::vector<int64_t>& v) { return *std::max_element(v.begin(), v.end()); }

HostTensor random_tensor(std::vector<int64_t> shape, std::mt19937& gen) {
  HostTensor t{DType::kFloat32, std::move(shape), {}};
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  t.values.resize(t.numel());
  for (double& x : t.values) x = static_cast<float>(dist(gen));
  return t;
}

struct Problem {
  FlashAttentionScoreRefInputs in;
  FlashAttentionScoreAttrs attrs;
};

// Random q, k, v; with `causal_mode` >= 0 an all-zero [maxS1, maxS2] atten_mask and that sparse_mode.
Problem build(const Case& c, unsigned seed, int64_t causal_mode = -1) {
  std::mt19937 gen(seed);
  Problem p;
  const int64_t b = c.batch();
  if (c.tnd()) {
    const std::vector<int64_t> qs = starts(c.s1), ks = starts(c.s2);
    p.in.query = random_tensor({qs.back(), c.n1, c.dk}, gen);
    p.in.key = random_tensor({ks.back(), c.n2, c.dk}, gen);
    p.in.value = random_tensor({ks.back(), c.n2, c.dv}, gen);
    p.attrs.actual_seq_qlen.assign(qs.begin() + 1, qs.end());
    p.attrs.actual_seq_kvlen.assign(ks.begin() + 1, ks.end());
    p.attrs.softmax_layout = "TND";
  } else {
    p.in.query = random_tensor({b, c.n1, c.s1[0], c.dk}, gen);
    p.in.key = random_tensor({b, c.n2, c.s2[0], c.dk}, gen);
    p.in.value = random_tensor({b, c.n2, c.s2[0], c.dv}, gen);
  }
  p.attrs.input_layout = c.layout;
  p.attrs.head_num = c.n1;
  p.attrs.scale = 0.6;
  if (causal_mode >= 0) {
    p.in.atten_mask = HostTensor{DType::kUInt8, {max_of(c.s1), max_of(c.s2)}, {}};
    p.in.atten_mask->values.assign(p.in.atten_mask->numel(), 0.0);
    p.attrs.sparse_mode = causal_mode;
    if (causal_mode == 0) p.attrs.next_tokens = 0;
  }
  return p;
}

// Softmax and P·V straight from the definition, with the score of pse_type 1 or of 0/2/3.
FlashAttentionScoreRefOutputs brute(const Problem& p, const Case& c, const PseFn& pse, const VisibleFn& visible) {
  const bool tnd = c.tnd(), first = p.attrs.pse_type == 1;
  const double scale = p.attrs.scale;
  const std::vector<int64_t> qs = starts(c.s1), ks = starts(c.s2);
  const int64_t rows = tnd ? qs.back() : c.batch() * c.s1[0];
  FlashAttentionScoreRefOutputs r;
  r.attention_out.values.assign(rows * c.n1 * c.dv, 0.0);
  r.softmax_max.values.assign(rows * c.n1 * 8, 0.0);
  r.softmax_sum = r.softmax_max;
  for (int64_t b = 0; b < c.batch(); ++b)
    for (int64_t n = 0; n < c.n1; ++n)
      for (int64_t i = 0; i < c.s1[b]; ++i) {
        const int64_t n2 = n / (c.n1 / c.n2);
        const int64_t q = tnd ? (qs[b] + i) * c.n1 + n : (b * c.n1 + n) * c.s1[0] + i;
        auto kv = [&](int64_t j) { return tnd ? (ks[b] + j) * c.n2 + n2 : (b * c.n2 + n2) * c.s2[0] + j; };
        std::vector<double> s;
        std::vector<int64_t> cols;
        for (int64_t j = 0; j < c.s2[b]; ++j) {
          if (!visible(b, i, j)) continue;
          double dot = 0;
          for (int64_t d = 0; d < c.dk; ++d) dot += p.in.query.values[q * c.dk + d] * p.in.key.values[kv(j) * c.dk + d];
          s.push_back(first ? (dot + pse(b, n, i, j)) * scale : dot * scale + pse(b, n, i, j));
          cols.push_back(j);
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double l = 0;
        for (double x : s) l += std::exp(x - mx);
        for (int64_t d = 0; d < c.dv; ++d) {
          double acc = 0;
          for (size_t k = 0; k < s.size(); ++k) acc += std::exp(s[k] - mx) * p.in.value.values[kv(cols[k]) * c.dv + d];
          r.attention_out.values[q * c.dv + d] = acc / l;
        }
        std::fill_n(r.softmax_max.values.begin() + q * 8, 8, mx);
        std::fill_n(r.softmax_sum.values.begin() + q * 8, 8, l);
      }
  return r;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t e = 0; e < got.size(); ++e)
    ASSERT_NEAR(got[e], want[e], 1e-11 * std::max(1.0, std::abs(want[e]))) << what << " element " << e;
}

void check(const Problem& p, const Case& c, const PseFn& pse, const VisibleFn& visible = nullptr) {
  const VisibleFn all = [](int64_t, int64_t, int64_t) { return true; };
  const FlashAttentionScoreRefOutputs got = flash_attention_score(p.in, p.attrs);
  const FlashAttentionScoreRefOutputs want = brute(p, c, pse, visible ? visible : all);
  expect_close(got.attention_out.values, want.attention_out.values, "attention_out");
  expect_close(got.softmax_max.values, want.softmax_max.values, "softmax_max");
  expect_close(got.softmax_sum.values, want.softmax_sum.values, "softmax_sum");
}

// A random full pse table [B][N1][maxS1][maxS2]; `rows_equal` repeats row 0, `batch_shared` batch 0.
struct Table {
  int64_t n1, m1, m2;
  std::vector<double> v;
  double at(int64_t b, int64_t n, int64_t i, int64_t j) const { return v[((b * n1 + n) * m1 + i) * m2 + j]; }
};
Table random_table(const Case& c, bool rows_equal, bool batch_shared, std::mt19937& gen) {
  Table t{c.n1, max_of(c.s1), max_of(c.s2), {}};
  std::uniform_real_distribution<double> dist(-2.0, 2.0);
  t.v.resize(c.batch() * t.n1 * t.m1 * t.m2);
  for (int64_t b = 0; b < c.batch(); ++b)
    for (int64_t n = 0; n < c.n1; ++n)
      for (int64_t i = 0; i < t.m1; ++i)
        for (int64_t j = 0; j < t.m2; ++j)
          t.v[((b * t.n1 + n) * t.m1 + i) * t.m2 + j] = (rows_equal && i > 0) || (batch_shared && b > 0)
                                                            ? t.at(batch_shared ? 0 : b, n, rows_equal ? 0 : i, j)
                                                            : static_cast<float>(dist(gen));
  return t;
}

// The dense pse tensor [dim0, N1, rows, S2] holding the table's first `rows` rows of batches 0..dim0-1.
HostTensor dense_pse(const Table& t, int64_t dim0, int64_t rows) {
  HostTensor h{DType::kFloat32, {dim0, t.n1, rows, t.m2}, {}};
  for (int64_t b = 0; b < dim0; ++b)
    for (int64_t n = 0; n < t.n1; ++n)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < t.m2; ++j) h.values.push_back(t.at(b, n, i, j));
  return h;
}

TEST(FaRefPse, DenseFormsMatchTheirFullTable) {
  unsigned seed = 10;
  for (int64_t type : {0, 1})
    for (auto [s1, s2] : std::vector<std::pair<int64_t, int64_t>>{{5, 7}, {6, 6}, {7, 3}})
      for (int form = 0; form < 4; ++form) {  // BNSS, 1NSS, BN1S, 1N1S
        SCOPED_TRACE("type " + std::to_string(type) + " S1 " + std::to_string(s1) + " form " + std::to_string(form));
        const Case c{"BNSD", {s1, s1, s1}, {s2, s2, s2}};
        std::mt19937 gen(++seed);
        const bool rows_equal = form >= 2, shared = form % 2 == 1;
        const Table t = random_table(c, rows_equal, shared, gen);
        Problem p = build(c, ++seed);
        p.attrs.pse_type = type;
        p.in.pse = dense_pse(t, shared ? 1 : c.batch(), rows_equal ? 1 : s1);
        check(p, c, [&](int64_t b, int64_t n, int64_t i, int64_t j) { return t.at(b, n, i, j); });
      }
}

TEST(FaRefPse, TypeOneAndZeroDifferOnlyInWhereTheScaleApplies) {
  const Case c{"BNSD", {6, 6}, {5, 5}};
  std::mt19937 gen(7);
  const Table t = random_table(c, false, false, gen);
  Problem one = build(c, 8), zero = one;
  one.attrs.scale = zero.attrs.scale = 0.5;  // a power of two: (qk + P)·0.5 == qk·0.5 + P·0.5 exactly
  one.attrs.pse_type = 1;
  zero.attrs.pse_type = 0;
  one.in.pse = zero.in.pse = dense_pse(t, 2, 6);
  for (double& x : zero.in.pse->values) x *= 0.5;
  EXPECT_EQ(flash_attention_score(one.in, one.attrs).attention_out.values,
            flash_attention_score(zero.in, zero.attrs).attention_out.values);
  zero.in.pse = one.in.pse;  // the same pse under both types gives different results
  EXPECT_NE(flash_attention_score(one.in, one.attrs).softmax_max.values,
            flash_attention_score(zero.in, zero.attrs).softmax_max.values);
}

TEST(FaRefPse, TndPackedFormsReadEachBatchBlock) {
  unsigned seed = 40;
  for (bool rows_form : {false, true}) {
    SCOPED_TRACE(rows_form ? "BN1S packed" : "BNSS packed");
    const Case c{"TND", {3, 5, 1, 4}, {4, 2, 6, 4}};
    std::mt19937 gen(++seed);
    const Table t = random_table(c, rows_form, false, gen);
    Problem p = build(c, ++seed);
    p.attrs.pse_type = 0;
    HostTensor h{DType::kFloat32, {0}, {}};
    for (int64_t b = 0; b < c.batch(); ++b)
      for (int64_t n = 0; n < c.n1; ++n)
        for (int64_t i = 0; i < (rows_form ? 1 : c.s1[b]); ++i)
          for (int64_t j = 0; j < c.s2[b]; ++j) h.values.push_back(t.at(b, n, i, j));
    h.shape = {static_cast<int64_t>(h.values.size())};
    p.in.pse = h;
    check(p, c, [&](int64_t b, int64_t n, int64_t i, int64_t j) { return t.at(b, n, i, j); });
  }
}

// Huawei's golden ALiBi (generate_pse "bnhs"/"1nhs"): slope 1/((b+1)(n+1)) (1/(n+1) when shared), full pse
// P[r][c] = slope·−|r − c − (rows − S2)|, and the NPU gets its last 1024 rows.
double golden_slope(int64_t b, int64_t n) { return 1.0 / static_cast<double>((b + 1) * (n + 1)); }
HostTensor compressed_pse(int64_t dim0, int64_t n1, int64_t rows, int64_t s2) {
  HostTensor h{DType::kFloat32, {dim0, n1, 1024, s2}, {}};
  for (int64_t b = 0; b < dim0; ++b)
    for (int64_t n = 0; n < n1; ++n)
      for (int64_t r = rows - 1024; r < rows; ++r)
        for (int64_t j = 0; j < s2; ++j)
          h.values.push_back(golden_slope(b, n) * -std::abs(static_cast<double>(r - j - (rows - s2))));
  return h;
}

TEST(FaRefPse, CompressedAlibiEqualsTheFullToeplitzPseUnderEveryCausalRule) {
  unsigned seed = 70;
  for (int64_t s : {1100, 1200})
    for (int64_t mode : {2, 3, 0})
      for (int64_t dim0 : {2, 1}) {
        SCOPED_TRACE("S " + std::to_string(s) + " mode " + std::to_string(mode) + " dim0 " + std::to_string(dim0));
        const Case c{"BNSD", {s, s}, {s, s}};
        Problem p = build(c, ++seed, mode);
        p.attrs.pse_type = mode == 3 ? 0 : 1;
        p.in.pse = compressed_pse(dim0, c.n1, s, s);
        check(
            p, c,
            [&](int64_t b, int64_t n, int64_t i, int64_t j) {
              return golden_slope(dim0 == 1 ? 0 : b, n) * -std::abs(static_cast<double>(i - j));
            },
            [](int64_t, int64_t i, int64_t j) { return j <= i; });
      }
}

TEST(FaRefPse, CompressedReadBackFollowsAscendsMappingForAnyTensor) {
  // Random (not Toeplitz) rows: the docs' element mapping, thr = S1 − 1024, is then visible as it is.
  const int64_t s = 1100, thr = s - 1024;
  const Case c{"BNSD", {s}, {s}};
  std::mt19937 gen(60);
  Problem p = build(c, 61, 2);
  p.in.pse = random_tensor({1, c.n1, 1024, s}, gen);
  const std::vector<double>& v = p.in.pse->values;
  check(
      p, c,
      [&](int64_t, int64_t n, int64_t i, int64_t j) {
        const int64_t m = i >= thr ? i - thr : i % 1024, k = i >= thr ? j : s - (i - j) - (1024 - m);
        return v[(n * 1024 + m) * s + k];
      },
      [](int64_t, int64_t i, int64_t j) { return j <= i; });
}

TEST(FaRefPse, TndCompressedAlibiReadsTheGoldenBottomRightCorner) {
  unsigned seed = 90;
  for (const std::vector<int64_t>& len : {std::vector<int64_t>{1100, 300, 1150}, std::vector<int64_t>{300, 500}})
    for (int64_t mode : {3, 2, 0}) {
      SCOPED_TRACE("max S " + std::to_string(max_of(len)) + " mode " + std::to_string(mode));
      const Case c{"TND", len, len};
      const int64_t s2_max = max_of(len), rows = std::max<int64_t>(1024, max_of(len));
      Problem p = build(c, ++seed, mode);
      p.attrs.pse_type = 1;
      p.in.pse = compressed_pse(c.batch(), c.n1, rows, s2_max);
      check(
          p, c,
          [&](int64_t b, int64_t n, int64_t i, int64_t j) {  // golden tforward_tnd's slice of the full pse
            const int64_t r = rows - c.s1[b] + i, col = s2_max - c.s2[b] + j;
            return golden_slope(b, n) * -std::abs(static_cast<double>(r - col - (rows - s2_max)));
          },
          [](int64_t, int64_t i, int64_t j) { return j <= i; });
    }
}

// The hand formula of pse_type 2/3: −slope·|d| or −slope·sqrt(|d|), d = (j + kv_start) − (i + q_start).
PseFn alibi_fn(const std::vector<double>& slopes, int64_t n1, bool per_batch, int64_t type, int64_t q, int64_t kv,
               bool mode8 = false) {
  return [=](int64_t b, int64_t n, int64_t i, int64_t j) {
    const bool starts = !(mode8 && b > 0);
    const double d = std::abs(static_cast<double>((j + (starts ? kv : 0)) - (i + (starts ? q : 0))));
    return -slopes[per_batch ? b * n1 + n : n] * (type == 3 ? std::sqrt(d) : d);
  };
}

HostTensor slopes_tensor(const Case& c, bool per_batch, std::vector<double>& values) {
  HostTensor h{DType::kFloat32, per_batch ? std::vector<int64_t>{c.batch(), c.n1} : std::vector<int64_t>{c.n1}, {}};
  for (int64_t e = 0; e < h.numel(); ++e) h.values.push_back(0.25 + 0.5 * static_cast<double>(e));
  values = h.values;
  return h;
}

TEST(FaRefPse, InKernelAlibiFollowsTheHandFormulaWithStartIndices) {
  // {q_start_idx, kv_start_idx}; a list given alone is ignored (both stay 0), as in Ascend's SetQKVStartIdx.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> starts_lists = {
      {{}, {}}, {{3, 9}, {7}}, {{3}, {}}, {{}, {5}}, {{-2}, {5}}};
  unsigned seed = 120;
  for (const std::string layout : {"BNSD", "TND"})
    for (int64_t type : {2, 3})
      for (bool per_batch : {true, false})
        for (const auto& [qi, kvi] : starts_lists) {
          SCOPED_TRACE(layout + " type " + std::to_string(type) + (per_batch ? " [B,N1]" : " [N1]") + " q " +
                       (qi.empty() ? "-" : std::to_string(qi[0])) + " kv " +
                       (kvi.empty() ? "-" : std::to_string(kvi[0])));
          const Case c = layout == "TND" ? Case{"TND", {3, 6, 4}, {3, 6, 4}} : Case{"BNSD", {7, 7}, {7, 7}};
          Problem p = build(c, ++seed);
          std::vector<double> slopes;
          p.attrs.pse_type = type;
          p.in.pse = slopes_tensor(c, per_batch, slopes);
          p.attrs.q_start_idx = qi;
          p.attrs.kv_start_idx = kvi;
          const bool both = !qi.empty() && !kvi.empty();
          check(p, c, alibi_fn(slopes, c.n1, per_batch, type, both ? qi[0] : 0, both ? kvi[0] : 0));
        }
}

TEST(FaRefPse, TndMode8AppliesStartIndicesToBatchZeroOnly) {
  // Batch 0: S1_0 + q_start - S2_0 - kv_start = 3 + 4 - 5 - 2 = 0, as Ascend requires; the others have S1 == S2.
  const Case c{"TND", {3, 4, 2}, {5, 4, 2}};
  for (int64_t type : {2, 3}) {
    Problem p = build(c, 150 + static_cast<unsigned>(type), 8);
    std::vector<double> slopes;
    p.attrs.pse_type = type;
    p.in.pse = slopes_tensor(c, true, slopes);
    p.attrs.q_start_idx = {4};
    p.attrs.kv_start_idx = {2};
    check(p, c, alibi_fn(slopes, c.n1, true, type, 4, 2, true),
          [](int64_t b, int64_t i, int64_t j) { return b == 0 || j <= i; });  // mode 8: batch 0 is the band batch
  }
}

void expect_rejected(const Problem& p) {
  try {
    flash_attention_score(p.in, p.attrs);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid) << e.what();
  }
}

TEST(FaRefPse, RejectsWhatItCannotState) {
  const Case dense{"BNSD", {1100}, {1100}};
  Problem p = build(dense, 1);
  p.in.pse = compressed_pse(1, dense.n1, 1100, 1100);
  expect_rejected(p);  // compressed without a mask: no causal rule
  p = build(dense, 1, 1);
  p.in.pse = compressed_pse(1, dense.n1, 1100, 1100);
  expect_rejected(p);  // sparse_mode 1
  p = build(Case{"BNSD", {1100}, {1200}}, 1, 2);
  p.in.pse = compressed_pse(1, dense.n1, 1200, 1200);
  expect_rejected(p);  // S1 != S2
  std::vector<double> slopes;
  p = build(Case{"BNSD", {5}, {6}}, 1);
  p.attrs.pse_type = 2;
  p.in.pse = slopes_tensor(Case{"BNSD", {5}, {6}}, false, slopes);
  expect_rejected(p);  // type 2 with S1 != S2
  p = build(Case{"BNSD", {5}, {5}}, 1);
  p.attrs.pse_type = 3;
  expect_rejected(p);  // type 3 without slopes
  const Case tnd{"TND", {3, 4}, {5, 4}};
  p = build(tnd, 1, 8);
  p.attrs.pse_type = 2;
  p.in.pse = slopes_tensor(tnd, true, slopes);
  p.attrs.q_start_idx = {1};
  p.attrs.kv_start_idx = {2};
  expect_rejected(p);  // mode 8, batch 0: 3 + 1 − 5 − 2 != 0
  p = build(Case{"TND", {4, 4}, {4, 4}}, 1, 7);
  p.attrs.pse_type = 2;
  p.in.pse = slopes_tensor(tnd, false, slopes);
  expect_rejected(p);  // no pse with sparse_mode 7
}

}  // namespace
}  // namespace cannon::reference

// Tests of the float64 FlashAttentionScore reference against facts that follow from the formulas alone:
// a brute-force loop, closed-form cases (one key, equal keys), and invariances (layouts, GQA, TND vs BSND,
// softmax_layout). The reference is the ground truth for everything else, so it is checked from outside.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/rounding.hpp"
#include "host/runtime/convert.hpp"
#include "tests/unit/reference_test_util.hpp"

namespace cannon::reference {
namespace {

// Uniform values in [lo, hi), stored exactly as the dtype would hold them.
HostTensor random_tensor(DType dtype, std::vector<int64_t> shape, unsigned seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 gen(seed);
  return reference::random_tensor(dtype, std::move(shape), gen, lo, hi);
}

// Offset of element (b, n, s, d) of a [B, N, S, D] problem stored in `layout` (TND: all batches length S).
int64_t layout_offset(const std::string& layout, int64_t batch, int64_t heads, int64_t seq, int64_t dim, int64_t b,
                      int64_t n, int64_t s, int64_t d) {
  if (layout == "SBH") return ((s * batch + b) * heads + n) * dim + d;
  if (layout == "BNSD") return ((b * heads + n) * seq + s) * dim + d;
  return ((b * seq + s) * heads + n) * dim + d;  // BSH, BSND, TND
}

std::vector<int64_t> layout_shape(const std::string& layout, int64_t batch, int64_t heads, int64_t seq, int64_t dim) {
  if (layout == "BSH") return {batch, seq, heads * dim};
  if (layout == "SBH") return {seq, batch, heads * dim};
  if (layout == "BSND") return {batch, seq, heads, dim};
  if (layout == "BNSD") return {batch, heads, seq, dim};
  return {batch * seq, heads, dim};
}

// Moves a canonical [B, N, S, D] tensor into `layout`, or back when `to_canonical`.
HostTensor relayout(const HostTensor& t, const std::string& layout, int64_t batch, int64_t heads, int64_t seq,
                    int64_t dim, bool to_canonical = false) {
  HostTensor r{
      t.dtype,
      to_canonical ? std::vector<int64_t>{batch, heads, seq, dim} : layout_shape(layout, batch, heads, seq, dim),
      {}};
  r.values.resize(t.values.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t n = 0; n < heads; ++n)
      for (int64_t s = 0; s < seq; ++s)
        for (int64_t d = 0; d < dim; ++d) {
          const int64_t canonical = ((b * heads + n) * seq + s) * dim + d;
          const int64_t stored = layout_offset(layout, batch, heads, seq, dim, b, n, s, d);
          r.values[to_canonical ? canonical : stored] = t.values[to_canonical ? stored : canonical];
        }
  return r;
}

struct Brute {
  std::vector<double> out, max, sum;  // out [B, N1, S1, Dv]; max, sum [B, N1, S1]
};

// The formula as plain loops over BNSD tensors, in double; P rounded to `p_dtype` when it is 16-bit (CAST_ROUND:
// ties away from zero).
Brute brute_force(const HostTensor& q, const HostTensor& k, const HostTensor& v, double scale, DType p_dtype) {
  const int64_t batch = q.shape[0], heads1 = q.shape[1], seq1 = q.shape[2], dk = q.shape[3];
  const int64_t heads2 = k.shape[1], seq2 = k.shape[2], dv = v.shape[3];
  const bool round_p = p_dtype == DType::kFloat16 || p_dtype == DType::kBFloat16;
  Brute r{std::vector<double>(batch * heads1 * seq1 * dv), std::vector<double>(batch * heads1 * seq1),
          std::vector<double>(batch * heads1 * seq1)};
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t n = 0; n < heads1; ++n)
      for (int64_t i = 0; i < seq1; ++i) {
        const int64_t kv = b * heads2 + n / (heads1 / heads2), row = (b * heads1 + n) * seq1 + i;
        std::vector<double> s(seq2);
        for (int64_t j = 0; j < seq2; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < dk; ++d) dot += q.values[row * dk + d] * k.values[(kv * seq2 + j) * dk + d];
          s[j] = scale * dot;
        }
        const double m = *std::max_element(s.begin(), s.end());
        double l = 0;
        for (double x : s) l += std::exp(x - m);
        for (int64_t d = 0; d < dv; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < seq2; ++j) {
            const double p = std::exp(s[j] - m);
            acc += (round_p ? round_ties_away(p_dtype, p) : p) * v.values[(kv * seq2 + j) * dv + d];
          }
          r.out[row * dv + d] = acc / l;
        }
        r.max[row] = m;
        r.sum[row] = l;
      }
  return r;
}

FlashAttentionScoreRefInputs qkv(HostTensor query, HostTensor key, HostTensor value) {
  FlashAttentionScoreRefInputs in;
  in.query = std::move(query);
  in.key = std::move(key);
  in.value = std::move(value);
  return in;
}

FlashAttentionScoreAttrs attrs_for(const std::string& layout, int64_t head_num, double scale) {
  FlashAttentionScoreAttrs a;
  a.input_layout = layout;
  a.head_num = head_num;
  a.scale = scale;
  return a;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// Checks BNSD reference outputs against the brute force, including the 8 replicated softmax lanes.
void expect_matches_brute(const FlashAttentionScoreRefOutputs& got, const Brute& want, double tol) {
  EXPECT_LE(max_abs_diff(got.attention_out.values, want.out), tol);
  ASSERT_EQ(got.softmax_max.values.size(), want.max.size() * 8);
  for (size_t r = 0; r < want.max.size(); ++r)
    for (int lane = 0; lane < 8; ++lane) {
      ASSERT_NEAR(got.softmax_max.values[r * 8 + lane], want.max[r], tol) << "row " << r << " lane " << lane;
      ASSERT_NEAR(got.softmax_sum.values[r * 8 + lane], want.sum[r], tol * want.sum[r]) << "row " << r;
    }
}

TEST(FaRef, MatchesBruteForceWithGqaAndDvBelowDk) {
  FlashAttentionScoreRefInputs in =
      qkv(random_tensor(DType::kFloat32, {2, 4, 7, 8}, 1), random_tensor(DType::kFloat32, {2, 2, 13, 8}, 2),
          random_tensor(DType::kFloat32, {2, 2, 13, 5}, 3));
  const auto out = flash_attention_score(in, attrs_for("BNSD", 4, 0.7));
  EXPECT_EQ(out.attention_out.shape, (std::vector<int64_t>{2, 4, 7, 5}));
  EXPECT_EQ(out.softmax_max.shape, (std::vector<int64_t>{2, 4, 7, 8}));
  EXPECT_EQ(out.softmax_sum.dtype, DType::kFloat32);
  expect_matches_brute(out, brute_force(in.query, in.key, in.value, 0.7, DType::kFloat32), 1e-13);
}

TEST(FaRef, RowChunksMatchBruteForce) {
  // 1100 rows are more than one S1 chunk, so chunk boundaries and the last partial chunk are exercised.
  FlashAttentionScoreRefInputs in =
      qkv(random_tensor(DType::kFloat32, {1, 2, 1100, 4}, 4), random_tensor(DType::kFloat32, {1, 1, 3, 4}, 5),
          random_tensor(DType::kFloat32, {1, 1, 3, 4}, 6));
  const auto out = flash_attention_score(in, attrs_for("BNSD", 2, 1.3));
  expect_matches_brute(out, brute_force(in.query, in.key, in.value, 1.3, DType::kFloat32), 1e-13);
}

TEST(FaRef, LargeScoresStayFiniteAndConvex) {
  // Scores up to ~±600 would overflow exp() without the max subtraction.
  FlashAttentionScoreRefInputs in =
      qkv(random_tensor(DType::kFloat32, {1, 1, 9, 16}, 7, -3, 3),
          random_tensor(DType::kFloat32, {1, 1, 11, 16}, 8, -3, 3), random_tensor(DType::kFloat32, {1, 1, 11, 3}, 9));
  const auto out = flash_attention_score(in, attrs_for("BNSD", 1, 4.0));
  const auto [lo, hi] = std::minmax_element(in.value.values.begin(), in.value.values.end());
  for (double o : out.attention_out.values) {
    ASSERT_TRUE(std::isfinite(o));
    EXPECT_GE(o, *lo - 1e-12);
    EXPECT_LE(o, *hi + 1e-12);
  }
  expect_matches_brute(out, brute_force(in.query, in.key, in.value, 4.0, DType::kFloat32), 1e-11);
}

TEST(FaRef, SingleKeyReturnsItsValueRow) {
  constexpr int64_t kB = 2, kS1 = 5, kN = 3, kD = 6;
  FlashAttentionScoreRefInputs in =
      qkv(random_tensor(DType::kFloat32, {kB, kS1, kN, kD}, 10), random_tensor(DType::kFloat32, {kB, 1, kN, kD}, 11),
          random_tensor(DType::kFloat32, {kB, 1, kN, kD}, 12));
  const auto out = flash_attention_score(in, attrs_for("BSND", kN, 0.5));
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t i = 0; i < kS1; ++i)
      for (int64_t n = 0; n < kN; ++n) {
        double dot = 0;
        for (int64_t d = 0; d < kD; ++d) {
          EXPECT_EQ(out.attention_out.values[((b * kS1 + i) * kN + n) * kD + d],
                    in.value.values[(b * kN + n) * kD + d]);
          dot += in.query.values[((b * kS1 + i) * kN + n) * kD + d] * in.key.values[(b * kN + n) * kD + d];
        }
        const int64_t stat = ((b * kN + n) * kS1 + i) * 8;
        EXPECT_NEAR(out.softmax_max.values[stat], 0.5 * dot, 1e-14);
        EXPECT_EQ(out.softmax_sum.values[stat], 1.0);
      }
}

TEST(FaRef, IdenticalKeysAverageTheValues) {
  constexpr int64_t kS1 = 4, kS2 = 37, kDk = 8, kDv = 3;
  HostTensor key = random_tensor(DType::kFloat32, {1, 1, kS2, kDk}, 13);
  for (int64_t j = 1; j < kS2; ++j) std::copy_n(key.values.begin(), kDk, key.values.begin() + j * kDk);
  FlashAttentionScoreRefInputs in = qkv(random_tensor(DType::kFloat32, {1, 1, kS1, kDk}, 14), key,
                                        random_tensor(DType::kFloat32, {1, 1, kS2, kDv}, 15));
  const auto out = flash_attention_score(in, attrs_for("BNSD", 1, 0.9));
  for (int64_t i = 0; i < kS1; ++i) {
    for (int64_t d = 0; d < kDv; ++d) {
      double mean = 0;
      for (int64_t j = 0; j < kS2; ++j) mean += in.value.values[j * kDv + d] / kS2;
      EXPECT_NEAR(out.attention_out.values[i * kDv + d], mean, 1e-14);
    }
    EXPECT_EQ(out.softmax_sum.values[i * 8], static_cast<double>(kS2));  // every exp(s - m) is exactly 1
  }
}

TEST(FaRef, GqaEqualsReplicatedKvHeads) {
  constexpr int64_t kB = 2, kS1 = 6, kS2 = 10, kN1 = 6, kN2 = 2, kD = 4, kGroup = kN1 / kN2;
  FlashAttentionScoreRefInputs gqa = qkv(random_tensor(DType::kFloat32, {kB, kS1, kN1, kD}, 16),
                                         random_tensor(DType::kFloat32, {kB, kS2, kN2, kD}, 17),
                                         random_tensor(DType::kFloat32, {kB, kS2, kN2, kD}, 18));
  FlashAttentionScoreRefInputs mha = qkv(gqa.query, {DType::kFloat32, {kB, kS2, kN1, kD}, {}}, {});
  mha.key.values.resize(kB * kS2 * kN1 * kD);
  mha.value = mha.key;
  for (int64_t r = 0; r < kB * kS2; ++r)
    for (int64_t n = 0; n < kN1; ++n)
      for (int64_t d = 0; d < kD; ++d) {
        mha.key.values[(r * kN1 + n) * kD + d] = gqa.key.values[(r * kN2 + n / kGroup) * kD + d];
        mha.value.values[(r * kN1 + n) * kD + d] = gqa.value.values[(r * kN2 + n / kGroup) * kD + d];
      }
  const auto a = flash_attention_score(gqa, attrs_for("BSND", kN1, 0.6));
  const auto b = flash_attention_score(mha, attrs_for("BSND", kN1, 0.6));
  EXPECT_LE(max_abs_diff(a.attention_out.values, b.attention_out.values), 1e-15);
  EXPECT_LE(max_abs_diff(a.softmax_max.values, b.softmax_max.values), 1e-15);
  EXPECT_LE(max_abs_diff(a.softmax_sum.values, b.softmax_sum.values), 1e-14);
}

TEST(FaRef, AllFiveLayoutsGiveTheSameResult) {
  constexpr int64_t kB = 2, kN1 = 4, kN2 = 2, kS1 = 5, kS2 = 9, kDk = 6, kDv = 4;
  const HostTensor q = random_tensor(DType::kFloat32, {kB, kN1, kS1, kDk}, 19);
  const HostTensor k = random_tensor(DType::kFloat32, {kB, kN2, kS2, kDk}, 20);
  const HostTensor v = random_tensor(DType::kFloat32, {kB, kN2, kS2, kDv}, 21);
  const auto want = flash_attention_score(qkv(q, k, v), attrs_for("BNSD", kN1, 0.4));
  for (const std::string layout : {"BSH", "SBH", "BSND", "TND"}) {
    SCOPED_TRACE(layout);
    FlashAttentionScoreAttrs attrs = attrs_for(layout, kN1, 0.4);
    attrs.actual_seq_qlen = {kS1, 2 * kS1};
    attrs.actual_seq_kvlen = {kS2, 2 * kS2};
    const auto got =
        flash_attention_score(qkv(relayout(q, layout, kB, kN1, kS1, kDk), relayout(k, layout, kB, kN2, kS2, kDk),
                                  relayout(v, layout, kB, kN2, kS2, kDv)),
                              attrs);
    ASSERT_EQ(got.attention_out.shape, layout_shape(layout, kB, kN1, kS1, kDv));
    const HostTensor out = relayout(got.attention_out, layout, kB, kN1, kS1, kDv, /*to_canonical=*/true);
    EXPECT_LE(max_abs_diff(out.values, want.attention_out.values), 1e-15);
    // With equal lengths, TND's per-batch [kN1, S1_b, 8] blocks are exactly the [kB, kN1, kS1, 8] order.
    EXPECT_LE(max_abs_diff(got.softmax_max.values, want.softmax_max.values), 1e-15);
    EXPECT_LE(max_abs_diff(got.softmax_sum.values, want.softmax_sum.values), 1e-14);
  }
}

// Rows [start, start + len) of a TND tensor [T, N, D], as a one-batch BSND tensor [1, len, N, D].
HostTensor tnd_rows(const HostTensor& t, int64_t start, int64_t len) {
  const int64_t row = t.shape[1] * t.shape[2];
  HostTensor r{t.dtype, {1, len, t.shape[1], t.shape[2]}, {}};
  r.values.assign(t.values.begin() + start * row, t.values.begin() + (start + len) * row);
  return r;
}

TEST(FaRef, TndRowsEqualPaddedBsndRows) {
  constexpr int64_t kB = 4, kS1Pad = 5, kS2 = 6, kN1 = 4, kN2 = 2, kD = 8;
  const std::vector<int64_t> q_len = {3, 0, 5, 2};  // a zero-length batch in the middle
  FlashAttentionScoreRefInputs bsnd = qkv(random_tensor(DType::kFloat32, {kB, kS1Pad, kN1, kD}, 22),
                                          random_tensor(DType::kFloat32, {kB, kS2, kN2, kD}, 23),
                                          random_tensor(DType::kFloat32, {kB, kS2, kN2, kD}, 24));
  FlashAttentionScoreRefInputs tnd =
      qkv({DType::kFloat32, {10, kN1, kD}, {}}, {DType::kFloat32, {kB * kS2, kN2, kD}, bsnd.key.values},
          {DType::kFloat32, {kB * kS2, kN2, kD}, bsnd.value.values});
  for (int64_t b = 0; b < kB; ++b) {
    const auto first = bsnd.query.values.begin() + b * kS1Pad * kN1 * kD;
    tnd.query.values.insert(tnd.query.values.end(), first, first + q_len[b] * kN1 * kD);
  }
  FlashAttentionScoreAttrs attrs = attrs_for("TND", kN1, 0.35);
  attrs.actual_seq_qlen = {3, 3, 8, 10};
  attrs.actual_seq_kvlen = {6, 12, 18, 24};
  const auto want = flash_attention_score(bsnd, attrs_for("BSND", kN1, 0.35));
  const auto got = flash_attention_score(tnd, attrs);
  ASSERT_EQ(got.softmax_max.shape, (std::vector<int64_t>{10, kN1, 8}));
  int64_t acc = 0;
  for (int64_t b = 0; b < kB; acc += q_len[b++])
    for (int64_t n = 0; n < kN1; ++n)
      for (int64_t i = 0; i < q_len[b]; ++i) {
        for (int64_t d = 0; d < kD; ++d)
          ASSERT_NEAR(got.attention_out.values[((acc + i) * kN1 + n) * kD + d],
                      want.attention_out.values[((b * kS1Pad + i) * kN1 + n) * kD + d], 1e-15);
        const int64_t t = (acc * kN1 + n * q_len[b] + i) * 8, w = ((b * kN1 + n) * kS1Pad + i) * 8;
        EXPECT_NEAR(got.softmax_max.values[t + 7], want.softmax_max.values[w + 7], 1e-15);
        EXPECT_NEAR(got.softmax_sum.values[t + 7], want.softmax_sum.values[w + 7], 1e-14);
      }
}

TEST(FaRef, TndVariableLengthsEmptyBatchesAndRowsWithoutKeys) {
  constexpr int64_t kN1 = 2, kN2 = 1, kDk = 8, kDv = 4;
  // q lengths 2,3,0,4 then two trailing empty batches; kv lengths 4,0,3,1,0,0. Batch 1 has query rows but
  // no keys: cannon writes those rows as invalid rows.
  const std::vector<int64_t> q_len = {2, 3, 0, 4, 0, 0}, kv_len = {4, 0, 3, 1, 0, 0};
  FlashAttentionScoreRefInputs in =
      qkv(random_tensor(DType::kFloat32, {9, kN1, kDk}, 25), random_tensor(DType::kFloat32, {8, kN2, kDk}, 26),
          random_tensor(DType::kFloat32, {8, kN2, kDv}, 27));
  FlashAttentionScoreAttrs attrs = attrs_for("TND", kN1, 0.8);
  attrs.actual_seq_qlen = {2, 5, 5, 9, 0, 0};
  attrs.actual_seq_kvlen = {4, 4, 7, 8, 0, 0};
  attrs.softmax_layout = "TND";
  const auto got = flash_attention_score(in, attrs);
  int64_t q0 = 0, kv0 = 0;
  for (size_t b = 0; b < q_len.size(); q0 += q_len[b], kv0 += kv_len[b], ++b) {
    if (q_len[b] == 0) continue;
    SCOPED_TRACE("batch " + std::to_string(b));
    std::vector<double> out(got.attention_out.values.begin() + q0 * kN1 * kDv,
                            got.attention_out.values.begin() + (q0 + q_len[b]) * kN1 * kDv);
    if (kv_len[b] == 0) {
      EXPECT_EQ(out, std::vector<double>(out.size(), 0.0));
      for (int64_t e = q0 * kN1 * 8; e < (q0 + q_len[b]) * kN1 * 8; ++e) {
        EXPECT_EQ(got.softmax_max.values[e], -3.4028234663852886e38);
        EXPECT_EQ(got.softmax_sum.values[e], 3.4028234663852886e38);
      }
      continue;
    }
    const auto want = flash_attention_score(
        qkv(tnd_rows(in.query, q0, q_len[b]), tnd_rows(in.key, kv0, kv_len[b]), tnd_rows(in.value, kv0, kv_len[b])),
        attrs_for("BSND", kN1, 0.8));
    EXPECT_LE(max_abs_diff(out, want.attention_out.values), 1e-15);
    for (int64_t n = 0; n < kN1; ++n)
      for (int64_t i = 0; i < q_len[b]; ++i) {
        EXPECT_NEAR(got.softmax_max.values[((q0 + i) * kN1 + n) * 8], want.softmax_max.values[(n * q_len[b] + i) * 8],
                    1e-15);
        EXPECT_NEAR(got.softmax_sum.values[((q0 + i) * kN1 + n) * 8], want.softmax_sum.values[(n * q_len[b] + i) * 8],
                    1e-14);
      }
  }
}

TEST(FaRef, SoftmaxLayoutsArePermutationsOfEachOther) {
  constexpr int64_t kN1 = 3, kN2 = 1, kD = 4;
  const std::vector<int64_t> q_len = {3, 5, 2};
  FlashAttentionScoreRefInputs in =
      qkv(random_tensor(DType::kFloat32, {10, kN1, kD}, 28), random_tensor(DType::kFloat32, {11, kN2, kD}, 29),
          random_tensor(DType::kFloat32, {11, kN2, kD}, 30));
  FlashAttentionScoreAttrs attrs = attrs_for("TND", kN1, 1.1);
  attrs.actual_seq_qlen = {3, 8, 10};
  attrs.actual_seq_kvlen = {4, 10, 11};
  const auto blocks = flash_attention_score(in, attrs);
  attrs.softmax_layout = "TND";
  const auto tnd = flash_attention_score(in, attrs);
  EXPECT_EQ(blocks.attention_out.values, tnd.attention_out.values);
  EXPECT_EQ(blocks.softmax_max.shape, tnd.softmax_max.shape);
  EXPECT_NE(blocks.softmax_max.values, tnd.softmax_max.values);  // the orders really differ here
  int64_t acc = 0;
  for (size_t b = 0; b < q_len.size(); acc += q_len[b++])
    for (int64_t n = 0; n < kN1; ++n)
      for (int64_t i = 0; i < q_len[b]; ++i)
        for (int64_t lane = 0; lane < 8; ++lane) {
          const int64_t x = (acc * kN1 + n * q_len[b] + i) * 8 + lane, y = ((acc + i) * kN1 + n) * 8 + lane;
          ASSERT_EQ(blocks.softmax_max.values[x], tnd.softmax_max.values[y]);
          ASSERT_EQ(blocks.softmax_sum.values[x], tnd.softmax_sum.values[y]);
        }
}

// The same 16-bit-representable numbers run as fp16/bf16 and as fp32: only the rounding of P differs.
void expect_p_rounded(DType dtype, unsigned seed) {
  SCOPED_TRACE(dtype == DType::kFloat16 ? "fp16" : "bf16");
  FlashAttentionScoreRefInputs low =
      qkv(random_tensor(dtype, {1, 2, 6, 16}, seed), random_tensor(dtype, {1, 2, 40, 16}, seed + 1),
          random_tensor(dtype, {1, 2, 40, 8}, seed + 2));
  FlashAttentionScoreRefInputs high = low;
  high.query.dtype = high.key.dtype = high.value.dtype = DType::kFloat32;
  const auto a = flash_attention_score(low, attrs_for("BNSD", 2, 0.25));
  const auto b = flash_attention_score(high, attrs_for("BNSD", 2, 0.25));
  EXPECT_EQ(a.attention_out.dtype, dtype);
  EXPECT_EQ(a.softmax_max.values, b.softmax_max.values);  // max and sum come before the cast of P
  EXPECT_EQ(a.softmax_sum.values, b.softmax_sum.values);
  const double diff = max_abs_diff(a.attention_out.values, b.attention_out.values);
  EXPECT_GT(diff, 1e-6);
  EXPECT_LT(diff, dtype == DType::kFloat16 ? 2e-3 : 1e-2);
  expect_matches_brute(a, brute_force(low.query, low.key, low.value, 0.25, dtype), 1e-14);
}

TEST(FaRef, SixteenBitInputsRoundPBeforePv) {
  expect_p_rounded(DType::kFloat16, 31);
  expect_p_rounded(DType::kBFloat16, 34);
}

TEST(FaRef, NaiveLowPrecisionRoundsEveryResult) {
  for (DType dtype : {DType::kFloat16, DType::kBFloat16, DType::kFloat32}) {
    SCOPED_TRACE(static_cast<int>(dtype));
    FlashAttentionScoreRefInputs in =
        qkv(random_tensor(dtype, {1, 2, 9, 32}, 37), random_tensor(dtype, {1, 1, 70, 32}, 38),
            random_tensor(dtype, {1, 1, 70, 16}, 39));
    const auto exact = flash_attention_score(in, attrs_for("BNSD", 2, 0.18));
    const auto naive = flash_attention_score(in, attrs_for("BNSD", 2, 0.18), Precision::kNaiveLowPrecision);
    for (const auto* t : {&naive.attention_out, &naive.softmax_max, &naive.softmax_sum})
      for (double x : t->values) ASSERT_EQ(round_to(dtype, x), x) << "not representable: " << x;
    // Errors of the order of the dtype's epsilon: present, but far from garbage.
    const double eps = dtype == DType::kFloat16 ? 0x1p-11 : dtype == DType::kBFloat16 ? 0x1p-8 : 0x1p-24;
    const double err = max_abs_diff(naive.attention_out.values, exact.attention_out.values);
    EXPECT_GT(err, 0.0);
    EXPECT_LT(err, 64 * eps);
    EXPECT_GT(max_abs_diff(naive.softmax_sum.values, exact.softmax_sum.values), 0.0);
  }
}

void expect_status(const FlashAttentionScoreRefInputs& in, const FlashAttentionScoreAttrs& attrs, Status status) {
  try {
    flash_attention_score(in, attrs);
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
  }
}

TEST(FaRef, RejectsWhatIsNotImplementedYet) {
  const FlashAttentionScoreRefInputs plain =
      qkv(random_tensor(DType::kFloat32, {1, 4, 1, 8}, 40), random_tensor(DType::kFloat32, {1, 4, 1, 8}, 41),
          random_tensor(DType::kFloat32, {1, 4, 1, 8}, 42));
  FlashAttentionScoreRefInputs with_pse = plain;
  with_pse.pse = random_tensor(DType::kFloat32, {1, 1, 3, 4}, 43);  // pse is implemented; 3 rows is no pse form
  expect_status(with_pse, attrs_for("BSND", 1, 1.0), Status::kParamInvalid);
  FlashAttentionScoreAttrs dropout = attrs_for("BSND", 1, 1.0);
  dropout.keep_prob = 0.0;  // dropout is implemented; keep_prob must be in (0, 1]
  expect_status(plain, dropout, Status::kParamInvalid);
  expect_status(plain, attrs_for("BSHD", 1, 1.0), Status::kParamInvalid);
}

}  // namespace
}  // namespace cannon::reference

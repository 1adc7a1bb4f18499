// Closed-form and invariance checks of the reference's masking: numbers that follow from the rules without any
// brute force (causal rows of equal keys, fully masked rows, invalid rows), the mask shapes and dtypes giving the
// same answer, and "no atten_mask means no masking". reference_mask_test.cpp holds the brute-force sweep.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::reference {
namespace {

HostTensor random_tensor(DType dtype, std::vector<int64_t> shape, unsigned seed) {
  HostTensor t{dtype, std::move(shape), {}};
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  t.values.resize(t.numel());
  for (double& x : t.values) {
    const float f = static_cast<float>(dist(gen));
    x = dtype == DType::kFloat16 ? fp16_to_float(float_to_fp16(f)) : f;
  }
  return t;
}

HostTensor random_mask(std::vector<int64_t> shape, unsigned seed, DType dtype = DType::kUInt8) {
  HostTensor t{dtype, std::move(shape), {}};
  std::mt19937 gen(seed);
  std::bernoulli_distribution one(0.4);
  t.values.resize(t.numel());
  for (double& x : t.values) x = one(gen) ? 1.0 : 0.0;
  return t;
}

// BNSD [B, N, S1|S2, D] inputs with N1 = N2 = n, Dk = Dv = d.
FlashAttentionScoreRefInputs bnsd(int64_t b, int64_t n, int64_t s1, int64_t s2, int64_t d, unsigned seed,
                                  DType dtype = DType::kFloat32) {
  FlashAttentionScoreRefInputs in;
  in.query = random_tensor(dtype, {b, n, s1, d}, seed);
  in.key = random_tensor(dtype, {b, n, s2, d}, seed + 1);
  in.value = random_tensor(dtype, {b, n, s2, d}, seed + 2);
  return in;
}

FlashAttentionScoreAttrs attrs(int64_t n, int64_t mode, int64_t inner_precise = 0) {
  FlashAttentionScoreAttrs a;
  a.input_layout = "BNSD";
  a.head_num = n;
  a.scale = 0.5;
  a.sparse_mode = mode;
  a.inner_precise = inner_precise;
  return a;
}

void expect_same(const FlashAttentionScoreRefOutputs& a, const FlashAttentionScoreRefOutputs& b) {
  EXPECT_EQ(a.attention_out.values, b.attention_out.values);
  EXPECT_EQ(a.softmax_max.values, b.softmax_max.values);
  EXPECT_EQ(a.softmax_sum.values, b.softmax_sum.values);
}

// Row `row` (flattened b, n, i) of a BNSD output with head dim d, and lane 0 of its stats.
std::vector<double> out_row(const FlashAttentionScoreRefOutputs& o, int64_t row, int64_t d) {
  return {o.attention_out.values.begin() + row * d, o.attention_out.values.begin() + (row + 1) * d};
}

void expect_invalid_row(const FlashAttentionScoreRefOutputs& o, int64_t row, int64_t d) {
  EXPECT_EQ(out_row(o, row, d), std::vector<double>(d, 0.0)) << "row " << row;
  for (int lane = 0; lane < 8; ++lane) {
    EXPECT_EQ(o.softmax_max.values[row * 8 + lane], -3.4028234663852886e38) << "row " << row;
    EXPECT_EQ(o.softmax_sum.values[row * 8 + lane], 3.4028234663852886e38) << "row " << row;
  }
}

// Mean of V rows `cols` of head 0 of a [1, 1, S2, d] value tensor.
std::vector<double> mean_v(const HostTensor& v, const std::vector<int64_t>& cols, int64_t d) {
  std::vector<double> m(d, 0.0);
  for (int64_t j : cols)
    for (int64_t k = 0; k < d; ++k) m[k] += v.values[j * d + k];
  for (double& x : m) x /= static_cast<double>(cols.size());
  return m;
}

void expect_near_rows(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-14);
}

TEST(FaRefMaskCases, NoAttenMaskMeansNoMasking) {
  FlashAttentionScoreRefInputs in = bnsd(2, 2, 7, 5, 4, 1);
  const auto dense = flash_attention_score(in, attrs(2, 0));
  for (int64_t mode = 0; mode <= 8; ++mode) {
    SCOPED_TRACE(mode);
    FlashAttentionScoreAttrs a = attrs(2, mode);
    a.pre_tokens = -1;
    a.next_tokens = -2;
    a.prefix = {0, 0};
    expect_same(flash_attention_score(in, a), dense);
  }
  // With the (compressed) mask present the same mode-2 call does mask, so the equality above is not vacuous.
  in.atten_mask = random_mask({2048, 2048}, 2);
  EXPECT_NE(flash_attention_score(in, attrs(2, 2)).attention_out.values, dense.attention_out.values);
}

TEST(FaRefMaskCases, CausalRowsOfEqualKeysAverageTheirVisibleValues) {
  // Identical keys make every visible score equal, so row i is the mean of V over exactly its visible columns
  // and the sum counts them. Compressed masks are not read: an all-zero mask must not matter.
  constexpr int64_t kS1 = 4, kS2 = 6, kD = 3;
  FlashAttentionScoreRefInputs in = bnsd(1, 1, kS1, kS2, kD, 3);
  for (int64_t j = 1; j < kS2; ++j) std::copy_n(in.key.values.begin(), kD, in.key.values.begin() + j * kD);
  in.atten_mask = HostTensor{DType::kBool, {2048, 2048}, std::vector<double>(2048 * 2048, 0.0)};
  for (int64_t mode : {2, 3}) {
    SCOPED_TRACE(mode);
    const auto o = flash_attention_score(in, attrs(1, mode));
    for (int64_t i = 0; i < kS1; ++i) {
      const int64_t visible = mode == 2 ? i + 1 : i + 1 + (kS2 - kS1);  // j <= i, or j <= i + S2 - S1
      std::vector<int64_t> cols(visible);
      for (int64_t j = 0; j < visible; ++j) cols[j] = j;
      expect_near_rows(out_row(o, i, kD), mean_v(in.value, cols, kD));
      EXPECT_EQ(o.softmax_sum.values[i * 8], static_cast<double>(visible));
    }
  }
}

TEST(FaRefMaskCases, FullyMaskedRowWithoutInvalidLineAveragesComputedColumns) {
  constexpr int64_t kS1 = 5, kS2 = 7, kD = 4;
  FlashAttentionScoreRefInputs in = bnsd(1, 1, kS1, kS2, kD, 4);
  in.atten_mask = random_mask({kS1, kS2}, 5);
  std::fill_n(in.atten_mask->values.begin() + 3 * kS2, kS2, 1.0);  // row 3 all masked
  // Mode 1: every column is computed, so the row is the mean of all of V.
  auto o = flash_attention_score(in, attrs(1, 1));
  expect_near_rows(out_row(o, 3, kD), mean_v(in.value, {0, 1, 2, 3, 4, 5, 6}, kD));
  EXPECT_EQ(o.softmax_max.values[3 * 8 + 7], -3.4028234663852886e38);
  EXPECT_EQ(o.softmax_sum.values[3 * 8 + 7], 7.0);
  // Mode 5, prefix 1, D = 2: row 3 computes j <= 5 only; column 6 stays out of the mean and the count.
  FlashAttentionScoreAttrs a = attrs(1, 5);
  a.prefix = {1};
  o = flash_attention_score(in, a);
  expect_near_rows(out_row(o, 3, kD), mean_v(in.value, {0, 1, 2, 3, 4, 5}, kD));
  EXPECT_EQ(o.softmax_sum.values[3 * 8], 6.0);
  // Mode 0 with next_tokens 1 (a band that leaves every row a column): row 3 computes j <= 4.
  a = attrs(1, 0);
  a.next_tokens = 1;
  o = flash_attention_score(in, a);
  expect_near_rows(out_row(o, 3, kD), mean_v(in.value, {0, 1, 2, 3, 4}, kD));
  EXPECT_EQ(o.softmax_sum.values[3 * 8], 5.0);
}

TEST(FaRefMaskCases, InnerPrecise2And3WriteInvalidRows) {
  constexpr int64_t kB = 2, kN = 2, kS1 = 5, kS2 = 6, kD = 4;
  FlashAttentionScoreRefInputs in = bnsd(kB, kN, kS1, kS2, kD, 6);
  in.atten_mask = random_mask({kB, kN, kS1, kS2}, 7);
  const int64_t full_row = (1 * kN + 1) * kS1 + 2;  // (b 1, n 1, i 2)
  std::fill_n(in.atten_mask->values.begin() + full_row * kS2, kS2, 1.0);
  const auto plain = flash_attention_score(in, attrs(kN, 1));
  EXPECT_EQ(plain.softmax_sum.values[full_row * 8], 6.0);  // without the mode: the mean row
  for (int64_t inner_precise : {2, 3}) {
    const auto o = flash_attention_score(in, attrs(kN, 1, inner_precise));
    expect_invalid_row(o, full_row, kD);
    for (int64_t r = 0; r < kB * kN * kS1; ++r) {
      if (plain.softmax_max.values[r * 8] == -FLT_MAX) {  // also any row the random mask happened to fill
        expect_invalid_row(o, r, kD);
        continue;
      }
      EXPECT_EQ(out_row(o, r, kD), out_row(plain, r, kD)) << "row " << r;
      EXPECT_EQ(o.softmax_sum.values[r * 8], plain.softmax_sum.values[r * 8]);
    }
  }
}

TEST(FaRefMaskCases, RowsWithoutVisibleColumnsSwitchInvalidLineOnForEveryRow) {
  constexpr int64_t kS1 = 5, kS2 = 4, kD = 3;
  FlashAttentionScoreRefInputs in = bnsd(1, 1, kS1, kS2, kD, 8);
  in.atten_mask = random_mask({kS1, kS2}, 9);
  std::fill_n(in.atten_mask->values.begin() + 4 * kS2, kS2, 1.0);  // row 4 fully masked by the tensor
  // Mode 0, next_tokens -1: row 0 has no visible column, so invalid-line mode is on for row 4 as well.
  FlashAttentionScoreAttrs a = attrs(1, 0);
  a.next_tokens = -1;
  auto o = flash_attention_score(in, a);
  expect_invalid_row(o, 0, kD);
  expect_invalid_row(o, 4, kD);
  // Mode 3 with S1 > S2: row 0 (j <= i - 1) has nothing; the mask tensor is not read, so row 4 is a normal row.
  o = flash_attention_score(in, attrs(1, 3));
  expect_invalid_row(o, 0, kD);
  EXPECT_GE(o.softmax_sum.values[4 * 8], 1.0);  // four real scores: 1 <= sum <= 4
  EXPECT_LE(o.softmax_sum.values[4 * 8], 4.0);
  EXPECT_NE(out_row(o, 4, kD), std::vector<double>(kD, 0.0));
  // Mode 5, S1 > S2: prefix 0 leaves row 0 empty and turns the mode on; prefix 1 does not, so the fully masked
  // row 4 is then the mean of its computed columns (j <= 3, i.e. all four).
  a = attrs(1, 5);
  a.prefix = {0};
  o = flash_attention_score(in, a);
  expect_invalid_row(o, 0, kD);
  expect_invalid_row(o, 4, kD);
  a.prefix = {1};
  o = flash_attention_score(in, a);
  EXPECT_EQ(o.softmax_sum.values[4 * 8], 4.0);
  expect_near_rows(out_row(o, 4, kD), mean_v(in.value, {0, 1, 2, 3}, kD));
}

TEST(FaRefMaskCases, BroadcastMaskShapesEqualTheExpandedMask) {
  constexpr int64_t kB = 2, kN = 3, kS1 = 4, kS2 = 5, kD = 4, kSs = kS1 * kS2;
  const FlashAttentionScoreRefInputs base = bnsd(kB, kN, kS1, kS2, kD, 10);
  const HostTensor per_batch = random_mask({kB, 1, kS1, kS2}, 11);
  HostTensor expanded{DType::kUInt8, {kB, kN, kS1, kS2}, {}};
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t n = 0; n < kN; ++n)
      expanded.values.insert(expanded.values.end(), per_batch.values.begin() + b * kSs,
                             per_batch.values.begin() + (b + 1) * kSs);
  for (int64_t mode : {0, 1, 5}) {
    SCOPED_TRACE(mode);
    FlashAttentionScoreAttrs a = attrs(kN, mode);
    a.next_tokens = 2;
    a.prefix = {1, 0};
    FlashAttentionScoreRefInputs x = base, y = base;
    x.atten_mask = per_batch;
    y.atten_mask = expanded;
    expect_same(flash_attention_score(x, a), flash_attention_score(y, a));
    // [S1, S2] and [1, 1, S1, S2]: batch 0's slice for everyone.
    const std::vector<double> slice(per_batch.values.begin(), per_batch.values.begin() + kSs);
    x.atten_mask = HostTensor{DType::kUInt8, {kS1, kS2}, slice};
    y.atten_mask = HostTensor{DType::kUInt8, {1, 1, kS1, kS2}, slice};
    HostTensor all{DType::kUInt8, {kB, kN, kS1, kS2}, {}};
    for (int64_t r = 0; r < kB * kN; ++r) all.values.insert(all.values.end(), slice.begin(), slice.end());
    FlashAttentionScoreRefInputs z = base;
    z.atten_mask = all;
    const auto want = flash_attention_score(z, a);
    expect_same(flash_attention_score(x, a), want);
    expect_same(flash_attention_score(y, a), want);
  }
}

TEST(FaRefMaskCases, EachHeadReadsItsOwnSliceOfAFullMask) {
  constexpr int64_t kB = 2, kN = 2, kS1 = 3, kS2 = 5, kD = 2, kSs = kS1 * kS2;
  FlashAttentionScoreRefInputs in = bnsd(kB, kN, kS1, kS2, kD, 12);
  in.atten_mask = random_mask({kB, kN, kS1, kS2}, 13);
  const auto full = flash_attention_score(in, attrs(kN, 1));
  for (int64_t bn = 0; bn < kB * kN; ++bn) {
    FlashAttentionScoreRefInputs shared = in;
    shared.atten_mask = HostTensor{DType::kBool, {kS1, kS2}, {}};
    shared.atten_mask->values.assign(in.atten_mask->values.begin() + bn * kSs,
                                     in.atten_mask->values.begin() + (bn + 1) * kSs);
    const auto o = flash_attention_score(shared, attrs(kN, 1));
    for (int64_t i = 0; i < kS1; ++i) EXPECT_EQ(out_row(o, bn * kS1 + i, kD), out_row(full, bn * kS1 + i, kD));
  }
}

TEST(FaRefMaskCases, Uint8AndBoolMasksAreEqual) {
  FlashAttentionScoreRefInputs in = bnsd(1, 2, 6, 6, 4, 14);
  in.atten_mask = random_mask({1, 2, 6, 6}, 15, DType::kUInt8);
  FlashAttentionScoreRefInputs as_bool = in;
  as_bool.atten_mask->dtype = DType::kBool;
  expect_same(flash_attention_score(in, attrs(2, 0)), flash_attention_score(as_bool, attrs(2, 0)));
}

TEST(FaRefMaskCases, NaiveLowPrecisionKeepsMaskedRowsFinite) {
  // -FLT_MAX overflows fp16, so the select must come after the rounding; a partially masked row must still give
  // exp(masked) = 0, and a fully masked row exp(0) = 1.
  constexpr int64_t kS1 = 6, kS2 = 9, kD = 8;
  FlashAttentionScoreRefInputs in = bnsd(1, 1, kS1, kS2, kD, 16, DType::kFloat16);
  in.atten_mask = random_mask({kS1, kS2}, 17);
  std::fill_n(in.atten_mask->values.begin() + 2 * kS2, kS2, 1.0);
  const auto exact = flash_attention_score(in, attrs(1, 1));
  const auto naive = flash_attention_score(in, attrs(1, 1), Precision::kNaiveLowPrecision);
  for (size_t e = 0; e < naive.attention_out.values.size(); ++e) {
    ASSERT_TRUE(std::isfinite(naive.attention_out.values[e]));
    EXPECT_NEAR(naive.attention_out.values[e], exact.attention_out.values[e], 0.02);
  }
  EXPECT_EQ(naive.softmax_max.values[2 * 8], -3.4028234663852886e38);
  EXPECT_EQ(naive.softmax_sum.values[2 * 8], 9.0);
  const auto invalid = flash_attention_score(in, attrs(1, 1, 2), Precision::kNaiveLowPrecision);
  expect_invalid_row(invalid, 2, kD);
}

void expect_param_invalid(const FlashAttentionScoreRefInputs& in, const FlashAttentionScoreAttrs& a) {
  try {
    flash_attention_score(in, a);
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid) << e.what();
  }
}

TEST(FaRefMaskCases, RejectsWhatItCannotApply) {
  FlashAttentionScoreRefInputs in = bnsd(2, 1, 3, 4, 2, 18);
  in.atten_mask = random_mask({3, 4}, 19);
  expect_param_invalid(in, attrs(1, 9));
  expect_param_invalid(in, attrs(1, 5));  // no prefix for two batches
  FlashAttentionScoreAttrs a = attrs(1, 6);
  a.prefix = {1};
  expect_param_invalid(in, a);
  FlashAttentionScoreRefInputs wrong = in;
  wrong.atten_mask->dtype = DType::kFloat32;
  expect_param_invalid(wrong, attrs(1, 0));
  wrong = in;
  wrong.atten_mask = random_mask({4, 3}, 20);
  expect_param_invalid(wrong, attrs(1, 0));
  wrong.atten_mask = random_mask({2, 2, 3, 4}, 21);  // N1 is 1
  expect_param_invalid(wrong, attrs(1, 1));
  // The compressed modes do not read the elements, so the reference does not index them (the plan checks shape).
  EXPECT_NO_THROW(flash_attention_score(wrong, attrs(1, 2)));
}

}  // namespace
}  // namespace cannon::reference

// Checks of the reference's dropout against a brute force that states docs/flash_attention_score.md ("Dropout")
// directly: P' = P·keep/keep_prob after the softmax sum and before the fp16/bf16 cast, keep read LSB-first from the
// explicit mask in B·N1·S1·S2 order (TND: per-batch blocks). The generator is checked by feeding the host
// generator's packed mask back as drop_mask, and by TND-with-equal-lengths against BNSD.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/rounding.hpp"
#include "host/runtime/convert.hpp"
#include "host/runtime/philox.hpp"
#include "tests/unit/reference_test_util.hpp"

namespace cannon::reference {
namespace {

HostTensor packed_mask(const std::vector<uint8_t>& bytes) {
  HostTensor t{DType::kUInt8, {static_cast<int64_t>(bytes.size())}, {}};
  t.values.assign(bytes.begin(), bytes.end());
  return t;
}

// A BNSD problem with per-batch data laid out as TND would hold it when `tnd` (all batches of equal length).
struct Problem {
  int64_t batch = 2, n1 = 2, s1 = 5, s2 = 19, d = 8;
  DType dtype = DType::kFloat32;
  FlashAttentionScoreRefInputs in;
  FlashAttentionScoreAttrs attrs;

  explicit Problem(DType dt, unsigned seed = 1) : dtype(dt) {
    std::mt19937 gen(seed);
    in.query = random_tensor(dtype, {batch, n1, s1, d}, gen);
    in.key = random_tensor(dtype, {batch, n1, s2, d}, gen);
    in.value = random_tensor(dtype, {batch, n1, s2, d}, gen);
    attrs.input_layout = "BNSD";
    attrs.head_num = n1;
    attrs.scale = 0.7;
  }
  int64_t numels() const { return batch * n1 * s1 * s2; }
};

// The documented formula as loops, given keep flags in B·N1·S1·S2 order.
std::vector<double> brute_out(const Problem& pb, const std::vector<uint8_t>& keep, double keep_prob) {
  const int64_t rows = pb.batch * pb.n1 * pb.s1;
  std::vector<double> out(rows * pb.d);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t bn = r / pb.s1;
    std::vector<double> s(pb.s2);
    for (int64_t j = 0; j < pb.s2; ++j) {
      double dot = 0;
      for (int64_t x = 0; x < pb.d; ++x)
        dot += pb.in.query.values[r * pb.d + x] * pb.in.key.values[(bn * pb.s2 + j) * pb.d + x];
      s[j] = pb.attrs.scale * dot;
    }
    const double m = *std::max_element(s.begin(), s.end());
    double l = 0;
    for (double x : s) l += std::exp(x - m);  // the sum takes the un-dropped p
    for (int64_t x = 0; x < pb.d; ++x) {
      double acc = 0;
      for (int64_t j = 0; j < pb.s2; ++j) {
        const double p = keep[r * pb.s2 + j] ? std::exp(s[j] - m) / keep_prob : 0.0;
        const double rounded =
            pb.dtype == DType::kFloat32 ? p : round_ties_away(pb.dtype, p);  // P cast (CAST_ROUND) for 16-bit only
        acc += rounded * pb.in.value.values[(bn * pb.s2 + j) * pb.d + x];
      }
      out[r * pb.d + x] = acc / l;
    }
  }
  return out;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(FaRefDropout, ExplicitMaskMatchesBruteForce) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    Problem pb(dtype);
    std::mt19937 gen(7);
    std::vector<uint8_t> keep(pb.numels()), bytes((pb.numels() + 7) / 8 + 5, 0);
    for (int64_t k = 0; k < pb.numels(); ++k) {
      keep[k] = gen() % 4 != 0;
      if (keep[k]) bytes[k >> 3] |= static_cast<uint8_t>(1u << (k & 7));  // LSB-first; 5 spare bytes ignored
    }
    pb.in.drop_mask = packed_mask(bytes);
    pb.attrs.keep_prob = 0.75;
    const FlashAttentionScoreRefOutputs got = flash_attention_score(pb.in, pb.attrs);
    EXPECT_LE(max_abs_diff(got.attention_out.values, brute_out(pb, keep, 0.75)), 1e-12) << dtype_name(dtype);

    // softmax_max and softmax_sum do not see dropout.
    pb.in.drop_mask.reset();
    pb.attrs.keep_prob = 1.0;
    const FlashAttentionScoreRefOutputs plain = flash_attention_score(pb.in, pb.attrs);
    EXPECT_EQ(got.softmax_max.values, plain.softmax_max.values);
    EXPECT_EQ(got.softmax_sum.values, plain.softmax_sum.values);
  }
}

TEST(FaRefDropout, GeneratorEqualsItsPackedMask) {
  Problem pb(DType::kFloat16, 3);
  pb.attrs.keep_prob = 0.6;
  pb.attrs.seed = 0x5eed;
  pb.attrs.offset = 48;
  const FlashAttentionScoreRefOutputs generated = flash_attention_score(pb.in, pb.attrs);

  const philox::DropoutShape shape{pb.n1, std::vector<int64_t>(pb.batch, pb.s1), std::vector<int64_t>(pb.batch, pb.s2)};
  const std::vector<uint8_t> bytes =
      philox::generate_drop_mask(philox::DropoutGenerator(pb.attrs.seed, pb.attrs.offset, pb.attrs.keep_prob), shape);
  std::vector<uint8_t> keep(pb.numels());
  for (int64_t k = 0; k < pb.numels(); ++k) keep[k] = (bytes[k >> 3] >> (k & 7)) & 1;
  EXPECT_LE(max_abs_diff(generated.attention_out.values, brute_out(pb, keep, 0.6)), 1e-12);

  pb.in.drop_mask = packed_mask(bytes);
  EXPECT_EQ(flash_attention_score(pb.in, pb.attrs).attention_out.values, generated.attention_out.values);

  // Another offset group gives another mask; an offset inside the same group of 16 gives the same one.
  pb.in.drop_mask.reset();
  pb.attrs.offset = 33;  // ceil(33/16) = 3 = ceil(48/16)
  EXPECT_EQ(flash_attention_score(pb.in, pb.attrs).attention_out.values, generated.attention_out.values);
  pb.attrs.offset = 49;
  EXPECT_NE(flash_attention_score(pb.in, pb.attrs).attention_out.values, generated.attention_out.values);
}

// TND with equal lengths is the BNSD stream: batch b starts at b·N1·S1·S2p in both (S2 = 19 pads to 32).
TEST(FaRefDropout, TndWithEqualLengthsMatchesBnsd) {
  Problem pb(DType::kFloat32, 5);
  pb.attrs.keep_prob = 0.8;
  pb.attrs.seed = -77;
  const FlashAttentionScoreRefOutputs bnsd = flash_attention_score(pb.in, pb.attrs);

  FlashAttentionScoreRefInputs tnd;
  auto to_tnd = [&](const HostTensor& t, int64_t s) {
    HostTensor r{t.dtype, {pb.batch * s, pb.n1, pb.d}, std::vector<double>(t.values.size())};
    for (int64_t b = 0; b < pb.batch; ++b)
      for (int64_t n = 0; n < pb.n1; ++n)
        for (int64_t i = 0; i < s; ++i)
          for (int64_t x = 0; x < pb.d; ++x)
            r.values[((b * s + i) * pb.n1 + n) * pb.d + x] = t.values[((b * pb.n1 + n) * s + i) * pb.d + x];
    return r;
  };
  tnd.query = to_tnd(pb.in.query, pb.s1);
  tnd.key = to_tnd(pb.in.key, pb.s2);
  tnd.value = to_tnd(pb.in.value, pb.s2);
  FlashAttentionScoreAttrs attrs = pb.attrs;
  attrs.input_layout = "TND";
  for (int64_t b = 1; b <= pb.batch; ++b) {
    attrs.actual_seq_qlen.push_back(b * pb.s1);
    attrs.actual_seq_kvlen.push_back(b * pb.s2);
  }
  const FlashAttentionScoreRefOutputs got = flash_attention_score(tnd, attrs);
  const HostTensor want = to_tnd(bnsd.attention_out, pb.s1);
  EXPECT_EQ(got.attention_out.values, want.values);
}

TEST(FaRefDropout, KeepProbOneIgnoresTheMask) {
  Problem pb(DType::kFloat32);
  const FlashAttentionScoreRefOutputs plain = flash_attention_score(pb.in, pb.attrs);
  pb.in.drop_mask = packed_mask(std::vector<uint8_t>((pb.numels() + 7) / 8, 0));
  EXPECT_EQ(flash_attention_score(pb.in, pb.attrs).attention_out.values, plain.attention_out.values);
  // keep_prob < 1 with an all-zero mask drops everything: out 0, statistics unchanged.
  pb.attrs.keep_prob = 0.5;
  const FlashAttentionScoreRefOutputs dropped = flash_attention_score(pb.in, pb.attrs);
  for (double x : dropped.attention_out.values) EXPECT_EQ(x, 0.0);
  EXPECT_EQ(dropped.softmax_sum.values, plain.softmax_sum.values);
}

TEST(FaRefDropout, Rejections) {
  Problem pb(DType::kFloat32);
  auto expect_invalid = [&](const FlashAttentionScoreRefInputs& in, const FlashAttentionScoreAttrs& attrs) {
    try {
      flash_attention_score(in, attrs);
      ADD_FAILURE() << "no error thrown";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kParamInvalid) << e.what();
    }
  };
  for (double keep_prob : {0.0, -0.5, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    FlashAttentionScoreAttrs attrs = pb.attrs;
    attrs.keep_prob = keep_prob;
    expect_invalid(pb.in, attrs);
  }
  FlashAttentionScoreAttrs attrs = pb.attrs;
  attrs.keep_prob = 0.9;
  attrs.offset = -16;
  expect_invalid(pb.in, attrs);
  attrs.offset = 0;
  FlashAttentionScoreRefInputs in = pb.in;
  in.drop_mask = packed_mask(std::vector<uint8_t>((pb.numels() + 7) / 8 - 1, 0xFF));  // one byte short
  expect_invalid(in, attrs);
  in.drop_mask = packed_mask(std::vector<uint8_t>((pb.numels() + 7) / 8, 0xFF));
  in.drop_mask->dtype = DType::kBool;
  expect_invalid(in, attrs);
}

}  // namespace
}  // namespace cannon::reference

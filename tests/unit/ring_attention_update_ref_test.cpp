// The float64 RingAttentionUpdate reference against the formula worked by hand: SBH and TND addresses, the
// lane rule (attn element d uses softmax lane d % 8), and cannon's rule for invalid rows (max -FLT_MAX).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "host/reference/ring_attention_update_ref.hpp"

namespace cannon::reference {
namespace {

constexpr double kFltMax = FLT_MAX;

HostTensor filled(DType dt, std::vector<int64_t> shape, double v) {
  HostTensor t{dt, std::move(shape), {}};
  t.values.assign(static_cast<std::size_t>(t.numel()), v);
  return t;
}

// One SBH row (S=1, B=1, N=1, D=16) with per-lane maxima, so the lane rule is visible.
RingAttentionUpdateRefInputs one_row() {
  RingAttentionUpdateRefInputs in;
  in.prev_attn_out = filled(DType::kFloat32, {1, 1, 16}, 0);
  in.cur_attn_out = filled(DType::kFloat32, {1, 1, 16}, 0);
  for (int d = 0; d < 16; ++d) {
    in.prev_attn_out.values[d] = 1.0 + d;
    in.cur_attn_out.values[d] = -2.0 * d;
  }
  in.prev_softmax_max = filled(DType::kFloat32, {1, 1, 1, 8}, 0);
  in.prev_softmax_sum = filled(DType::kFloat32, {1, 1, 1, 8}, 3.0);
  in.cur_softmax_max = filled(DType::kFloat32, {1, 1, 1, 8}, 0);
  in.cur_softmax_sum = filled(DType::kFloat32, {1, 1, 1, 8}, 5.0);
  for (int l = 0; l < 8; ++l) {
    in.prev_softmax_max.values[l] = 0.25 * l;
    in.cur_softmax_max.values[l] = 1.0 - 0.5 * l;
  }
  return in;
}

TEST(RauRef, MatchesTheFormulaPerLane) {
  const RingAttentionUpdateRefInputs in = one_row();
  const auto out = ring_attention_update(in, {});
  for (int d = 0; d < 16; ++d) {
    const int l = d % 8;
    const double mp = in.prev_softmax_max.values[l], mc = in.cur_softmax_max.values[l];
    const double m = std::max(mp, mc);
    const double sp = 3.0 * std::exp(mp - m), sc = 5.0 * std::exp(mc - m);
    EXPECT_DOUBLE_EQ(out.attn_out.values[d], (1.0 + d) * (sp / (sp + sc)) + (-2.0 * d) * (sc / (sp + sc))) << d;
    if (d < 8) {
      EXPECT_DOUBLE_EQ(out.softmax_max.values[l], m);
      EXPECT_DOUBLE_EQ(out.softmax_sum.values[l], sp + sc);
    }
  }
}

TEST(RauRef, InvalidSideContributesNothing) {
  RingAttentionUpdateRefInputs in = one_row();
  for (int l = 0; l < 8; ++l) {
    in.prev_softmax_max.values[l] = -kFltMax;
    in.prev_softmax_sum.values[l] = kFltMax;
  }
  for (double& v : in.prev_attn_out.values) v = 0;
  const auto out = ring_attention_update(in, {});
  for (int d = 0; d < 16; ++d) EXPECT_DOUBLE_EQ(out.attn_out.values[d], in.cur_attn_out.values[d]);
  for (int l = 0; l < 8; ++l) {
    EXPECT_DOUBLE_EQ(out.softmax_max.values[l], in.cur_softmax_max.values[l]);
    EXPECT_DOUBLE_EQ(out.softmax_sum.values[l], 5.0);
  }
}

TEST(RauRef, BothInvalidStaysAnInvalidRow) {
  RingAttentionUpdateRefInputs in = one_row();
  for (HostTensor* t : {&in.prev_softmax_max, &in.cur_softmax_max}) t->values.assign(8, -kFltMax);
  for (HostTensor* t : {&in.prev_softmax_sum, &in.cur_softmax_sum}) t->values.assign(8, kFltMax);
  const auto out = ring_attention_update(in, {});
  for (double v : out.attn_out.values) EXPECT_EQ(v, 0.0);
  for (double v : out.softmax_max.values) EXPECT_EQ(v, -kFltMax);
  for (double v : out.softmax_sum.values) EXPECT_EQ(v, kFltMax);
}

// TND, two batches of 2 and 1 tokens, N = 2, D = 8. Default layout: per-batch [N, S_b, 8] blocks, so slot 24
// (lane 0 of (0·2 + 1·2 + 1)·8) is token 1 head 1 and slot 16 is token 0 head 1. Token-major ("TND"): slot 24 is
// token 1 head 1 as well, slot 16 is token 1 head 0. Raising cur_sum in one slot moves that (token, head)'s out
// from 1·½ + 3·½ = 2 to 1·¼ + 3·¾ = 2.5.
TEST(RauRef, TndSoftmaxLayouts) {
  RingAttentionUpdateRefInputs in;
  in.prev_attn_out = filled(DType::kFloat16, {3, 2, 8}, 1.0);
  in.cur_attn_out = filled(DType::kFloat16, {3, 2, 8}, 3.0);
  in.prev_softmax_max = filled(DType::kFloat32, {3, 2, 8}, 0.0);
  in.prev_softmax_sum = filled(DType::kFloat32, {3, 2, 8}, 1.0);
  in.cur_softmax_max = filled(DType::kFloat32, {3, 2, 8}, 0.0);
  in.cur_softmax_sum = filled(DType::kFloat32, {3, 2, 8}, 1.0);
  in.actual_seq_qlen = {0, 2, 3};
  const int64_t slot_default = 24;
  for (int l = 0; l < 8; ++l) in.cur_softmax_sum.values[slot_default + l] = 3.0;
  RingAttentionUpdateAttrs attrs;
  attrs.input_layout = "TND";
  auto out = ring_attention_update(in, attrs);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t n = 0; n < 2; ++n)
      EXPECT_DOUBLE_EQ(out.attn_out.values[(t * 2 + n) * 8], t == 1 && n == 1 ? 2.5 : 2.0) << t << "," << n;
  for (int l = 0; l < 8; ++l) {
    in.cur_softmax_sum.values[slot_default + l] = 1.0;
    in.cur_softmax_sum.values[16 + l] = 3.0;
  }
  out = ring_attention_update(in, attrs);
  EXPECT_DOUBLE_EQ(out.attn_out.values[(0 * 2 + 1) * 8], 2.5);
  EXPECT_DOUBLE_EQ(out.attn_out.values[(1 * 2 + 0) * 8], 2.0);
  attrs.softmax_layout = "TND";
  out = ring_attention_update(in, attrs);
  EXPECT_DOUBLE_EQ(out.attn_out.values[(0 * 2 + 1) * 8], 2.0);
  EXPECT_DOUBLE_EQ(out.attn_out.values[(1 * 2 + 0) * 8], 2.5);
}

}  // namespace
}  // namespace cannon::reference

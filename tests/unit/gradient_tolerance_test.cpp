// The gradients' tolerance model (gradient_bound in tools/harness/tolerance_model.hpp): without statistics it gives
// the table, it grows with the terms, the accumulation length and the dtype, and deliberate backward faults,
// emulated through the float64 backward reference on generated "fag:" cases, land far outside it in every dtype.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_grad_ref.hpp"
#include "tools/drivers/fag/fag_case.hpp"
#include "tools/harness/tolerance_model.hpp"

namespace cannon::tools {
namespace {

using reference::AttentionGradStats;
using reference::FlashAttentionScoreGradRefOutputs;

constexpr DType kDtypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};

TEST(GradientTolerance, NoStatisticsGivesTheTable) {
  for (DType dt : kDtypes) {
    for (const char* out : {"dq", "dk", "dv", "dpse"}) {
      const ToleranceBound b = gradient_bound(out, dt, AttentionGradStats{});
      EXPECT_EQ(b.tol.atol, tolerance(Quantity::kGradient, dt).atol) << out;
      EXPECT_EQ(b.tol.rtol, tolerance(Quantity::kGradient, dt).rtol) << out;
      EXPECT_FALSE(b.from_model);
    }
  }
  EXPECT_THROW(gradient_bound("attention_out", DType::kFloat32, {}), Error);
}

TEST(GradientTolerance, GrowsWithTermsLengthAndDtype) {
  AttentionGradStats s;
  s.head_dim_k = s.head_dim_v = 64;
  s.max_row_keys = 100, s.max_key_rows = 100;
  s.max_dq_terms = s.max_dk_terms = s.max_dv_terms = 1;
  const double base = gradient_bound("dq", DType::kFloat32, s).tol.atol;
  EXPECT_GT(base, 0);
  AttentionGradStats more = s;
  more.max_dq_terms = 10;
  EXPECT_DOUBLE_EQ(gradient_bound("dq", DType::kFloat32, more).tol.atol, 10 * base);
  more = s;
  more.max_row_keys = 10000;
  EXPECT_GT(gradient_bound("dq", DType::kFloat32, more).tol.atol, base);
  EXPECT_GT(gradient_bound("dq", DType::kBFloat16, s).tol.atol, gradient_bound("dq", DType::kFloat16, s).tol.atol);
  EXPECT_GT(gradient_bound("dq", DType::kFloat16, s).tol.atol, 10 * base);
}

struct Grad {
  FagCase c;
  FlashAttentionScoreGradRefOutputs out;
};

FagCase make_case(const std::string& text) {
  FagCase c = describe_case(parse_fag_problem(text));
  generate_inputs(c, 23);
  return c;
}

FlashAttentionScoreGradRefOutputs run(const FagCase& c) {
  return reference::flash_attention_score_grad(c.ref_inputs(), c.attrs);
}

// The largest fraction of its bound any element of dq, dk or dv of `bad` uses against `good`.
double fault_excess(const FagCase& c, const FlashAttentionScoreGradRefOutputs& good,
                    const FlashAttentionScoreGradRefOutputs& bad) {
  double worst = 0;
  const std::pair<const char*, const reference::HostTensor*> outs[] = {
      {"dq", &good.dq}, {"dk", &good.dk}, {"dv", &good.dv}};
  const reference::HostTensor* bads[] = {&bad.dq, &bad.dk, &bad.dv};
  for (std::size_t o = 0; o < 3; ++o) {
    const Tolerance t = gradient_bound(outs[o].first, c.inputs.query.desc.dtype, good.stats).tol;
    const std::vector<double>& g = outs[o].second->values;
    for (std::size_t i = 0; i < g.size(); ++i)
      worst = std::max(worst, std::fabs(bads[o]->values[i] - g[i]) / (t.atol + t.rtol * std::fabs(g[i])));
  }
  return worst;
}

// A band of the diagonal alone: each row's one score has P = 1, so dS = dP - Dr = dy·v - dy·attention_in is an
// exact 0 in float64 that fp32, summing the two dot products in different orders, misses by a few ulp. The bound
// must stay above that: dS's terms, not |dS|, set it.
TEST(GradientTolerance, ExactCancellationKeepsABound) {
  const FagCase c = make_case("fag:b1n2g1s=33d=64:layout=BNSD:dt=bf16:pre=0:next=0:mask=ss:mask_density=0");
  const FlashAttentionScoreGradRefOutputs r = run(c);
  EXPECT_EQ(r.stats.max_abs_ds, 0);
  for (const char* out : {"dq", "dk"}) EXPECT_GT(gradient_bound(out, DType::kBFloat16, r.stats).tol.atol, 1e-6) << out;
}

// Each fault is a kernel bug the backward could have; the margin keeps it well outside the model.
class GradientToleranceFaults : public ::testing::TestWithParam<DType> {};

TEST_P(GradientToleranceFaults, DeliberateFaultsFail) {
  const std::string dt = dtype_name(GetParam());
  const FagCase p = make_case("fag:b1n4g2s1=113s2=71d=64:layout=BNSD:dt=" + dt);
  const FlashAttentionScoreGradRefOutputs good = run(p);
  constexpr double kMargin = 5;

  FagCase no_dr = p;  // D = rowsum(dy ∘ attention_in) left out
  no_dr.inputs.attention_in = encode_values(p.inputs.attention_in.desc.dtype, p.inputs.attention_in.desc.shape,
                                            std::vector<double>(p.inputs.attention_in.desc.numel(), 0.0));
  EXPECT_GT(fault_excess(p, good, run(no_dr)), kMargin) << "no Dr";

  FagCase wrong_head = p;  // query head 1 reads head 0's dy (BNSD: heads are contiguous blocks)
  std::vector<double> dy = decode_values(p.inputs.dy);
  const std::size_t head = dy.size() / 4;
  std::copy_n(dy.begin(), head, dy.begin() + head);
  wrong_head.inputs.dy = encode_values(p.inputs.dy.desc.dtype, p.inputs.dy.desc.shape, dy);
  EXPECT_GT(fault_excess(p, good, run(wrong_head)), kMargin) << "wrong dy head";

  FagCase stale_sum = p;  // softmax_sum of the previous row
  std::vector<double> sum = decode_values(p.inputs.softmax_sum);
  for (std::size_t i = sum.size() - 1; i >= 8; --i) sum[i] = sum[i - 8];
  stale_sum.inputs.softmax_sum = encode_values(DType::kFloat32, p.inputs.softmax_sum.desc.shape, sum);
  EXPECT_GT(fault_excess(p, good, run(stale_sum)), kMargin) << "stale softmax_sum";

  // A causal band whose edge is off by one (sparse mode 0 applies pre/next with an all-zero mask tensor).
  const FagCase band =
      make_case("fag:b1n4g2s1=113s2=71d=64:layout=BNSD:dt=" + dt + ":pre=200:next=0:mask=ss:mask_density=0");
  FagCase shifted = band;
  shifted.attrs.next_tokens = 1;
  EXPECT_GT(fault_excess(band, run(band), run(shifted)), kMargin) << "band off by one";

  FlashAttentionScoreGradRefOutputs no_scale = good;  // dk written without the scale
  for (double& x : no_scale.dk.values) x /= p.attrs.scale;
  EXPECT_GT(fault_excess(p, good, no_scale), kMargin) << "dk unscaled";
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GradientToleranceFaults, ::testing::ValuesIn(kDtypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace cannon::tools

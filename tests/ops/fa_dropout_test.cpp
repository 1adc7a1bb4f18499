// Dropout through the public API: the mask API returns exactly the generator's bits (checked against the host
// Philox), feeding them back as drop_mask reproduces the run bit for bit, the kept fraction at S=2048 is within
// 1% of keep_prob, runs are reproducible from seed and offset, and seed/offset/numels come back as MindSpore's.
#include <gtest/gtest.h>

#include <bitset>
#include <numeric>

#include "host/runtime/philox.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

struct DropRun {
  std::vector<uint8_t> out, max, sum;
  FlashAttentionScoreResult result;
};

DropRun run_with(const tools::FaCase& fa, const FlashAttentionScoreAttrs& attrs,
                 const std::optional<TensorView>& drop) {
  const Context& ctx = test_context();
  DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
               v = to_device(ctx, fa.inputs.value);
  FlashAttentionScoreOptionalInputs optional;
  optional.drop_mask = drop;
  DropRun r;
  r.result = flash_attention_score(ctx, q.view(), k.view(), v.view(), optional, attrs);
  r.out = from_device(ctx, r.result.attention_out);
  r.max = from_device(ctx, r.result.softmax_max);
  r.sum = from_device(ctx, r.result.softmax_sum);
  return r;
}

FlashAttentionScorePlan plan_of(const tools::FaCase& fa, const FlashAttentionScoreAttrs& attrs) {
  return plan_flash_attention_score(test_context(), fa.descs(), attrs);
}

TEST(FaDropout, MaskApiIsTheGeneratorsStream) {
  for (const char* text :
       {"fa:b2n3g1s1=37s2=53d=64:layout=BSND:dt=fp32", "fa:n2g1d=64:layout=TND:dt=bf16:seqq=5,5,40:seqkv=17,30,30"}) {
    tools::FaCase fa = make_case(text);
    fa.attrs.keep_prob = 0.8;
    fa.attrs.seed = -12345;
    fa.attrs.offset = 37;
    FlashAttentionScorePlan plan = plan_of(fa, fa.attrs);
    DeviceTensor mask = flash_attention_score_dropout_mask(test_context(), plan);
    philox::DropoutShape shape;
    shape.n1 = detail::PlanAccess::data(plan).problem.n1;
    shape.s1 = detail::PlanAccess::data(plan).problem.seqs.q_len;
    shape.s2 = detail::PlanAccess::data(plan).problem.seqs.kv_len;
    const auto want = philox::generate_drop_mask(philox::DropoutGenerator(-12345, 37, 0.8), shape);
    EXPECT_EQ(from_device(test_context(), mask), want) << text;
    EXPECT_EQ(plan.numels, shape.numels()) << text;
  }
}

TEST(FaDropout, GeneratedMaskFedBackGivesTheSameBits) {
  tools::FaCase fa = make_case("fa:b1n4g2s1=113s2=203d=64:layout=BNSD:dt=fp16");
  fa.attrs.keep_prob = 0.7;
  fa.attrs.seed = 7;
  fa.attrs.offset = 160;
  DropRun generated = run_with(fa, fa.attrs, std::nullopt);
  DeviceTensor mask = flash_attention_score_dropout_mask(test_context(), plan_of(fa, fa.attrs));
  DropRun fed = run_with(fa, fa.attrs, mask.view());
  EXPECT_EQ(generated.out, fed.out);
  EXPECT_EQ(generated.max, fed.max);
  EXPECT_EQ(generated.sum, fed.sum);
  DropRun again = run_with(fa, fa.attrs, std::nullopt);
  EXPECT_EQ(generated.out, again.out);  // same seed and offset: bitwise the same
  FlashAttentionScoreAttrs other = fa.attrs;
  other.seed = 8;
  EXPECT_NE(generated.out, run_with(fa, other, std::nullopt).out);
  EXPECT_EQ(generated.result.seed, 7);
  EXPECT_EQ(generated.result.offset, 160);
  EXPECT_EQ(generated.result.numels, 4 * 113 * 203);
}

TEST(FaDropout, KeptFractionAtS2048IsWithinOnePercent) {
  tools::FaCase fa = make_case("fa:b1n2g1s=2048d=64:layout=BSND:dt=fp32");
  for (double keep_prob : {0.9, 0.5, 0.1}) {
    fa.attrs.keep_prob = keep_prob;
    fa.attrs.seed = 2024;
    DeviceTensor mask = flash_attention_score_dropout_mask(test_context(), plan_of(fa, fa.attrs));
    const std::vector<uint8_t> bytes = from_device(test_context(), mask);
    const double kept = std::accumulate(bytes.begin(), bytes.end(), 0.0,
                                        [](double a, uint8_t b) { return a + std::bitset<8>(b).count(); });
    EXPECT_NEAR(kept / (2.0 * 2048 * 2048), keep_prob, 0.01) << keep_prob;
  }
}

TEST(FaDropout, MaskApiNeedsAGeneratedMask) {
  tools::FaCase fa = make_case("fa:b1n2g1s=16d=64:layout=BSND:dt=fp32");
  try {
    flash_attention_score_dropout_mask(test_context(), plan_of(fa, fa.attrs));  // keep_prob 1
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid);
    EXPECT_NE(std::string(e.what()).find("dropout mask"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cannon::optest

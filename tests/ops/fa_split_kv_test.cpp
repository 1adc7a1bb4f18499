// Decode and split-KV on the device: the plan picks 16-row entries and splits few, long entries by itself; forced
// splits (CANNON_TUNE's fa.SPLIT_KV through a Context of its own Config) from two chunks up to one tile per chunk match
// the float64 reference with poisoned outputs and workspace; 16-row entries give the 96-row kernel's bits; and the
// workspace holds exactly the partial slots. tests/cases/test_fa_decode covers every feature under the split.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "cannon/config.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/kernel_config.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

TEST(FaSplitKv, DecodePlanUsesSixteenRowsAndSplits) {
  // One entry (B·N1 = 1) of 129 tiles: fewer than 4 entries per compute unit, so it is cut into chunks.
  const FlashAttentionScorePlan plan = plan_fa("fa:b1n1s1=1s2=4097d=128:layout=BSND:dt=fp32");
  const auto& d = fa_plan_data(plan);
  EXPECT_EQ(d.kernel.block_m, 16);
  ASSERT_TRUE(d.split.on());
  EXPECT_GE(d.split.parts, 2);
  EXPECT_EQ(d.split.merges.size(), std::size_t{WK_STRIDE});  // one split entry
  const std::size_t slot_bytes = SPLIT_SLOT_FLOATS(std::size_t{16}, std::size_t{128}) * sizeof(float);
  EXPECT_EQ(d.ledger.bytes("split_partials"), static_cast<std::size_t>(d.split.parts) * slot_bytes);
  EXPECT_GE(plan.workspace_size, d.ledger.bytes("split_partials"));
  // Every chunk is a work entry with its own slot; together they list the entry's tiles once.
  std::size_t chunks = 0, tiles = 0;
  for (std::size_t e = 0; e < d.work.size(); e += WK_STRIDE) {
    EXPECT_GE(d.work[e + WK_PART], 0);
    ++chunks;
    tiles += static_cast<std::size_t>(d.work[e + WK_TILES]);
  }
  EXPECT_EQ(chunks, static_cast<std::size_t>(d.split.parts));
  EXPECT_EQ(tiles, d.tiles.size());
}

// GQA decode with enough entries for the threads is still cut, into chunks of about 1 MiB of K and V (1 KiB of fp32
// K and V per key at D = 128: 1024 keys, 32 tiles of 32 keys or 16 of 64, as the tuned BLOCK_N says), and the heads of
// a group run each chunk back to back. S1 = 2: one query row per head would fold the group into one head's rows
// (fa_decode_fold_test.cpp).
TEST(FaSplitKv, GqaDecodeCutsCacheSizedChunks) {
  const FlashAttentionScorePlan plan = plan_fa("fa:b1n64g4s1=2s2=8192d=128:layout=BSND:dt=fp32");
  const auto& d = fa_plan_data(plan);
  ASSERT_TRUE(d.split.on());
  EXPECT_EQ(d.split.rule.group, 4);
  const int block_n = d.kernel.block_n;
  ASSERT_EQ(1024 % block_n, 0);
  EXPECT_EQ(d.split.rule.min_tiles, 1024 / block_n);  // 1 MiB / (BLOCK_N keys · 256 floats · 4 bytes)
  EXPECT_EQ(d.split.parts, 64 * 8);                   // 8192 keys in chunks of 1024
  // The first four entries are the four query heads of K/V head 0 on one chunk.
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(d.work[k * WK_STRIDE + WK_TILE0], d.work[WK_TILE0]);
    EXPECT_EQ(d.work[k * WK_STRIDE + WK_HEAD] / 4, d.work[WK_HEAD] / 4);
  }
  expect_case_passes(run_case(tools::parse_fa_problem("fa:b1n8g4s1=3s2=8192d=128:layout=BNSD:dt=fp16")));
}

// Many GQA decode entries: the default split keeps its partial results under 64 MiB (fewer chunks, then none), so
// it never makes a problem fail the device checks. Host-only plans: no inputs are generated, but the plans still check
// the tensors against the device's limits, so each K and V stays at 1 GiB or less (PoCL's CPU device may offer only
// 4 GiB in all and 2 GiB per buffer).
TEST(FaSplitKv, DefaultSplitWorkspaceIsBounded) {
  for (const char* text :
       {"fa:b16n64g8s1=2s2=32768d=128:layout=BSND:dt=fp32", "fa:b64n64g8s1=16s2=8192d=128:layout=BSND:dt=bf16"}) {
    const tools::FaCase fa = tools::describe_case(tools::parse_fa_problem(text));
    const FlashAttentionScorePlan plan = plan_flash_attention_score(
        PlanTarget{test_context().info(), test_context().config(), nullptr}, fa.descs(), fa.attrs);
    EXPECT_LE(plan.workspace_size, std::size_t{64} << 20) << text;
    EXPECT_EQ(fa_plan_data(plan).split.on(), text[4] == '1') << text;  // 1024 entries: 7 chunks; 4096: none
  }
}

TEST(FaSplitKv, PrefillPlanIsUnchanged) {
  const FlashAttentionScorePlan plan = plan_fa("fa:b2n4g2s=256d=128:layout=BSND:dt=fp32");
  const auto& d = fa_plan_data(plan);
  // The prefill rows per entry (heuristics or the tuning database), not decode's 16.
  const KernelConfig prefill = choose_kernel_config(test_context().info(), DType::kFloat32, 128, 128,
                                                    test_context().config(), tune::MaskClass::kDense, 256);
  EXPECT_EQ(d.kernel.block_m, prefill.block_m);
  EXPECT_FALSE(d.split.on());
  EXPECT_EQ(plan.workspace_size, 0u);
  for (std::size_t e = 0; e < d.work.size(); e += WK_STRIDE) EXPECT_EQ(d.work[e + WK_PART], -1);
}

TEST(FaSplitKv, GenericVariantNeverSplits) {
  const FlashAttentionScorePlan plan =
      plan_fa("fa:b1n1s1=1s2=4097d=128:layout=BSND:dt=fp32", tuned_context({{"fa.VARIANT", 1}, {"fa.SPLIT_KV", 4}}));
  EXPECT_FALSE(fa_plan_data(plan).split.on());
  EXPECT_EQ(plan.workspace_size, 0u);
}

TEST(FaSplitKv, RejectsBadSplitKv) {
  const tools::FaCase fa = make_case("fa:b1n1s1=1s2=64d=64:layout=BSND:dt=fp32");
  for (const long bad : {-1L, 65537L}) {  // 0 is automatic
    expect_error(
        [&] {
          plan_flash_attention_score(tuned_context({{"fa.SPLIT_KV", bad}}), fa.descs(), fa.attrs);
        },
        Status::kParamInvalid, {"CANNON_TUNE", "SPLIT_KV"});
  }
}

// 16-row entries compute each row's lanes exactly as 96-row entries do: same bits, unsplit.
TEST(FaSplitKv, SixteenRowEntriesKeepTheBits) {
  for (const char* text : {"fa:b2n4g2s1=7s2=1023d=64:layout=BSH:dt=bf16:sparse=0:mask=bnss:keep_prob=0.9",
                           "fa:n2g1d=128:layout=TND:dt=fp16:seqq=1,17,20:seqkv=300,600,1000:pse_type=0:pse=bn1s"}) {
    const tools::FaProblem problem = tools::parse_fa_problem(text);
    const CaseRun small = run_case(problem, tuned_context({{"fa.SPLIT_KV", 1}}));
    const CaseRun wide = run_case(problem, tuned_context({{"fa.SPLIT_KV", 1}, {"fa.BLOCK_M", 96}}));
    EXPECT_EQ(fa_plan_data(plan_fa(text, tuned_context({{"fa.SPLIT_KV", 1}}))).kernel.block_m, 16);
    EXPECT_EQ(fa_plan_data(plan_fa(text, tuned_context({{"fa.SPLIT_KV", 1}, {"fa.BLOCK_M", 96}}))).kernel.block_m, 96);
    expect_case_passes(small);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(small.dev.list()[i].bytes, wide.dev.list()[i].bytes) << small.repro << ": output " << i;
    }
  }
}

// Forced splits on every layout, with empty and short TND batches, masks, pse and dropout.
constexpr const char* kForced[] = {
    "fa:b1n1s1=1s2=1023d=128:layout=BSND:dt=fp32",
    "fa:b2n4g4s1=7s2=513d=64:layout=BNSD:dt=fp16:sparse=0:mask=b1ss:mask_rows=2",
    "fa:b1n2g2s1=16s2=700d=59:layout=SBH:dt=bf16:keep_prob=0.8",
    "fa:b1n2g1s1=16s2=900d=64:layout=BSH:dt=fp32:sparse=4:pre=300:next=-100:pse_type=1:pse=bn1s",
    "fa:n2g2d=64:layout=TND:dt=fp32:seqq=1,8,24,24,25:seqkv=1023,1023,1500,1500,1501:inner_precise=2:sparse=0:mask="
    "ss:mask_rows=1",
    "fa:b1n1s=300d=64:layout=BSND:dt=fp32:pse_type=2:pse=slopes_n:sparse=3",
};

class FaSplitKvForced : public testing::TestWithParam<std::tuple<const char*, long>> {};

TEST_P(FaSplitKvForced, MatchesReference) {
  const auto& [text, k] = GetParam();
  const Context& ctx = tuned_context({{"fa.SPLIT_KV", k}});
  const FlashAttentionScorePlan plan = plan_fa(text, ctx);
  EXPECT_TRUE(fa_plan_data(plan).split.on()) << text << " did not split at SPLIT_KV=" << k;
  expect_case_passes(run_case(tools::parse_fa_problem(text), ctx));
}

INSTANTIATE_TEST_SUITE_P(Chunks, FaSplitKvForced,
                         testing::Combine(testing::ValuesIn(kForced), testing::Values(2L, 5000L)),
                         [](const testing::TestParamInfo<std::tuple<const char*, long>>& info) {
                           return std::to_string(info.index) + "_k" + std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace cannon::optest

// Per-head K/V panels (fa.KV_PANELS; host/ops/flash_attention_score.cpp kv_panel_bytes): the plan packs only where
// it pays by default (large heads whose rows lie a token apart, read by several entries), never for BNSD, small heads,
// decode or the generic variant, and books exactly one fp32 panel per (batch, kv head) in the workspace. Forced panels
// match the float64 reference with poisoned outputs and workspace, and give the bytes the unpacked run gives: the
// panels hold K and V's values exactly and the tiles read them in the same order. test_fa_ci runs under
// fa.KV_PANELS=2 as ctest's conformance_fa_panels.
#include <gtest/gtest.h>

#include <string>

#include "host/ops/dry_plan.hpp"
#include "host/ops/kernel_config.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

// The Context of one fa.KV_PANELS value; -1: the default.
const Context& panels_context(long panels) {
  return panels < 0 ? test_context() : tuned_context({{"fa.KV_PANELS", panels}});
}

// The panels' bytes in a plan's workspace (0 when it has none).
std::size_t panel_bytes(const std::string& text, long panels) {
  const FlashAttentionScorePlan plan = plan_fa(text, panels_context(panels));
  const auto& d = fa_plan_data(plan);
  if (d.kv_panels == KV_PANEL_NONE) return 0;
  EXPECT_GE(plan.workspace_size, d.ledger.bytes("kv_panels")) << text;
  return d.ledger.bytes("kv_panels");
}

bool cpu_variant(const std::string& text) {
  return fa_plan_data(plan_fa(text, panels_context(-1))).kernel.variant == KernelVariant::kCpu;
}

TEST(FaKvPanels, DefaultPacksLargeHeadsATokenApart) {
  if (!cpu_variant("fa:b1n8s=1024d=128:layout=BSND:dt=fp32")) GTEST_SKIP() << "the device runs the generic variant";
  // fp32 K and V rows of D = 128 (2·128·4 bytes a key): 1024 keys make a 1 MiB head, 8 heads, one panel each.
  EXPECT_EQ(panel_bytes("fa:b1n8s=1024d=128:layout=BSND:dt=fp32", -1), std::size_t{8} * 1024 * 256 * 4);
  EXPECT_EQ(panel_bytes("fa:b2n4g2s1=300s2=4096d=64:layout=SBH:dt=bf16", -1), std::size_t{2} * 2 * 4096 * 128 * 4);
  // TND sequences are cumulative ends: key lengths 2048 and 476.
  EXPECT_EQ(panel_bytes("fa:n2d=128:layout=TND:dt=fp16:seqq=200,300:seqkv=2048,2524", -1),
            std::size_t{2} * 2524 * 256 * 4);
  // Head dims pad to 16 in the panels.
  EXPECT_EQ(panel_bytes("fa:b1n2s=2048d=120:layout=BSH:dt=fp32", -1), std::size_t{2} * 2048 * 256 * 4);
}

TEST(FaKvPanels, DefaultSkipsWhereTheCopyDoesNotPay) {
  if (!cpu_variant("fa:b1n8s=1024d=128:layout=BSND:dt=fp32")) GTEST_SKIP() << "the device runs the generic variant";
  EXPECT_EQ(panel_bytes("fa:b1n8s=2048d=128:layout=BNSD:dt=fp32", -1), 0u);           // contiguous heads
  EXPECT_EQ(panel_bytes("fa:b1n8s=1024d=64:layout=BSND:dt=fp32", -1), 0u);            // a 512 KiB head
  EXPECT_EQ(panel_bytes("fa:b1n8s1=1024s2=1023d=128:layout=BSND:dt=fp32", -1), 0u);   // 1 KiB short of 1 MiB
  EXPECT_EQ(panel_bytes("fa:b1n8s=2048d=128:layout=BSND:dt=fp32:sparse=3", -1), 0u);  // causal: heads interleave
  EXPECT_EQ(panel_bytes("fa:b1n8s=1024d=64:layout=BSND:dt=fp32", -1), 0u);            // a 512 KiB head
  EXPECT_EQ(panel_bytes("fa:b1n1s=4096d=128:layout=BSND:dt=fp32", -1), 0u);           // one kv head: rows D apart
  EXPECT_EQ(panel_bytes("fa:b1n8s1=96s2=4096d=128:layout=BSND:dt=fp32", -1), 0u);     // one entry reads each head
  EXPECT_EQ(panel_bytes("fa:b1n8s1=1s2=4096d=128:layout=BSND:dt=fp32", -1), 0u);      // decode
  EXPECT_EQ(panel_bytes("fa:b1n8s=2048d=128:layout=BSND:dt=fp32", 0), 0u);            // fa.KV_PANELS=0
}

TEST(FaKvPanels, ForcedWhereverBlocksAreReused) {
  if (!cpu_variant("fa:b1n8s=1024d=128:layout=BSND:dt=fp32")) GTEST_SKIP() << "the device runs the generic variant";
  EXPECT_EQ(panel_bytes("fa:b1n2s=200d=64:layout=BNSD:dt=fp32", 2), std::size_t{2} * 200 * 128 * 4);
  EXPECT_EQ(panel_bytes("fa:b1n4g4s1=8s2=300d=64:layout=BSND:dt=bf16:sparse=0:mask=ss", 2), std::size_t{300} * 128 * 4);
  EXPECT_EQ(panel_bytes("fa:b1n2s1=90s2=300d=64:layout=BSND:dt=fp32", 2), 0u);  // one entry per head, no group
  EXPECT_EQ(panel_bytes("fa:b1n2s=200d=64:layout=BNSD:dt=fp32", 2),
            panel_bytes("fa:b1n2s=200d=64:layout=BSND:dt=fp32", 2));
}

// The panels are optional: where they would not fit the device's largest buffer or its memory, the plan packs none
// and the problem still plans (host/ops/dry_plan.hpp: planned against a described device).
TEST(FaKvPanels, LeftOutWhereTheDeviceHasNoRoom) {
  if (!cpu_variant("fa:b1n8s=1024d=128:layout=BSND:dt=fp32")) GTEST_SKIP() << "the device runs the generic variant";
  const tools::FaCase fa = make_case("fa:b1n8s=1024d=128:layout=BSND:dt=fp32");
  DeviceInfo dev = test_context().info();
  dev.max_alloc_size = 4 << 20;  // each tensor (4 MiB) fits, the 8 MiB of panels do not
  dev.global_mem_size = 64 << 20;
  const FlashAttentionScorePlan small = plan_flash_attention_score(PlanTarget::host(dev), fa.descs(), fa.attrs);
  EXPECT_EQ(fa_plan_data(small).kv_panels, KV_PANEL_NONE);
  EXPECT_EQ(small.workspace_size, 0u);
  dev.max_alloc_size = 8 << 20;
  dev.global_mem_size = 24 << 20;  // q, k, v, out and the stats fit, and 8 MiB more do not
  EXPECT_EQ(fa_plan_data(plan_flash_attention_score(PlanTarget::host(dev), fa.descs(), fa.attrs)).kv_panels,
            KV_PANEL_NONE);
  dev.global_mem_size = 64 << 20;
  const FlashAttentionScorePlan roomy = plan_flash_attention_score(PlanTarget::host(dev), fa.descs(), fa.attrs);
  EXPECT_NE(fa_plan_data(roomy).kv_panels, KV_PANEL_NONE);
  EXPECT_GE(roomy.workspace_size, std::size_t{8} << 20);
}

TEST(FaKvPanels, RejectsBadKvPanels) {
  for (const long bad : {-1L, 3L}) {
    expect_error(
        [&] {
          plan_fa("fa:b1n1s=64d=64:layout=BSND:dt=fp32", tuned_context({{"fa.KV_PANELS", bad}}));
        },
        Status::kParamInvalid, {"CANNON_TUNE", "KV_PANELS"});
  }
}

// Every layout and dtype, GQA, short and empty TND batches, masks, pse and dropout: panels against the float64
// reference, and the same bytes as the unpacked run.
constexpr const char* kCases[] = {
    "fa:b2n4g2s1=113s2=300d=64:layout=BSND:dt=fp32:sparse=3",
    "fa:b1n2g1s1=200s2=129d=128:layout=BNSD:dt=bf16:pse_type=1:pse=bn1s",
    "fa:b2n2g2s1=150s2=97d=59:layout=SBH:dt=fp16:keep_prob=0.8",
    "fa:b1n4g4s1=7s2=513d=64:layout=BSH:dt=fp32:sparse=4:pre=300:next=-100",
    "fa:n2g2dk=80dv=64:layout=TND:dt=bf16:seqq=1,1,121,201:seqkv=300,305,305,562:sparse=0:mask=ss:mask_rows=1",
    "fa:b1n2s=300d=64:layout=BSND:dt=fp32:pse_type=2:pse=slopes_n:sparse=2",
};

class FaKvPanelsCases : public testing::TestWithParam<const char*> {};

TEST_P(FaKvPanelsCases, MatchReferenceAndUnpackedBytes) {
  const std::string text = GetParam();
  const FlashAttentionScorePlan plan = plan_fa(text, panels_context(2));
  if (fa_plan_data(plan).kernel.variant != KernelVariant::kCpu) GTEST_SKIP() << "the device runs the generic variant";
  EXPECT_NE(fa_plan_data(plan).kv_panels, KV_PANEL_NONE) << text << " packed no panels at fa.KV_PANELS=2";
  const tools::FaProblem problem = tools::parse_fa_problem(text);
  const CaseRun packed = run_case(problem, panels_context(2));
  const CaseRun unpacked = run_case(problem, panels_context(0));
  expect_case_passes(packed);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(packed.dev.list()[i].bytes, unpacked.dev.list()[i].bytes) << packed.repro << ": output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Panels, FaKvPanelsCases, testing::ValuesIn(kCases));

}  // namespace
}  // namespace cannon::optest

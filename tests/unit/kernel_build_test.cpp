// Every kernel program cannon builds compiles without a warning: FlashAttentionScore (cpu and generic variants),
// its dropout mask, RingAttentionUpdate (per-row and per-batch-block softmax layouts) and NsaSelectedAttention (cpu
// and generic), each for fp32, fp16 and bf16, the cpu variants at vector widths 4, 8 and the device's own. The build
// logs come from the Context's program cache (PoCL's on-disk cache keeps each program's log with its binary, so a
// cached build still reports it).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cannon/cannon.hpp"
#include "host/runtime/context_impl.hpp"

namespace cannon {
namespace {

TensorDesc desc(DType dtype, std::vector<int64_t> shape) { return {dtype, std::move(shape)}; }

// One small problem per operator and dtype; plans build the programs.
void plan_everything(const Context& ctx, DType dt) {
  FlashAttentionScoreAttrs fa;
  fa.head_num = 2;
  fa.keep_prob = 0.5;
  plan_flash_attention_score(ctx, {desc(dt, {1, 8, 2, 64}), desc(dt, {1, 8, 2, 64}), desc(dt, {1, 8, 2, 64})}, fa);
  const TensorDesc sbh_attn = desc(dt, {4, 1, 128}), sbh_stats = desc(DType::kFloat32, {1, 2, 4, 8});
  plan_ring_attention_update(ctx, {sbh_attn, sbh_stats, sbh_stats, sbh_attn, sbh_stats, sbh_stats, std::nullopt},
                             {"SBH", ""});
  const TensorDesc tnd_attn = desc(dt, {4, 2, 64}), tnd_stats = desc(DType::kFloat32, {4, 2, 8});
  plan_ring_attention_update(
      ctx, {tnd_attn, tnd_stats, tnd_stats, tnd_attn, tnd_stats, tnd_stats, desc(DType::kInt64, {3})}, {"TND", ""});
  NsaSelectedAttentionAttrs nsa;
  nsa.head_num = 2;
  nsa.select_block_size = 16;
  nsa.select_block_count = 2;
  nsa.actual_seq_qlen = {4};
  nsa.actual_seq_kvlen = {32};
  plan_nsa_selected_attention(ctx,
                              {desc(dt, {4, 2, 64}), desc(dt, {32, 1, 64}), desc(dt, {32, 1, 64}),
                               desc(DType::kInt32, {4, 1, 2}), std::nullopt},
                              nsa);
}

TEST(KernelBuild, EveryProgramCompilesWithoutWarnings) {
  std::vector<std::pair<std::string, std::string>> logs;
  // The cpu variants at the device's vector width and at the other two (kernels/common/vec.clh), then generic.
  for (const auto& [variant, vw] : {std::pair{0, 0}, {0, 4}, {0, 8}, {1, 0}}) {
    Config config = Config::global();
    // Every program from source: one loaded from the on-disk binary cache (CANNON_PROGRAM_CACHE) has no compiler log.
    config.program_cache.clear();
    config.tune = {{"fa.VARIANT", variant}, {"nsa.VARIANT", variant}};
    if (vw != 0) config.tune["fa.VW"] = config.tune["nsa.VW"] = vw;
    const Context ctx = Context::create("", config);
    if (variant == 0 && !ctx.info().pocl) continue;  // the cpu variants run only on PoCL's CPU device
    for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) plan_everything(ctx, dt);
    // The dropout mask's program takes no variant or dtype.
    FlashAttentionScoreAttrs fa;
    fa.head_num = 1;
    fa.keep_prob = 0.5;
    const TensorDesc qkv = desc(DType::kFloat32, {1, 4, 1, 16});
    flash_attention_score_dropout_mask(ctx, plan_flash_attention_score(ctx, {qkv, qkv, qkv}, fa));
    for (auto& entry : detail::ContextAccess::impl(ctx).programs.build_logs()) logs.push_back(std::move(entry));
  }
  EXPECT_GE(logs.size(), 13u);  // more where the cpu variants build (three widths)
  for (const auto& [options, log] : logs) {
    EXPECT_EQ(log.find("warning"), std::string::npos) << "build with '" << options << "' warns:\n" << log;
  }
}

}  // namespace
}  // namespace cannon

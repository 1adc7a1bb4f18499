// The mask prepass on the device (kernels/prepass/fa_mask_prepass.clh) against the rule it implements, restated
// element by element here: for every work entry, the refined tile list it leaves in the workspace must hold the
// planned tiles minus those whose every element is masked (when each row of the block keeps an unmasked visible
// score, or invalid-line mode is on), with tiles that have no masked element and are FULL under the band rule
// turned FULL. The masks below make it drop and promote tiles, so a prepass that does nothing fails too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "host/ops/plan_access.hpp"
#include "host/schedule/tile_plan.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

struct PrepassCase {
  std::string name;
  int64_t batch, n1, s1, s2;
  bool per_head;            // mask [B,N1,S1,S2]; otherwise [S1,S2], shared by every head and batch
  int64_t sparse_mode;      // 0 (band from pre/next) or 1 (all visible)
  int64_t pre, next;        // sparse_mode 0
  int64_t masked_row = -1;  // a query row masked entirely (its block keeps every tile)
};

// gtest prints parameters through PrintTo (found by ADL): the case name, not the struct's bytes.
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const PrepassCase& c, std::ostream* os) { *os << c.name; }

// Causal (j > i masked) in head 0; other heads shift the diagonal by their index, so heads differ.
uint8_t masked(const PrepassCase& c, int64_t head, int64_t i, int64_t j) {
  if (i == c.masked_row) return 1;
  return j > i + (c.per_head ? head * 37 : 0) ? 1 : 0;
}

// The refined tiles of one work entry as the rule says they must be.
std::vector<int32_t> expected_tiles(const FaProblem& p, const KernelConfig& k, const std::vector<uint8_t>& mask,
                                    const PrepassCase& c, const int32_t* wk, const std::vector<int32_t>& tiles) {
  const int64_t b = wk[WK_BATCH], n1 = wk[WK_HEAD], row0 = wk[WK_ROW0];
  const int64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
  const schedule::BandRule& rule = p.masks.rules[b];
  const int64_t r1 = std::min<int64_t>(row0 + k.block_m, s1);
  auto at = [&](int64_t i, int64_t j) {
    const int64_t slice = c.per_head ? (b * c.n1 + n1) * c.s1 * c.s2 : 0;
    return mask[static_cast<std::size_t>(slice + i * c.s2 + j)];
  };
  bool can_drop = true;
  for (int64_t i = row0; i < r1 && !p.masks.invalid_line; ++i) {
    bool keeps = false;
    for (int64_t j = 0; j < s2 && !keeps; ++j) keeps = rule.visible(i, j) && !at(i, j);
    can_drop = can_drop && keeps;
  }
  std::vector<int32_t> out;
  for (int32_t t = wk[WK_TILE0]; t < wk[WK_TILE0] + wk[WK_TILES]; ++t) {
    const int64_t c0 = schedule::tile_col0(tiles[t]), c1 = std::min<int64_t>(c0 + k.block_n, s2);
    int64_t set = 0;
    for (int64_t i = row0; i < r1; ++i) {
      for (int64_t j = c0; j < c1; ++j) set += at(i, j);
    }
    if (set == (r1 - row0) * (c1 - c0) && can_drop) continue;
    const bool full = set == 0 && schedule::classify_tile(rule, row0, r1, c0, c1) == schedule::TileClass::kFull;
    out.push_back(full ? tiles[t] & ~TILE_PARTIAL_BIT : tiles[t]);
  }
  return out;
}

std::vector<int32_t> ints_at(const std::vector<uint8_t>& bytes, std::size_t offset, std::size_t count) {
  std::vector<int32_t> v(count);
  std::memcpy(v.data(), bytes.data() + offset, count * sizeof(int32_t));
  return v;
}

class FaMaskPrepass : public testing::TestWithParam<PrepassCase> {};

TEST_P(FaMaskPrepass, RefinesTilesAsTheRuleSays) {
  const PrepassCase& c = GetParam();
  const Context& ctx = test_context();
  const TensorDesc q{DType::kFloat32, {c.batch, c.s1, c.n1, 16}}, kv{DType::kFloat32, {c.batch, c.s2, c.n1, 16}};
  const TensorDesc mask_desc{
      DType::kUInt8, c.per_head ? std::vector<int64_t>{c.batch, c.n1, c.s1, c.s2} : std::vector<int64_t>{c.s1, c.s2}};
  std::vector<uint8_t> mask(static_cast<std::size_t>(mask_desc.numel()));
  for (int64_t b = 0; b < (c.per_head ? c.batch : 1); ++b) {
    for (int64_t h = 0; h < (c.per_head ? c.n1 : 1); ++h) {
      for (int64_t i = 0; i < c.s1; ++i) {
        for (int64_t j = 0; j < c.s2; ++j)
          mask[((b * (c.per_head ? c.n1 : 1) + h) * c.s1 + i) * c.s2 + j] = masked(c, h, i, j);
      }
    }
  }
  FlashAttentionScoreAttrs attrs;
  attrs.head_num = c.n1;
  attrs.sparse_mode = c.sparse_mode;
  attrs.pre_tokens = c.pre;
  attrs.next_tokens = c.next;
  const FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, {q, kv, kv, {}, {}, mask_desc}, attrs);
  const auto& d = detail::PlanAccess::data(plan);
  ASSERT_TRUE(d.prepass) << "the plan should refine its tiles with the mask";

  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> uni(-1, 1);
  auto random = [&](const TensorDesc& desc) {
    std::vector<float> v(static_cast<std::size_t>(desc.numel()));
    for (float& x : v) x = uni(rng);
    DeviceTensor t = allocate(ctx, desc);
    upload(ctx, t.view(), v.data(), v.size() * 4);
    return t;
  };
  DeviceTensor dq = random(q), dk = random(kv), dv = random(kv), dm = allocate(ctx, mask_desc);
  upload(ctx, dm.view(), mask.data(), mask.size());
  DeviceTensor out = allocate(ctx, plan.attention_out), mx = allocate(ctx, plan.softmax_max),
               sm = allocate(ctx, plan.softmax_sum), so = allocate(ctx, plan.softmax_out);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  run_flash_attention_score(
      ctx, plan, {dq.view(), dk.view(), dv.view(), {}, {}, dm.view(), out.view(), mx.view(), sm.view(), so.view()},
      ws.buffer());
  ctx.finish();
  const std::vector<uint8_t> workspace = from_device(ctx, ws);

  const std::size_t entries = d.work.size() / WK_STRIDE;
  const std::vector<int32_t> work = ints_at(workspace, d.ledger.offset("prepass_work"), d.work.size());
  const std::vector<int32_t> tiles =
      ints_at(workspace, d.ledger.offset("prepass_tiles"), d.ledger.bytes("prepass_tiles") / sizeof(int32_t));
  std::size_t dropped = 0, promoted = 0;
  for (std::size_t e = 0; e < entries; ++e) {
    const int32_t* planned = &d.work[e * WK_STRIDE];
    const int32_t* refined = &work[e * WK_STRIDE];
    ASSERT_EQ(refined[WK_BATCH], planned[WK_BATCH]) << "entry " << e;
    ASSERT_EQ(refined[WK_HEAD], planned[WK_HEAD]) << "entry " << e;
    ASSERT_EQ(refined[WK_ROW0], planned[WK_ROW0]) << "entry " << e;
    ASSERT_GE(refined[WK_TILE0], 0);
    ASSERT_LE(static_cast<std::size_t>(refined[WK_TILE0] + refined[WK_TILES]), tiles.size()) << "entry " << e;
    const std::vector<int32_t> got(tiles.begin() + refined[WK_TILE0],
                                   tiles.begin() + refined[WK_TILE0] + refined[WK_TILES]);
    const std::vector<int32_t> want = expected_tiles(d.problem, d.kernel, mask, c, planned, d.tiles);
    EXPECT_EQ(got, want) << "entry " << e << " (batch " << planned[WK_BATCH] << ", head " << planned[WK_HEAD]
                         << ", row0 " << planned[WK_ROW0] << ")";
    dropped += static_cast<std::size_t>(planned[WK_TILES]) - want.size();
    for (int32_t t : want) promoted += schedule::tile_partial(t) ? 0 : 1;
  }
  EXPECT_GT(dropped, 0u) << "the case should drop fully masked tiles";
  EXPECT_GT(promoted, 0u) << "the case should turn unmasked tiles FULL";
}

const PrepassCase kCases[] = {
    {"shared_causal", 2, 3, 203, 256, false, 0, 2147483647, 2147483647},
    {"per_head_diagonals", 2, 3, 150, 150, true, 1, 0, 0},
    {"band_and_masked_row", 1, 2, 300, 300, true, 0, 120, 64, 97},
};

INSTANTIATE_TEST_SUITE_P(Masks, FaMaskPrepass, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<PrepassCase>& info) { return info.param.name; });

}  // namespace
}  // namespace cannon::optest

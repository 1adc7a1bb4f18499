// Work order and cost of the tile plan at benchmark sizes: PoCL hands each thread contiguous chunks of
// work-groups, so the entry order must keep those chunks equally expensive under causal, band and varlen masks;
// and causal/band plans must visit about half / width-over-S of the dense tiles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "host/schedule/tile_plan.hpp"

namespace cannon::schedule {
namespace {

using V = std::vector<int64_t>;

TilePlan plan(int64_t mode, int64_t pre, int64_t next, bool varlen, const V& s1, const V& s2, int64_t heads,
              int block) {
  MaskAttrs a;
  a.has_atten_mask = true;
  a.varlen = varlen;
  a.sparse_mode = mode;
  a.pre_tokens = pre;
  a.next_tokens = next;
  return plan_tiles(plan_masks(a, s1, s2), s1, s2, heads, block, block, 2);
}

// PoCL's pthread scheduler: the first free thread takes the next min(ceil(remaining / threads), 256 * threads)
// work-groups. Returns the finishing time of the slowest thread over the ideal total / threads, with a
// work-group costing its tiles + 1.
double pocl_imbalance(const TilePlan& p, int threads) {
  std::vector<double> busy(threads, 0.0);
  double total = 0;
  size_t next = 0;
  const size_t n = p.entries.size();
  while (next < n) {
    const size_t rem = n - next;
    const size_t chunk = std::min((rem + threads - 1) / threads, static_cast<size_t>(256) * threads);
    double cost = 0;
    for (size_t k = next; k < next + chunk; ++k) cost += p.entries[k].tile_count + 1.0;
    *std::min_element(busy.begin(), busy.end()) += cost;
    total += cost;
    next += chunk;
  }
  return *std::max_element(busy.begin(), busy.end()) / (total / threads);
}

TEST(SchedBalance, CausalHalvesCarryEqualWork) {
  // S = 4096, 64x64 tiles, 8 heads: 512 work-groups, so two PoCL threads take 256 each in one chunk.
  const TilePlan p = plan(2, 2147483647, 0, false, {4096}, {4096}, 8, 64);
  ASSERT_EQ(p.entries.size(), 512u);
  int64_t first = 0, second = 0;
  for (size_t k = 0; k < p.entries.size(); ++k) (k < 256 ? first : second) += p.entries[k].tile_count;
  EXPECT_LT(std::abs(first - second), (first + second) / 10) << first << " vs " << second;
  EXPECT_LT(std::abs(first - second), 100) << first << " vs " << second;  // in fact within a row or two
  EXPECT_LT(pocl_imbalance(p, 2), 1.02);
  EXPECT_LT(pocl_imbalance(p, 16), 1.10);
}

TEST(SchedBalance, VarlenAndBandChunksStayBalanced) {
  // Uneven batches: one long causal sequence and many short ones, listed long-first by batch.
  const V s1{3000, 300, 200, 100, 700, 50, 1000, 20}, s2{3000, 300, 200, 100, 900, 50, 1200, 20};
  const TilePlan varlen = plan(3, 2147483647, 0, true, s1, s2, 4, 64);
  EXPECT_LT(pocl_imbalance(varlen, 2), 1.05);
  EXPECT_LT(pocl_imbalance(varlen, 8), 1.15);
  const TilePlan band = plan(4, 256, 256, false, {8192}, {8192}, 2, 64);
  EXPECT_LT(pocl_imbalance(band, 2), 1.02);
}

TEST(SchedBalance, DenseOrderKeepsHeadsTogether) {
  // Equal costs: the order stays (batch, head, row0), so neighbouring work-groups share K/V.
  MaskAttrs a;
  const TilePlan p = plan_tiles(plan_masks(a, {256, 256}, {256, 256}), {256, 256}, {256, 256}, 3, 64, 64, 2);
  for (size_t k = 1; k < p.entries.size(); ++k) {
    const WorkEntry &x = p.entries[k - 1], &y = p.entries[k];
    EXPECT_TRUE(x.batch < y.batch ||
                (x.batch == y.batch && (x.head < y.head || (x.head == y.head && x.row0 < y.row0))));
  }
}

TEST(SchedBalance, CausalAndBandVisitTheirShareOfTiles) {
  for (const int64_t mode : {2, 3}) {
    const TilePlan p = plan(mode, 2147483647, 0, false, {4096}, {4096}, 1, 64);
    const double ratio = static_cast<double>(p.visited_tiles) / static_cast<double>(p.dense_tiles);
    EXPECT_NEAR(ratio, 0.5, 0.01) << mode;  // (64 * 65 / 2) / 64^2 = 0.508
  }
  // A band of width 512 (pre = next = 256) at S = 8192: about width / S, plus at most two tiles per row.
  const TilePlan band = plan(4, 256, 256, false, {8192}, {8192}, 1, 64);
  const double ratio = static_cast<double>(band.visited_tiles) / static_cast<double>(band.dense_tiles);
  EXPECT_GE(ratio, 512.0 / 8192);
  EXPECT_LE(ratio, (512.0 + 2 * 64) / 8192);
}

}  // namespace
}  // namespace cannon::schedule

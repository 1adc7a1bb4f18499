// The tile scheduler against the element rule, exhaustively on small shapes: every listed FULL tile is
// entirely visible, every SKIP (unlisted) tile entirely invisible, every PARTIAL tile has a visible element (and is
// not entirely visible unless a mask tensor forces it partial), for every mode, TND and tile size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cannon/error.hpp"
#include "host/schedule/tile_plan.hpp"

namespace cannon::schedule {
namespace {

using V = std::vector<int64_t>;

// Returns "" when the plan matches the element rule and covers every (batch, head, S1 tile) once, else the first
// problem found. Plain loops, no gtest macros inside: this runs millions of times.
std::string check_plan(const MaskPlan& m, const V& s1, const V& s2, int64_t heads, int bm, int bn) {
  const TilePlan p = plan_tiles(m, s1, s2, heads, bm, bn, 2);
  std::vector<std::vector<int>> seen(s1.size());  // per batch: entries per S1 tile (over heads)
  std::vector<std::vector<int32_t>> begin(s1.size()), count(s1.size());
  for (size_t b = 0; b < s1.size(); ++b) {
    seen[b].assign((s1[b] + bm - 1) / bm, 0);
    begin[b].assign(seen[b].size(), -1);
    count[b].assign(seen[b].size(), 0);
  }
  int64_t visited = 0, dense = 0;
  for (const WorkEntry& e : p.entries) {
    if (e.batch < 0 || e.batch >= static_cast<int32_t>(s1.size()) || e.head < 0 || e.head >= heads ||
        e.row0 % bm != 0 || e.row0 >= s1[e.batch]) {
      return "bad entry";
    }
    const int64_t t = e.row0 / bm;
    if (begin[e.batch][t] >= 0 && begin[e.batch][t] != e.tile_begin) return "heads do not share tiles";
    begin[e.batch][t] = e.tile_begin;
    count[e.batch][t] = e.tile_count;
    ++seen[e.batch][t];
    visited += e.tile_count;
    dense += (s2[e.batch] + bn - 1) / bn;
  }
  if (visited != p.visited_tiles || dense != p.dense_tiles) return "visited/dense totals";
  for (size_t b = 0; b < s1.size(); ++b) {
    const BandRule rule = m.masked ? m.rules[b] : BandRule{};
    for (size_t t = 0; t < seen[b].size(); ++t) {
      if (seen[b][t] != heads) return "S1 tile not covered once per head";
      std::vector<int> listed((s2[b] + bn - 1) / bn, 0);  // 0 SKIP, 1 PARTIAL, 2 FULL
      int64_t last = -1;
      for (int32_t k = begin[b][t]; k < begin[b][t] + count[b][t]; ++k) {
        const int64_t c0 = tile_col0(p.tiles[k]);
        if (c0 <= last || c0 % bn != 0 || c0 >= s2[b]) return "tile columns not increasing multiples of block_n";
        last = c0;
        listed[c0 / bn] = tile_partial(p.tiles[k]) ? 1 : 2;
      }
      const int64_t r0 = t * bm, r1 = std::min<int64_t>(r0 + bm, s1[b]);
      for (size_t c = 0; c < listed.size(); ++c) {
        const int64_t c0 = c * bn, c1 = std::min<int64_t>(c0 + bn, s2[b]);
        int64_t vis = 0;
        for (int64_t i = r0; i < r1; ++i) {
          for (int64_t j = c0; j < c1; ++j) vis += rule.visible(i, j) ? 1 : 0;
        }
        const int64_t all = (r1 - r0) * (c1 - c0);
        const std::string at =
            " at batch " + std::to_string(b) + " rows " + std::to_string(r0) + " cols " + std::to_string(c0);
        if (listed[c] == 0 && vis != 0) return "visible element in a SKIP tile" + at;
        if (listed[c] == 2 && (vis != all || m.reads_mask_tensor)) return "FULL tile not fully visible" + at;
        if (listed[c] == 1 && vis == 0) return "PARTIAL tile with nothing visible" + at;
        if (listed[c] == 1 && vis == all && !m.reads_mask_tensor) return "fully visible tile listed PARTIAL" + at;
      }
    }
  }
  return "";
}

constexpr int kTileSizes[][2] = {{1, 1}, {3, 4}, {8, 8}, {16, 16}, {16, 1}, {1, 16}};

TEST(SchedTilePlan, ClassifyTileMatchesElementRule) {
  std::mt19937 rng(7);
  auto u = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int n = 0; n < 200000; ++n) {
    BandRule r;
    r.pre = u(0, 9) == 0 ? kUnbounded : u(-30, 30);
    r.next = u(0, 9) == 0 ? kUnbounded : u(-30, 30);
    r.prefix = u(0, 2) == 0 ? u(0, 30) : 0;
    const int64_t r0 = u(0, 25), r1 = r0 + u(1, 8), c0 = u(0, 25), c1 = c0 + u(1, 8);
    int64_t vis = 0;
    for (int64_t i = r0; i < r1; ++i) {
      for (int64_t j = c0; j < c1; ++j) vis += r.visible(i, j) ? 1 : 0;
    }
    const TileClass want = vis == 0                       ? TileClass::kSkip
                           : vis == (r1 - r0) * (c1 - c0) ? TileClass::kFull
                                                          : TileClass::kPartial;
    ASSERT_EQ(classify_tile(r, r0, r1, c0, c1), want) << r.pre << " " << r.next << " " << r.prefix << " " << r0;
  }
}

// Every mode through plan_masks, all S1, S2 in 1..40, TND (three batches, one empty) and not.
TEST(SchedTilePlan, ExhaustiveEveryModeAgainstElementRule) {
  const int64_t big = 2147483647;
  const std::vector<std::pair<int64_t, int64_t>> tokens = {{big, big}, {3, 1}, {-2, 6}, {5, -3}, {0, 0}, {40, -1}};
  int64_t plans = 0;
  for (int64_t mode = 0; mode <= 8; ++mode) {
    for (const bool varlen : {false, true}) {
      if ((mode >= 7 && !varlen) || (mode == 5 && varlen)) continue;
      const bool uses_tokens = mode == 0 || mode == 4 || mode >= 7;
      for (size_t k = 0; k < (uses_tokens ? tokens.size() : 3); ++k) {
        for (int64_t a = 1; a <= 40; ++a) {
          for (int64_t b = 1; b <= 40; ++b) {
            const V s1 = varlen ? V{a, 1 + (a * 7 + b) % 40, 0} : V{a, a};
            const V s2 = varlen ? V{b, 1 + (b * 5 + a * 3) % 40, 3} : V{b, b};
            MaskAttrs attrs;
            attrs.has_atten_mask = true;
            attrs.varlen = varlen;
            attrs.sparse_mode = mode;
            std::tie(attrs.pre_tokens, attrs.next_tokens) = uses_tokens ? tokens[k] : tokens[0];
            for (size_t q = 0; q < s1.size(); ++q) {  // prefix choice k: 0, the lowest allowed, or S2
              const int64_t lo = mode == 6 ? std::max<int64_t>(0, s2[q] - s1[q]) : 0;
              attrs.prefix.push_back(k == 0 ? 0 : k == 1 ? lo : s2[q]);
            }
            MaskPlan m;
            try {
              m = plan_masks(attrs, s1, s2);
            } catch (const Error&) {
              continue;
            }
            for (const size_t t : {(a + b + k) % 6, (a + b + k + 3) % 6}) {  // two tile sizes per shape, all six
              const auto& ts = kTileSizes[t];                                // over neighbouring shapes
              ASSERT_EQ(check_plan(m, s1, s2, 2, ts[0], ts[1]), "")
                  << "mode " << mode << " varlen " << varlen << " S1 " << a << " S2 " << b << " k " << k << " block "
                  << ts[0] << "x" << ts[1];
              ++plans;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(plans, 80000);
}

// Arbitrary rules (negative pre/next, prefix 0 or not) on every tile size, with and without a mask tensor.
TEST(SchedTilePlan, ExhaustiveRandomRulesEveryTileSize) {
  std::mt19937 rng(11);
  auto u = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int64_t a = 1; a <= 40; a += 3) {
    for (int64_t b = 1; b <= 40; b += 2) {
      for (const auto& ts : kTileSizes) {
        MaskPlan m;
        m.masked = true;
        m.reads_mask_tensor = u(0, 3) == 0;
        const V s1{a, 0, b}, s2{b, 4, a};
        for (size_t q = 0; q < s1.size(); ++q) {
          BandRule r;
          r.pre = u(0, 5) == 0 ? kUnbounded : u(-45, 45);
          r.next = u(0, 5) == 0 ? kUnbounded : u(-45, 45);
          r.prefix = u(0, 1) == 0 ? 0 : u(0, static_cast<int>(s2[q]) + 2);
          m.rules.push_back(r);
        }
        ASSERT_EQ(check_plan(m, s1, s2, 3, ts[0], ts[1]), "") << a << " " << b << " " << ts[0] << "x" << ts[1];
      }
    }
  }
}

TEST(SchedTilePlan, UnmaskedListsEveryTileFull) {
  MaskAttrs attrs;
  attrs.sparse_mode = 2;  // ignored: no atten_mask
  const MaskPlan m = plan_masks(attrs, {5, 0, 9}, {7, 3, 0});
  const TilePlan p = plan_tiles(m, {5, 0, 9}, {7, 3, 0}, 2, 2, 3, 2);
  EXPECT_EQ(p.visited_tiles, p.dense_tiles);
  EXPECT_EQ(p.entries.size(), (3u + 5u) * 2u);  // batch 1 (S1 = 0) has no entries; batch 2 (S2 = 0) has no tiles
  for (int32_t t : p.tiles) EXPECT_FALSE(tile_partial(t));
  EXPECT_EQ(check_plan(m, {5, 0, 9}, {7, 3, 0}, 2, 2, 3), "");
}

TEST(SchedTilePlan, RejectsSizesBeyondInt32) {
  const MaskPlan m = plan_masks(MaskAttrs{}, {4}, {int64_t{1} << 30});
  EXPECT_THROW(plan_tiles(m, {4}, {int64_t{1} << 30}, 1, 64, 64, 2), Error);
  const MaskPlan m2 = plan_masks(MaskAttrs{}, {2}, {1});
  try {
    plan_tiles(m2, {2}, {1}, 2147483647, 1, 1, 2);
    ADD_FAILURE() << "accepted 2^32 entries";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid);
  }
  EXPECT_THROW(plan_tiles(m2, {2}, {1}, 1, 0, 1, 2), Error);
}

}  // namespace
}  // namespace cannon::schedule

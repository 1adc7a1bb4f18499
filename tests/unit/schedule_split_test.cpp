// Split-KV in the tile scheduler: chunks of a split entry cover its tile list exactly once, in order, none empty;
// every split entry has one merge entry naming its chunks' distinct partial slots; count_tiles predicts the plan's
// sizes; and the default rule splits only when entries are few for the threads and tile lists are long.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "host/schedule/tile_plan.hpp"

namespace cannon::schedule {
namespace {

using V = std::vector<int64_t>;

// "" when the split plan is consistent with the unsplit one (same tiles, each (batch, head, row0)'s list covered
// by its chunks in order), else the first problem.
std::string check_split(const MaskPlan& m, const V& s1, const V& s2, int64_t heads, int bm, int bn,
                        const SplitRule& rule) {
  const TilePlan base = plan_tiles(m, s1, s2, heads, bm, bn, 2);
  const TilePlan p = plan_tiles(m, s1, s2, heads, bm, bn, 2, rule);
  if (p.tiles != base.tiles) return "tile list changed";
  if (p.visited_tiles != base.visited_tiles || p.dense_tiles != base.dense_tiles) return "totals changed";
  const TileCounts c = count_tiles(m, s1, s2, heads, bm, bn, rule);
  if (c.entries != static_cast<int64_t>(p.entries.size())) return "count_tiles entries";
  if (c.parts != p.parts || c.merges != static_cast<int64_t>(p.merges.size())) return "count_tiles parts/merges";
  using Key = std::tuple<int32_t, int32_t, int32_t>;
  std::map<Key, WorkEntry> whole;  // unsplit entry per (batch, head, row0)
  for (const WorkEntry& e : base.entries) whole[{e.batch, e.head, e.row0}] = e;
  std::map<Key, std::vector<WorkEntry>> chunks;
  std::vector<int> slot_used(static_cast<size_t>(p.parts), 0);
  for (const WorkEntry& e : p.entries) {
    if (e.part >= 0) {
      if (e.part >= p.parts) return "slot out of range";
      ++slot_used[e.part];
      if (e.tile_count < std::max(rule.min_tiles, 1)) return "chunk shorter than min_tiles";
    }
    chunks[{e.batch, e.head, e.row0}].push_back(e);
  }
  if (std::any_of(slot_used.begin(), slot_used.end(), [](int n) { return n != 1; })) return "slot not used once";
  if (chunks.size() != whole.size()) return "entries lost or invented";
  std::map<Key, MergeEntry> merges;
  for (const MergeEntry& g : p.merges) {
    if (!merges.emplace(Key{g.batch, g.head, g.row0}, g).second) return "two merges for one entry";
  }
  for (auto& [key, list] : chunks) {
    const WorkEntry& w = whole.at(key);
    const int want = split_chunks(rule, w.tile_count);
    if (static_cast<int>(list.size()) != want) return "chunk count";
    std::sort(list.begin(), list.end(),
              [](const WorkEntry& a, const WorkEntry& b) { return a.tile_begin < b.tile_begin; });
    int32_t next = w.tile_begin;
    for (const WorkEntry& e : list) {
      if (e.tile_begin != next) return "chunks do not tile the list";
      next += e.tile_count;
    }
    if (next != w.tile_begin + w.tile_count) return "chunks do not end the list";
    if (want == 1) {
      if (list[0].part != -1 || merges.count(key)) return "unsplit entry has a slot or a merge";
      continue;
    }
    auto it = merges.find(key);
    if (it == merges.end() || it->second.part_count != want) return "merge entry missing or wrong count";
    for (int k = 0; k < want; ++k) {
      if (list[k].part != it->second.part_begin + k) return "chunk k does not own the merge's slot k";
    }
  }
  return "";
}

TEST(SchedSplit, ChunksCoverEveryEntryOnce) {
  const V s1{1, 7, 16, 0, 3}, s2{1023, 4097, 0, 5, 64};
  for (const int chunks : {1, 2, 3, 7, 64, 5000}) {
    for (const int min_tiles : {1, 4}) {
      const SplitRule rule{chunks, min_tiles};
      const MaskPlan unmasked = plan_masks(MaskAttrs{}, s1, s2);
      EXPECT_EQ(check_split(unmasked, s1, s2, 3, 16, 32, rule), "") << chunks << " " << min_tiles;
      MaskAttrs band;
      band.has_atten_mask = true;
      band.sparse_mode = 4;
      band.pre_tokens = 300;
      band.next_tokens = 0;
      const MaskPlan banded = plan_masks(band, s1, s2);
      EXPECT_EQ(check_split(banded, s1, s2, 2, 16, 32, rule), "") << "band " << chunks << " " << min_tiles;
    }
  }
}

TEST(SchedSplit, ChunkCountFollowsRule) {
  EXPECT_EQ(split_chunks({}, 1000), 1);
  EXPECT_EQ(split_chunks({8, 4}, 1), 1);
  EXPECT_EQ(split_chunks({8, 4}, 7), 1);  // 7 tiles make one chunk of at least 4
  EXPECT_EQ(split_chunks({8, 4}, 8), 2);
  EXPECT_EQ(split_chunks({8, 4}, 1000), 8);
  EXPECT_EQ(split_chunks({100, 1}, 5), 5);  // more chunks than tiles: one tile each
}

TEST(SchedSplit, DefaultSplitsOnlyFewLongEntries) {
  TileCounts c;
  c.entries = 32;
  c.max_row_tiles = 1024;
  EXPECT_EQ(choose_split(c, 2).chunks, 1);  // 32 entries already give 2 threads 16 each
  c.entries = 1;
  const SplitRule one = choose_split(c, 2);
  EXPECT_EQ(one.chunks, kSplitEntriesPerThread * 2);
  EXPECT_EQ(one.min_tiles, kSplitMinTiles);
  c.entries = 3;
  EXPECT_EQ(choose_split(c, 2).chunks, 3);  // ceil(8 / 3)
  c.entries = 1;
  EXPECT_EQ(choose_split(c, 1000).chunks, kSplitMaxChunks);
  c.max_row_tiles = 2 * kSplitMinTiles - 1;  // too short to cut in two
  EXPECT_EQ(choose_split(c, 2).chunks, 1);
  c.entries = 0;
  EXPECT_EQ(choose_split(c, 2).chunks, 1);
}

// The chunks of a split entry spread over the threads: with one entry and two threads, each half of PoCL's
// contiguous work-group chunks gets about half of the tiles.
TEST(SchedSplit, ChunksBalanceOverThreads) {
  const V s1{1}, s2{32768};
  const MaskPlan m = plan_masks(MaskAttrs{}, s1, s2);
  const TileCounts unsplit = count_tiles(m, s1, s2, 1, 16, 32);
  const TilePlan p = plan_tiles(m, s1, s2, 1, 16, 32, 2, choose_split(unsplit, 2));
  ASSERT_EQ(p.entries.size(), 8u);
  int64_t first = 0, second = 0;
  for (size_t k = 0; k < p.entries.size(); ++k) (k < 4 ? first : second) += p.entries[k].tile_count;
  EXPECT_EQ(first, second);
}

// GQA: with group = 4, the chunks of one K/V slice run for the group's heads back to back, (K/V head, chunk, head).
TEST(SchedSplit, GroupHeadsShareEachChunk) {
  const V s1{1}, s2{4096};
  const MaskPlan m = plan_masks(MaskAttrs{}, s1, s2);
  SplitRule rule{4, 1, 4};
  EXPECT_EQ(check_split(m, s1, s2, 8, 16, 32, rule), "");
  const TilePlan p = plan_tiles(m, s1, s2, 8, 16, 32, 2, rule);
  ASSERT_EQ(p.entries.size(), 32u);
  for (size_t k = 0; k < p.entries.size(); ++k) {
    const WorkEntry& e = p.entries[k];
    EXPECT_EQ(e.head, static_cast<int32_t>(k / 16 * 4 + k % 4)) << k;    // K/V head k / 16, query head k % 4 of it
    EXPECT_EQ(e.tile_begin, static_cast<int32_t>(k / 4 % 4 * 32)) << k;  // chunk k / 4 % 4 of 128 tiles
  }
}

}  // namespace
}  // namespace cannon::schedule

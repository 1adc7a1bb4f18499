// The tile scheduler: for each (batch, S1 tile) the S2 tiles to visit, each FULL (no mask work) or PARTIAL
// (apply the rule and/or the mask tensor inside the tile); SKIP tiles are never listed. Work entries
// (batch, head, S1 tile) are ordered so that PoCL's contiguous chunks of work-groups keep every thread
// busy under causal masks. Kernels consume this plan; they do not rediscover it. Pure C++: no OpenCL.
#pragma once

#include <cstdint>
#include <vector>

#include "host/schedule/band_rule.hpp"
#include "kernels/interface.h"

namespace cannon::schedule {

enum class TileClass : uint8_t { kSkip = 0, kPartial = 1, kFull = 2 };

// Class of rows [r0, r1) × columns [c0, c1) under the rule alone: SKIP iff no element is visible, FULL iff
// every element is. (A mask tensor turns FULL into PARTIAL; plan_tiles does that.)
TileClass classify_tile(const BandRule& rule, int64_t r0, int64_t r1, int64_t c0, int64_t c1);

// A TilePlan::tiles element, encoded as the kernels decode it (kernels/interface.h TILE_*): (col0 << 1) | partial.
inline int32_t make_tile(int64_t col0, bool partial) {
  return static_cast<int32_t>((col0 << TILE_COL0_SHIFT) | (partial ? TILE_PARTIAL_BIT : 0));
}
inline int32_t tile_col0(int32_t tile) { return tile >> TILE_COL0_SHIFT; }
inline bool tile_partial(int32_t tile) { return (tile & TILE_PARTIAL_BIT) != 0; }

struct WorkEntry {
  int32_t batch = 0, head = 0, row0 = 0;
  int32_t tile_begin = 0, tile_count = 0;  // a range of TilePlan::tiles
  int32_t part = -1;                       // split-KV: this chunk's partial-result slot; -1: writes the output
};

// Split-KV (decode: few work entries, long tile lists). An entry's tile list is cut into up to `chunks`
// contiguous chunks of at least `min_tiles` tiles; each chunk is a work entry that writes a partial result
// (unnormalized O, max, sum per row) to its slot, and a merge combines the chunks of each split entry.
// chunks = 1 never splits.
struct SplitRule {
  int chunks = 1;
  int min_tiles = 1;
  int group = 1;  // query heads per K/V head (GQA): the work order keeps a group's chunks of one K/V slice together
};
// The number of chunks an entry with `tiles` tiles is cut into (1: not split).
int split_chunks(const SplitRule& rule, int64_t tiles);

// One split entry for the merge: its rows and its chunks' partial slots [part_begin, part_begin + part_count).
struct MergeEntry {
  int32_t batch = 0, head = 0, row0 = 0;
  int32_t part_begin = 0, part_count = 0;
};

struct TilePlan {
  int block_m = 0, block_n = 0;
  // Each tile is (col0 << 1) | partial, with col0 a multiple of block_n. Tiles of one (batch, S1 tile) are
  // stored once, in increasing col0, and shared by all heads.
  std::vector<int32_t> tiles;
  std::vector<WorkEntry> entries;  // execution order
  int64_t visited_tiles = 0;       // sum over entries of tile_count (the work the kernel does)
  int64_t dense_tiles = 0;         // the same without any skipping (for reports and tests)
  std::vector<MergeEntry> merges;  // split-KV: one per split (batch, head, S1 tile); its chunks own parts slots
  int64_t parts = 0;               // split-KV: partial-result slots (chunks of split entries)
};

// Sizes of the plan plan_tiles would build, in closed form and without building it: S1 tiles, work entries
// (S1 tiles × heads, each split entry counted once per chunk) and an upper bound on tiles (the ranges a row may
// visit), the longest row's tile count, and the split's partial slots and merge entries. The planner checks these
// against int32 indices and the device's memory first.
struct TileCounts {
  int64_t rows = 0, entries = 0, tiles = 0;
  int64_t max_row_tiles = 0;
  int64_t parts = 0, merges = 0;
};
TileCounts count_tiles(const MaskPlan& masks, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2,
                       int64_t heads, int block_m, int block_n, const SplitRule& split = {});

// The split the planner uses by default: none while the unsplit entries already give every thread
// kSplitEntriesPerThread of them (or the longest tile list is too short to cut), else enough chunks of at least
// kSplitMinTiles tiles to reach that many entries, at most kSplitMaxChunks. `unsplit` are counts without a split.
constexpr int kSplitEntriesPerThread = 4;
constexpr int kSplitMinTiles = 4;
constexpr int kSplitMaxChunks = 64;
SplitRule choose_split(const TileCounts& unsplit, int threads);

// s1/s2: per-batch lengths; batches with s1 == 0 get no entries; batches with s2 == 0 get entries with no
// tiles (their rows are written as rows without keys). threads: the device's compute units, for balancing.
// split: how entries with long tile lists are cut into chunks (default: never).
TilePlan plan_tiles(const MaskPlan& masks, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2,
                    int64_t heads, int block_m, int block_n, int threads, const SplitRule& split = {});

}  // namespace cannon::schedule

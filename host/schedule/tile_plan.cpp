// classify_tile() and plan_tiles(): the S2 tiles each (batch, S1 tile) must visit, in closed form from the band
// rule (only tiles that touch the band or the prefix are even looked at), and a work order that keeps PoCL's
// threads equally busy when rows cost different amounts (causal, band, varlen).
#include "host/schedule/tile_plan.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"

namespace cannon::schedule {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
// A tile is stored as (col0 << 1) | partial in an int32, so col0 must stay below 2^30.
constexpr int64_t kMaxS2 = int64_t{1} << 30;

// One (batch, S1 tile): its tile list, shared by every head.
struct RowTiles {
  int32_t batch = 0, row0 = 0, tile_begin = 0, tile_count = 0;
  int64_t dense = 0;  // S2 tiles without skipping
};

// The S2 tile index ranges [lo, hi) rows [r0, r1) of a batch with s2 keys may visit. Visible columns are
// [0, prefix) plus, when the band is non-empty, the union over the rows of [i - pre, i + next], which is the
// single interval [r0 - pre, r1 - 1 + next] because consecutive rows shift it by one.
struct TileRanges {
  int64_t lo_a = 0, hi_a = 0, lo_b = 0, hi_b = 0;
  int64_t count() const { return (hi_a - lo_a) + (hi_b - lo_b); }
};

TileRanges row_tile_ranges(const MaskPlan& masks, const BandRule& rule, int64_t r0, int64_t r1, int64_t s2,
                           int block_n) {
  TileRanges r;
  r.hi_a = (s2 + block_n - 1) / block_n;
  if (masks.masked) {
    r.hi_a = (std::min(rule.prefix, s2) + block_n - 1) / block_n;
    const int64_t c_lo = std::max<int64_t>(0, r0 - rule.pre);
    const int64_t c_hi = std::min(s2 - 1, r1 - 1 + rule.next);
    if (rule.pre + rule.next >= 0 && c_lo <= c_hi) {
      r.lo_b = c_lo / block_n;
      r.hi_b = c_hi / block_n + 1;
      if (r.lo_b <= r.hi_a) {  // the band touches or overlaps the prefix tiles: one range
        r.hi_a = std::max(r.hi_a, r.hi_b);
        r.lo_b = r.hi_b = 0;
      }
    }
  }
  return r;
}

// Appends the non-SKIP tiles of rows [r0, r1), in increasing col0.
void append_row_tiles(const MaskPlan& masks, const BandRule& rule, int64_t r0, int64_t r1, int64_t s2, int block_n,
                      std::vector<int32_t>& tiles) {
  const TileRanges r = row_tile_ranges(masks, rule, r0, r1, s2, block_n);
  for (const auto& [lo, hi] : {std::pair{r.lo_a, r.hi_a}, std::pair{r.lo_b, r.hi_b}}) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t c0 = t * block_n;
      const TileClass cls =
          masks.masked ? classify_tile(rule, r0, r1, c0, std::min(c0 + block_n, s2)) : TileClass::kFull;
      if (cls == TileClass::kSkip) continue;  // cannot happen inside the ranges; kept so SKIP is never listed
      const bool partial = cls == TileClass::kPartial || masks.reads_mask_tensor;
      tiles.push_back(make_tile(c0, partial));
    }
  }
}

void check_plan_inputs(const MaskPlan& masks, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2,
                       int64_t heads, int block_m, int block_n) {
  require(block_m > 0 && block_n > 0, "tile sizes must be positive (block_m {}, block_n {})", block_m, block_n);
  require(heads > 0 && heads <= kInt32Max, "heads = {} must be in [1, 2^31)", heads);
  require(s1.size() == s2.size() && s1.size() <= static_cast<size_t>(kInt32Max),
          "per-batch S1 ({}) and S2 ({}) counts must match and fit int32", s1.size(), s2.size());
  require(!masks.masked || masks.rules.size() == s1.size(), "mask plan has {} rules for {} batches", masks.rules.size(),
          s1.size());
  for (size_t b = 0; b < s1.size(); ++b) {
    require(s1[b] >= 0 && s1[b] <= kInt32Max, "S1 of batch {} = {} must be in [0, 2^31)", b, s1[b]);
    require(s2[b] >= 0 && s2[b] < kMaxS2, "S2 of batch {} = {} must be in [0, 2^30) for the tile plan", b, s2[b]);
  }
}

// Work order. PoCL gives each thread a contiguous chunk of work-groups (at most ceil(remaining / threads)), so the
// order must spread cost evenly along the list: then every chunk costs in proportion to its length, whatever the
// thread count. Entries are sorted by cost (descending; ties by batch, head, row0) and placed greedily from the
// expensive or the cheap end, whichever keeps the running cost closer to the ideal line total * k / n. A causal
// list thus becomes long, short, long, short...; equal costs (dense, or most of a band) keep (batch, head, row0)
// order, so neighbouring work-groups read the same K/V head. Cost = tiles + 1 (the +1: Q load and output write).
// With split-KV, `group` query heads share each K/V head: equal-cost chunks are then ordered (batch, K/V head, row0,
// chunk, head), so the heads of a group read the same K/V slice one after another while it is still in cache.
std::vector<WorkEntry> balanced_order(std::vector<WorkEntry> entries, int group) {
  auto cost = [](const WorkEntry& e) { return int64_t{e.tile_count} + 1; };
  std::sort(entries.begin(), entries.end(), [&](const WorkEntry& a, const WorkEntry& b) {
    if (cost(a) != cost(b)) return cost(a) > cost(b);
    if (a.batch != b.batch) return a.batch < b.batch;
    if (a.head / group != b.head / group) return a.head / group < b.head / group;
    if (group == 1 && a.head != b.head) return a.head < b.head;
    if (a.row0 != b.row0) return a.row0 < b.row0;
    if (a.tile_begin != b.tile_begin) return a.tile_begin < b.tile_begin;  // split-KV chunks of one entry
    return a.head < b.head;
  });
  const size_t n = entries.size();
  double total = 0;
  for (const WorkEntry& e : entries) total += static_cast<double>(cost(e));
  std::vector<WorkEntry> order;
  order.reserve(n);
  size_t lo = 0, hi = n;  // unplaced entries are [lo, hi)
  double sum = 0;
  for (size_t k = 0; k < n; ++k) {
    const double target = total * static_cast<double>(k + 1) / static_cast<double>(n);
    const double with_lo = std::abs(sum + static_cast<double>(cost(entries[lo])) - target);
    const double with_hi = std::abs(sum + static_cast<double>(cost(entries[hi - 1])) - target);
    const WorkEntry& pick = with_lo <= with_hi ? entries[lo++] : entries[--hi];
    sum += static_cast<double>(cost(pick));
    order.push_back(pick);
  }
  return order;
}

}  // namespace

int split_chunks(const SplitRule& rule, int64_t tiles) {
  if (rule.chunks <= 1 || tiles < 2) return 1;
  const int64_t by_size = tiles / std::max(rule.min_tiles, 1);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(rule.chunks, by_size)));
}

SplitRule choose_split(const TileCounts& unsplit, int threads) {
  const int64_t target = int64_t{kSplitEntriesPerThread} * std::max(threads, 1);
  if (unsplit.entries == 0 || unsplit.entries >= target || unsplit.max_row_tiles < 2 * kSplitMinTiles) return {};
  const int64_t chunks = std::min<int64_t>((target + unsplit.entries - 1) / unsplit.entries, kSplitMaxChunks);
  return {static_cast<int>(chunks), kSplitMinTiles};
}

TileCounts count_tiles(const MaskPlan& masks, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2,
                       int64_t heads, int block_m, int block_n, const SplitRule& split) {
  check_plan_inputs(masks, s1, s2, heads, block_m, block_n);
  TileCounts c;
  int64_t chunk_rows = 0, split_rows = 0, split_chunk_rows = 0;  // per head: entries, split entries, their chunks
  for (size_t b = 0; b < s1.size(); ++b) {
    const BandRule rule = masks.masked ? masks.rules[b] : BandRule{};
    for (int64_t row0 = 0; row0 < s1[b]; row0 += block_m) {
      const int64_t tiles = row_tile_ranges(masks, rule, row0, std::min(row0 + block_m, s1[b]), s2[b], block_n).count();
      const int64_t chunks = split_chunks(split, tiles);
      c.rows += 1;
      c.tiles += tiles;
      c.max_row_tiles = std::max(c.max_row_tiles, tiles);
      chunk_rows += chunks;
      if (chunks > 1) {
        split_rows += 1;
        split_chunk_rows += chunks;
      }
    }
  }
  c.entries = checked_mul(chunk_rows, heads, "work entries (S1 tiles × heads × split-KV chunks)");
  c.parts = checked_mul(split_chunk_rows, heads, "split-KV partial slots");
  c.merges = checked_mul(split_rows, heads, "split-KV merge entries");
  return c;
}

TileClass classify_tile(const BandRule& rule, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (r0 >= r1 || c0 >= c1) return TileClass::kSkip;
  if (c1 <= rule.prefix) return TileClass::kFull;
  // On the tile, j - i spans [c0 - (r1 - 1), (c1 - 1) - r0], every value reached. Columns below the prefix are
  // visible anyway, so FULL needs the band to cover only the columns [max(c0, prefix), c1).
  const int64_t d_max = (c1 - 1) - r0;
  const int64_t d_min_rest = std::max(c0, rule.prefix) - (r1 - 1);
  if (d_min_rest >= -rule.pre && d_max <= rule.next) return TileClass::kFull;
  const int64_t d_min = c0 - (r1 - 1);
  const bool band_any = std::max(d_min, -rule.pre) <= std::min(d_max, rule.next);
  return band_any || c0 < rule.prefix ? TileClass::kPartial : TileClass::kSkip;
}

TilePlan plan_tiles(const MaskPlan& masks, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2,
                    int64_t heads, int block_m, int block_n, int threads, const SplitRule& split) {
  require(threads > 0, "threads = {} must be positive", threads);
  // Sizes first, in closed form: the lists below are only built once they are known to fit their int32 indices.
  const TileCounts counts = count_tiles(masks, s1, s2, heads, block_m, block_n, split);
  require(counts.tiles <= kInt32Max, "tile plan exceeds 2^31 tiles ({})", counts.tiles);
  require(counts.entries <= kInt32Max, "tile plan exceeds 2^31 work entries ({} S1 tiles x {} heads, {} with split-KV)",
          counts.rows, heads, counts.entries);
  require(counts.parts <= kInt32Max, "tile plan exceeds 2^31 split-KV partial slots ({})", counts.parts);
  TilePlan plan;
  plan.tiles.reserve(static_cast<size_t>(counts.tiles));
  plan.block_m = block_m;
  plan.block_n = block_n;
  std::vector<RowTiles> rows;
  for (size_t b = 0; b < s1.size(); ++b) {
    const BandRule rule = masks.masked ? masks.rules[b] : BandRule{};
    for (int64_t row0 = 0; row0 < s1[b]; row0 += block_m) {
      const size_t begin = plan.tiles.size();
      append_row_tiles(masks, rule, row0, std::min(row0 + block_m, s1[b]), s2[b], block_n, plan.tiles);
      rows.push_back({static_cast<int32_t>(b), static_cast<int32_t>(row0), static_cast<int32_t>(begin),
                      static_cast<int32_t>(plan.tiles.size() - begin), (s2[b] + block_n - 1) / block_n});
    }
  }
  std::vector<WorkEntry> entries;
  entries.reserve(static_cast<size_t>(counts.entries));
  plan.merges.reserve(static_cast<size_t>(counts.merges));
  for (const RowTiles& r : rows) {
    const int chunks = split_chunks(split, r.tile_count);
    for (int64_t h = 0; h < heads; ++h) {
      const auto head = static_cast<int32_t>(h);
      plan.visited_tiles += r.tile_count;
      plan.dense_tiles += r.dense;
      if (chunks == 1) {
        entries.push_back({r.batch, head, r.row0, r.tile_begin, r.tile_count});
        continue;
      }
      // Contiguous chunks of near-equal length (each at least min_tiles, so none is empty), in key order.
      const auto part0 = static_cast<int32_t>(plan.parts);
      plan.merges.push_back({r.batch, head, r.row0, part0, chunks});
      for (int k = 0; k < chunks; ++k) {
        const auto t0 = static_cast<int32_t>(int64_t{r.tile_count} * k / chunks);
        const auto t1 = static_cast<int32_t>(int64_t{r.tile_count} * (k + 1) / chunks);
        entries.push_back({r.batch, head, r.row0, r.tile_begin + t0, t1 - t0, part0 + k});
      }
      plan.parts += chunks;
    }
  }
  plan.entries = balanced_order(std::move(entries), plan.parts > 0 ? std::max(split.group, 1) : 1);
  return plan;
}

}  // namespace cannon::schedule

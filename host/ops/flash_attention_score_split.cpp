// Split-KV for FlashAttentionScore decode: see flash_attention_score_split.hpp.
#include "host/ops/flash_attention_score_split.hpp"

#include <algorithm>

#include "host/ops/plan_base.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/command_chain.hpp"

namespace cannon {
namespace {

// Decode: every batch's S1 at most this (the tuning classes' decode phase, host/tune/problem_class.hpp).
constexpr int64_t kDecodeRows = 16;
// GQA decode: K and V bytes one chunk reads. The G query heads of a K/V head run a chunk one after another
// (schedule::SplitRule::group), so the later ones find the slice in cache. Measured on the 2-core EPYC (fp32,
// B=1, N1=32, N2=8, S1=1, S2=32768, BSND, 1 thread): 550 ms unsplit, 440 ms with 16 chunks (2 MiB slices), 410 ms
// with 32 (1 MiB), 470–520 ms with 64 (noisy box: medians of 5, minima similar).
constexpr int64_t kGqaSliceBytes = int64_t{1} << 20;
// The default split's partial results stay below this (fewer chunks, or none): a split is an optimization and must
// never make a problem that fits the device fail its memory checks. SPLIT_KV is exempt.
constexpr uint64_t kMaxSplitWorkspace = uint64_t{64} << 20;

}  // namespace

schedule::SplitRule choose_fa_split(const KernelConfig& c, const schedule::TileCounts& unsplit, unsigned threads,
                                    int64_t max_s1, int64_t group) {
  if (c.variant != KernelVariant::kCpu) return {};  // fa_fwd_generic writes every row itself
  schedule::SplitRule rule;
  if (c.split_kv != 0) {
    rule = {c.split_kv, 1};
  } else {
    rule = schedule::choose_split(unsplit, static_cast<int>(std::max(threads, 1u)));
    if (max_s1 <= kDecodeRows && group > 1) {
      // GQA decode: chunks of about kGqaSliceBytes of K and V, so a group's heads share each slice in cache.
      const int64_t tile_bytes = int64_t{c.block_n} * (c.dk + c.dv) * static_cast<int64_t>(dtype_size(c.dtype));
      const int64_t slice_tiles = std::max<int64_t>(schedule::kSplitMinTiles, kGqaSliceBytes / tile_bytes);
      const int64_t chunks =
          std::min<int64_t>((unsplit.max_row_tiles + slice_tiles - 1) / slice_tiles, schedule::kSplitMaxChunks);
      if (unsplit.max_row_tiles >= 2 * slice_tiles && chunks > rule.chunks) {
        rule = {static_cast<int>(chunks), static_cast<int>(slice_tiles)};
      }
    }
    const uint64_t per_chunk = split_partial_bytes(c, std::max<int64_t>(unsplit.entries, 1));
    const auto affordable = static_cast<int64_t>(kMaxSplitWorkspace / per_chunk);
    if (rule.chunks > affordable) rule.chunks = static_cast<int>(affordable < 2 ? 1 : affordable);
  }
  rule.group = static_cast<int>(std::max<int64_t>(group, 1));
  return rule;
}

uint64_t split_partial_bytes(const KernelConfig& c, int64_t parts) {
  const uint64_t slot = static_cast<uint64_t>(SPLIT_SLOT_FLOATS(int64_t{c.block_m}, int64_t{c.dv})) * sizeof(float);
  return checked_mul_u64(static_cast<uint64_t>(parts), slot, "workspace split_partials");
}

std::vector<int32_t> merge_list(const schedule::TilePlan& tp) {
  std::vector<int32_t> list;
  list.reserve(tp.merges.size() * WK_STRIDE);
  for (const schedule::MergeEntry& m : tp.merges) {
    list.insert(list.end(), {m.batch, m.head, m.row0, m.part_begin, m.part_count, -1});
  }
  static_assert(WK_STRIDE == 6, "a merge entry is (batch, head, row0, first slot, chunks, -1)");
  return list;
}

void enqueue_split_merge(const detail::PlanBase& base, const FaSplitPlan& split, CommandChain& chain, cl_mem out,
                         cl_mem smax, cl_mem ssum, cl_mem batches, cl_mem partials, const FaArgs& args) {
  Kernel& merge = base.kernel_at(split.kernel);
  merge.set_all(out, smax, ssum, batches, split.merges_mem, partials, args);
  chain.enqueue(
      merge, split.merges.size() / WK_STRIDE, 1,
      {fmt::format("split-KV merge: {} entries, {} partial slots", split.merges.size() / WK_STRIDE, split.parts)});
}

}  // namespace cannon

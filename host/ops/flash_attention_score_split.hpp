// Split-KV for FlashAttentionScore decode (S1 <= 16, long S2): the planner's choice of the split and of the decode
// kernel shape, the partial-result workspace, and the merge launch. Kept apart from the rest of the plan so the
// split is one piece: the scheduler cuts tile lists (host/schedule/tile_plan.hpp), fa_fwd_cpu stores each chunk's
// partial state and fa_split_merge combines them (kernels/vector/split_merge.clh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/schedule/tile_plan.hpp"
#include "kernels/interface.h"

namespace cannon {

class CommandChain;
namespace detail {
class PlanBase;
}

// A plan's split: the merge list (WK_STRIDE int32 per split entry, kernels/interface.h) and where the merge kernel
// and its partial-result workspace are.
struct FaSplitPlan {
  schedule::SplitRule rule;
  int64_t parts = 0;            // partial slots; 0: nothing is split
  std::vector<int32_t> merges;  // the merge list
  std::size_t kernel = 0;       // fa_split_merge's index among the plan's kernels
  cl_mem merges_mem = nullptr;  // owned by PlanBase
  bool on() const { return parts > 0; }
};

// The split rule: a tuned SPLIT_KV=k (the database or CANNON_TUNE's fa.SPLIT_KV; 0 = automatic) forces up to k chunks
// per entry (chunks of at least one tile; 1 never splits); otherwise the scheduler's choose_split from the device's
// compute units, or, for GQA decode (max_s1 <= 16, group = N1/N2 > 1), chunks of about 1 MiB of K and V if that makes
// more of them. The generic variant never splits. Throws Error(kParamInvalid) for an unusable SPLIT_KV.
schedule::SplitRule choose_fa_split(const KernelConfig& c, const schedule::TileCounts& unsplit, unsigned threads,
                                    int64_t max_s1, int64_t group);

// Workspace bytes of `parts` partial slots (overflow-checked).
uint64_t split_partial_bytes(const KernelConfig& c, int64_t parts);

// The merge list of a tile plan, in the kernels' format.
std::vector<int32_t> merge_list(const schedule::TilePlan& tp);

// Enqueues fa_split_merge (kernel_at(split.kernel) of `base`) over the merge list after the chain so far.
void enqueue_split_merge(const detail::PlanBase& base, const FaSplitPlan& split, CommandChain& chain, cl_mem out,
                         cl_mem smax, cl_mem ssum, cl_mem batches, cl_mem partials, const FaArgs& args);

}  // namespace cannon

// FlashAttentionScore's validated problem (sizes, layout, TND sequences) and the plan data behind the
// public FlashAttentionScorePlan. validate_flash_attention_score() is the single place where every
// documented constraint is checked; plan and run only consume its result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "host/layout/layout.hpp"
#include "host/ops/flash_attention_score_split.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/ops/plan_base.hpp"
#include "host/runtime/device_limits.hpp"
#include "host/schedule/band_rule.hpp"
#include "kernels/interface.h"

namespace cannon {

// Sequence lengths stay below 2^30: the tile list stores (col0 << 1) | partial in an int32, and row/key indices,
// band offsets and ALiBi distances are int32 in the kernels.
constexpr int64_t kMaxSeq = int64_t{1} << 30;

// pse as the kernels apply it (kernels/interface.h PSE_*): the score formula and where the values live.
enum class PseMode : int {  // pse_type -, 0, 1, 2, 3
  kNone = PSE_NONE,
  kAdd = PSE_ADD,
  kAddScale = PSE_ADD_SCALE,
  kAlibi = PSE_ALIBI,
  kAlibiSqrt = PSE_ALIBI_SQRT
};
enum class PseMap : int {
  kDirect = PSE_MAP_DIRECT,
  kCompressed = PSE_MAP_COMPRESSED,
  kTndCompressed = PSE_MAP_TND_COMPRESSED
};
struct PseBatch {
  int64_t base = 0, head = 0, row = 0;  // element (n1, i, j) at base + n1·head + i·row + j (kDirect)
  int64_t shift = 0;                    // ALiBi: d = j - i + shift (kv_start - q_start)
  int64_t slope = 0;                    // ALiBi: slope of head n1 at slope + n1
};
struct PsePlan {
  PseMode mode = PseMode::kNone;
  PseMap map = PseMap::kDirect;
  int64_t cols = 0;  // row length of a compressed pse (S2, or S2max in TND)
  std::vector<PseBatch> batches;
};

enum class DropoutMode : int { kNone = 0, kExplicit = 1, kGenerator = 2 };
struct DropoutPlan {
  DropoutMode mode = DropoutMode::kNone;
  float keep_scale = 1.0f;          // 1 / keep_prob
  int64_t numels = 0;               // N1·Σ S1_b·S2_b (torch_npu's numels)
  std::vector<int64_t> batch_base;  // batch b's first element: explicit-mask index or padded stream index
  uint32_t key_lo = 0, key_hi = 0, threshold = 0;
  uint64_t offset_groups = 0;
};

struct FaProblem {
  Layout layout = Layout::kBSND;
  DType dtype = DType::kFloat32;
  int64_t batch = 0, n1 = 0, n2 = 0, s1 = 0, s2 = 0, dk = 0, dv = 0;  // TND: s1/s2 are T1/T2
  VarlenSeqs seqs;  // every layout: per-batch starts (tokens for TND, 0 otherwise) and lengths
  bool tnd_softmax_same_as_input = false;
  float scale = 1.0f;
  int64_t sparse_mode = 0;
  schedule::MaskPlan masks;  // per-batch band rules, mask-tensor use, invalid-line mode
  PsePlan pse;
  DropoutPlan dropout;
  int64_t seed = 0, offset = 0;
  // GQA decode fold (fold_gqa_decode): > 1 when the G query heads of each K/V head run as G rows of one head, so
  // n1 is then N2, s1 and every q_len are G, and the views' head stride becomes the row stride.
  int64_t fold = 1;
  int64_t group() const { return n1 / n2; }
};

// Checks every documented constraint of the inputs and attributes. Throws Error(kParamInvalid) naming
// the argument and the rule, or Error(kUnimplemented) for Ascend features cannon does not have yet. With
// `limits`, every tensor is also checked against the device before any per-batch table is built.
FaProblem validate_flash_attention_score(const FlashAttentionScoreDescs& descs, const FlashAttentionScoreAttrs& attrs,
                                         bool strict, const DeviceLimits* limits = nullptr);

// GQA decode as one K/V pass per group: with S1 = 1 (non-TND), no pse, dropout or mask tensor, and a band rule that
// shows every key to rows 0..G-1, the G query heads of each K/V head are exactly G query rows of one head: in every
// layout their rows lie one head stride apart, as do their softmax rows ([B,N1,1,8] is [B,N2,G,8]). Returns the
// problem unchanged when any condition fails.
FaProblem fold_gqa_decode(FaProblem p);

// The device buffers a run reads and writes (inputs, outputs), with checked sizes, for the device-limit checks.
std::vector<DeviceBuffer> fa_device_buffers(const FlashAttentionScoreDescs& descs, const FaProblem& p);

// atten_mask dtype and shape for the sparse mode (full or compressed); throws Error(kParamInvalid).
void validate_atten_mask(const TensorDesc& mask, const FaProblem& p, int64_t sparse_mode);

// pse and dropout rules (flash_attention_score_pse.cpp, _dropout.cpp); throw Error(kParamInvalid).
PsePlan plan_pse(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a, const FaProblem& p);
DropoutPlan plan_dropout(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a, const FaProblem& p);

// The batch table of the kernels (kernels/interface.h BT_*): one BT_STRIDE row per batch, fixed by the plan.
std::vector<int64_t> fa_batch_table(const FaProblem& p);

// Element strides of a full atten_mask over (batch, head, row); broadcast dimensions have stride 0.
struct MaskStrides {
  int64_t batch = 0, head = 0, row = 0;
};
MaskStrides atten_mask_strides(const TensorView& mask);

// run()'s helpers, shared with the backward (flash_attention_score_run.cpp): an optional input is present at run
// iff planned and is checked like the others (returns its element offset); a layout's axis strides into FaArgs
// fields; and the FaArgs fields that describe the problem and its optional inputs (mask, pse, dropout, flags,
// scale, group). Throw Error(kParamInvalid) naming the view.
int64_t check_optional(const std::optional<TensorView>& view, const std::optional<TensorDesc>& planned,
                       const char* what);
void set_axes(const AxisStrides& s, int64_t off, cn_i64& a_off, cn_i64& a_batch, cn_i64& a_seq, cn_i64& a_head);
void fill_fa_problem_args(const FaProblem& p, const FlashAttentionScoreDescs& descs,
                          const std::optional<TensorView>& pse, const std::optional<TensorView>& drop_mask,
                          const std::optional<TensorView>& atten_mask, FaArgs& a);

namespace detail {

// The plan behind FlashAttentionScorePlan. Its device tables (plan_table_* in PlanBase) are the batch table, the
// work list, the tile list and, with the mask prepass, each work entry's slot in the refined tile list.
struct FlashAttentionScorePlanData : PlanBase {
  FaProblem problem;
  FlashAttentionScoreDescs descs;
  KernelConfig kernel;
  bool prepass = false;                // refine the tiles with atten_mask's contents on the device before each run
  std::vector<int64_t> batch_table;    // BT_STRIDE int64 per batch
  std::vector<int32_t> work;           // WK_STRIDE ints per work entry, in execution order
  std::vector<int32_t> tiles;          // the scheduler's tile list: (col0 << 1) | partial
  std::vector<int32_t> prepass_slots;  // per entry: its first refined tile, or -1 - the entry whose list it shares
  cl_mem batch_mem = nullptr, work_mem = nullptr, tiles_mem = nullptr, slots_mem = nullptr;  // owned by PlanBase
  FaSplitPlan split;  // split-KV (decode): the merge list and kernel; off unless parts > 0
  // Per-head K/V panels (fa_pack_kv, kernels/flash_attention_score.cl): KV_PANEL_NONE (0), KV_PANEL_UNIFORM (1) or
  // KV_PANEL_TND (2); the pack kernel's index among the plan's kernels and its key blocks per head.
  int kv_panels = 0;
  std::size_t kv_pack_kernel = 0;
  int64_t kv_key_blocks = 0;
};

}  // namespace detail
}  // namespace cannon

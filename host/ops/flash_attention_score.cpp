// FlashAttentionScore forward on the host: plan (validate, pick and build the kernel, list the work,
// book the workspace) and run (check the views, fill the batch table, set arguments, enqueue).
#include "cannon/flash_attention_score.hpp"

#include <algorithm>

#include "cannon/config.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/kernel_sources.hpp"
#include "host/runtime/launch_check.hpp"
#include "host/schedule/tile_plan.hpp"

namespace cannon {

namespace detail {
FlashAttentionScorePlanData::~FlashAttentionScorePlanData() {
  if (program) clReleaseProgram(program);
}
}  // namespace detail

namespace {

// The scheduler's tile plan flattened into the kernel's work and tile lists; also the FLOPs of the tiles
// the kernel will compute (masked-out tiles are never visited, so they cost nothing).
double list_work(const FaProblem& p, const KernelConfig& k, unsigned threads, detail::FlashAttentionScorePlanData& d) {
  schedule::TilePlan tp =
      schedule::plan_tiles(p.masks, p.seqs.q_len, p.seqs.kv_len, p.n1, k.block_m, k.block_n, static_cast<int>(threads));
  d.tiles = std::move(tp.tiles);
  d.work.clear();
  d.work.reserve(tp.entries.size() * kWorkStride);
  double scores = 0;
  for (const schedule::WorkEntry& e : tp.entries) {
    d.work.insert(d.work.end(), {e.batch, e.head, e.row0, e.tile_begin, e.tile_count});
    const int64_t rows = std::min<int64_t>(k.block_m, p.seqs.q_len[e.batch] - e.row0);
    for (int32_t t = e.tile_begin; t < e.tile_begin + e.tile_count; ++t) {
      const int64_t col0 = d.tiles[t] >> 1;
      scores += static_cast<double>(rows * std::min<int64_t>(k.block_n, p.seqs.kv_len[e.batch] - col0));
    }
  }
  static_assert(kWorkStride == 5, "one work entry is (batch, head, row0, first tile, tile count)");
  return scores * 2.0 * static_cast<double>(p.dk + p.dv);
}

// Everything plan does on the host; with a context it also builds the kernel program (last, so a rejected problem
// never costs a build).
FlashAttentionScorePlan plan_impl(const DeviceInfo& device, const FlashAttentionScoreDescs& descs,
                                  const FlashAttentionScoreAttrs& attrs, const Context* ctx) {
  const Config& config = Config::global();
  const DeviceLimits limits = DeviceLimits::of(device);
  auto data = std::make_shared<detail::FlashAttentionScorePlanData>();
  data->problem = validate_flash_attention_score(descs, attrs, config.strict, &limits);
  data->descs = descs;
  const FaProblem& p = data->problem;

  data->kernel = choose_kernel_config(device, p.dtype, static_cast<int>(p.dk), static_cast<int>(p.dv), config.tune);
  if (data->kernel.variant == KernelVariant::kGeneric) {
    const int64_t max_keys = p.seqs.kv_len.empty() ? 0 : *std::max_element(p.seqs.kv_len.begin(), p.seqs.kv_len.end());
    check_loop_budget(device, fa_generic_loop_steps(data->kernel, max_keys, p.dropout.mode != DropoutMode::kNone),
                      "fa_fwd_generic", fmt::format("S2 = {} at DK = {}, DV = {}", max_keys, p.dk, p.dv));
  }
  // The work and tile lists are sized in closed form and checked against the device before they are built.
  const schedule::TileCounts counts =
      schedule::count_tiles(p.masks, p.seqs.q_len, p.seqs.kv_len, p.n1, data->kernel.block_m, data->kernel.block_n);
  const uint64_t work_bytes =
      checked_mul_u64(static_cast<uint64_t>(counts.entries), kWorkStride * sizeof(int32_t), "workspace work_list");
  // The mask prepass may give each work entry its own tiles: up to every head's copy of its row's tiles.
  const bool prepass = p.masks.reads_mask_tensor && data->kernel.mask_prepass;
  const uint64_t prepass_tiles =
      checked_mul_u64(static_cast<uint64_t>(counts.tiles), prepass ? p.n1 : 1, "workspace tile_list");
  check_index_limit("workspace tile_list: tiles", prepass_tiles, INT32_MAX, "the kernels' int32 tile index");
  std::vector<DeviceBuffer> buffers = fa_device_buffers(descs, p);
  buffers.push_back({"workspace batch_table", static_cast<uint64_t>(p.batch) * kBatchTableStride * sizeof(int64_t)});
  buffers.push_back({"workspace work_list", work_bytes});
  buffers.push_back({"workspace tile_list", checked_mul_u64(prepass_tiles, sizeof(int32_t), "workspace tile_list")});
  check_buffers_fit(limits, buffers);
  const double flops = list_work(p, data->kernel, device.compute_units, *data);

  data->ledger = WorkspaceLedger(device.base_addr_align);
  data->ledger.book("batch_table", static_cast<std::size_t>(p.batch) * kBatchTableStride * sizeof(int64_t));
  data->ledger.book("work_list", data->work.size() * sizeof(int32_t));
  // The mask prepass may give each (batch, head) its own refined list: at most one tile per visited tile.
  std::size_t tile_list_slots = data->tiles.size();
  if (prepass) {
    std::size_t visited = 0;
    for (std::size_t e = 0; e < data->work.size(); e += kWorkStride) visited += data->work[e + 4];
    tile_list_slots = std::max(tile_list_slots, visited);
  }
  data->ledger.book("tile_list", tile_list_slots * sizeof(int32_t));

  FlashAttentionScorePlan plan;
  const bool tnd = p.layout == Layout::kTND;
  plan.attention_out = {p.dtype, layout_shape(p.layout, {tnd ? 1 : p.batch, p.s1, p.n1, p.dv})};
  TensorDesc stats{DType::kFloat32,
                   tnd ? std::vector<int64_t>{p.s1, p.n1, 8} : std::vector<int64_t>{p.batch, p.n1, p.s1, 8}};
  plan.softmax_max = stats;
  plan.softmax_sum = stats;
  plan.softmax_out = {DType::kFloat32, {0}};
  plan.workspace_size = data->ledger.total();
  plan.flops = flops;
  plan.seed = p.seed;
  plan.offset = p.offset;
  plan.numels = p.dropout.numels;
  if (ctx) {
    data->program = ctx->impl().programs.get(ctx->cl_context_handle(), ctx->cl_device_handle(),
                                             kernels::source("flash_attention_score"), data->kernel.build_options());
    CANNON_CL(clRetainProgram(data->program));
    check_work_group(data->program, ctx->cl_device_handle(), data->kernel.kernel_name("fa_fwd"),
                     data->kernel.local_size());
  }
  plan.data_ = std::move(data);
  return plan;
}

}  // namespace

FlashAttentionScorePlan plan_flash_attention_score(const Context& ctx, const FlashAttentionScoreDescs& descs,
                                                   const FlashAttentionScoreAttrs& attrs) {
  return plan_impl(ctx.info(), descs, attrs, &ctx);
}

FlashAttentionScorePlan plan_flash_attention_score_host(const DeviceInfo& device, const FlashAttentionScoreDescs& descs,
                                                        const FlashAttentionScoreAttrs& attrs) {
  return plan_impl(device, descs, attrs, nullptr);
}

FlashAttentionScoreResult flash_attention_score(const Context& ctx, const TensorView& query, const TensorView& key,
                                                const TensorView& value, const FlashAttentionScoreAttrs& attrs,
                                                const FlashAttentionScoreOptionalInputs& optional) {
  auto desc_of = [](const std::optional<TensorView>& v) -> std::optional<TensorDesc> {
    return v ? std::optional<TensorDesc>(v->desc) : std::nullopt;
  };
  FlashAttentionScoreDescs descs{query.desc,
                                 key.desc,
                                 value.desc,
                                 desc_of(optional.pse),
                                 desc_of(optional.drop_mask),
                                 desc_of(optional.atten_mask)};
  FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, descs, attrs);
  FlashAttentionScoreResult result{allocate(ctx, plan.attention_out), allocate(ctx, plan.softmax_max),
                                   allocate(ctx, plan.softmax_sum), allocate(ctx, plan.softmax_out)};
  DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  FlashAttentionScoreTensors t{query,
                               key,
                               value,
                               optional.pse,
                               optional.drop_mask,
                               optional.atten_mask,
                               result.attention_out.view(),
                               result.softmax_max.view(),
                               result.softmax_sum.view(),
                               result.softmax_out.view()};
  run_flash_attention_score(ctx, plan, t, workspace.buffer());
  ctx.finish();
  result.seed = plan.seed;
  result.offset = plan.offset;
  result.numels = plan.numels;
  return result;
}

}  // namespace cannon

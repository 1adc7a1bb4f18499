// FlashAttentionScore forward on the host: plan (validate, pick and build the kernel, list the work, fill and upload
// the plan's tables, book the workspace) and the allocating convenience calls. run() is in
// flash_attention_score_run.cpp.
#include "cannon/flash_attention_score.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "host/ops/convenience.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/ops/plan_access.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/launch_check.hpp"
#include "host/schedule/tile_plan.hpp"

namespace cannon {
namespace {

using Data = detail::FlashAttentionScorePlanData;

// Band-rule bounds go to the kernels as int: row and key indices are below 2^31, so clamping an "unbounded"
// pre/next to the int range keeps every comparison exact.
int64_t clamp_int(int64_t v) {
  return std::clamp<int64_t>(v, -std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::max());
}

// The scheduler's tile plan flattened into the kernel's work and tile lists; also the FLOPs of the tiles
// the kernel will compute (masked-out tiles are never visited, so they cost nothing).
double list_work(const FaProblem& p, const KernelConfig& k, unsigned threads, Data& d) {
  schedule::TilePlan tp = schedule::plan_tiles(p.masks, p.seqs.q_len, p.seqs.kv_len, p.n1, k.block_m, k.block_n,
                                               static_cast<int>(threads), d.split.rule);
  d.tiles = std::move(tp.tiles);
  d.split.merges = merge_list(tp);
  d.split.parts = tp.parts;
  d.work.clear();
  d.work.reserve(tp.entries.size() * WK_STRIDE);
  double scores = 0;
  for (const schedule::WorkEntry& e : tp.entries) {
    d.work.insert(d.work.end(), {e.batch, e.head, e.row0, e.tile_begin, e.tile_count, e.part});
    const int64_t rows = std::min<int64_t>(k.block_m, p.seqs.q_len[e.batch] - e.row0);
    for (int32_t t = e.tile_begin; t < e.tile_begin + e.tile_count; ++t) {
      const int64_t col0 = schedule::tile_col0(d.tiles[t]);
      scores += static_cast<double>(rows * std::min<int64_t>(k.block_n, p.seqs.kv_len[e.batch] - col0));
    }
  }
  static_assert(WK_STRIDE == 6, "one work entry is (batch, head, row0, first tile, tile count, partial slot)");
  return scores * 2.0 * static_cast<double>(p.dk + p.dv);
}

// The mask prepass's slot of each work entry in the refined tile list. Entries that read the same mask slice
// (heads, when atten_mask broadcasts over them) share one refined list: only the first refines, the others copy.
// Split-KV chunks of one entry list different tiles, so the first tile is part of what is shared.
// Returns the number of refined tile slots.
std::size_t prepass_slots(const FlashAttentionScoreDescs& descs, Data& d) {
  const std::vector<int64_t>& mask_shape = descs.atten_mask->shape;
  const bool heads_share = mask_shape.size() == 2 || mask_shape[1] == 1;
  std::map<std::tuple<int32_t, int32_t, int32_t>, int32_t> first;  // (batch, row0, tile0) -> representative entry
  d.prepass_slots.clear();
  std::size_t slots = 0;
  for (std::size_t e = 0; e * WK_STRIDE < d.work.size(); ++e) {
    const int32_t* wk = &d.work[e * WK_STRIDE];
    if (heads_share) {
      auto [it, fresh] =
          first.emplace(std::make_tuple(wk[WK_BATCH], wk[WK_ROW0], wk[WK_TILE0]), static_cast<int32_t>(e));
      if (!fresh) {
        d.prepass_slots.push_back(-1 - it->second);
        continue;
      }
    }
    d.prepass_slots.push_back(static_cast<int32_t>(slots));
    slots += static_cast<std::size_t>(wk[WK_TILES]);
  }
  return slots;
}

// The tuning database's mask class (docs/tuning.md): dense without a mask (or with a mask tensor under an
// unbounded rule: which tiles it skips is only known from its contents), causal when no batch's band has a lower
// limit, band otherwise.
tune::MaskClass tune_mask_class(const schedule::MaskPlan& m) {
  if (!m.masked) return tune::MaskClass::kDense;
  bool bounded_above = false;
  for (const schedule::BandRule& r : m.rules) {
    if (r.pre < schedule::kUnbounded / 2 && r.prefix == 0) return tune::MaskClass::kBand;
    bounded_above = bounded_above || r.next < schedule::kUnbounded / 2;
  }
  return bounded_above ? tune::MaskClass::kCausal : tune::MaskClass::kDense;
}

// The per-head K/V panels' size cap: past it the entries read K and V as they are (a copy that large would cost
// more memory than its reuse is worth; 256 MiB holds fp32 K and V of 32k keys at 8 kv heads and D = 128).
constexpr uint64_t kMaxKvPanelBytes = uint64_t{256} << 20;
// KV_PANELS=1 packs only where a head's K and V rows (as fp32, S2·(DK + DV)·4 bytes) reach 1 MiB and lie a token
// apart, and the band rule is dense. Smaller heads stay cached from one entry to the next even at a 4 KiB stride; in
// BNSD they are contiguous already. Under a causal or band rule the work order (host/schedule/tile_plan.cpp) places
// entries of unequal cost by cost, so neighbouring entries read different heads and no panel is reused while cached.
// Measured (2-core Xeon, BSND, alternating runs, docs/performance.md, seventh session): dense D=64 S=4096 (2 MiB)
// gains 6–9% on AVX-512 code and 5–7% on AVX2 code; D=128 S=1024 (1 MiB) 3–10% on AVX-512 code (fp32 and bf16) and
// ±1.5% on AVX2 code; D=128 S=4096 fp32 0–3%. D=64 S=1024 (512 KiB), BNSD and causal D=128 S=4096 fp32 (157 → 173 ms,
// the fastest of 6 runs) lose the copy.
constexpr uint64_t kMinKvPanelHeadBytes = uint64_t{1} << 20;

// Whether the cpu variant packs each kv head's K and V into fp32 panels first (kernels/flash_attention_score.cl
// fa_pack_kv), and their bytes. Only where a head's blocks are read by more than one work entry (more query rows
// than one entry holds, or a GQA group), never for split-KV decode (each block is read once) or the decode fold;
// KV_PANELS=1 also asks for the size, layout and band rule above, 2 packs wherever blocks are reused (tests, tuning).
uint64_t kv_panel_bytes(const FaProblem& p, const KernelConfig& k, bool split, int64_t max_rows, int64_t max_keys,
                        bool dense) {
  if (k.variant != KernelVariant::kCpu || k.kv_panels == 0 || split || p.fold > 1) return 0;
  if (max_rows <= k.block_m && p.group() == 1) return 0;
  const uint64_t row_bytes = static_cast<uint64_t>((p.dk + 15) / 16 * 16 + (p.dv + 15) / 16 * 16) * sizeof(float);
  if (k.kv_panels == 1) {
    // A head's K rows are DK elements apart only in BNSD, and where a token holds one kv head (of one batch in SBH).
    const bool rows_apart = p.layout != Layout::kBNSD && (p.n2 > 1 || (p.layout == Layout::kSBH && p.batch > 1));
    if (!rows_apart || !dense || static_cast<uint64_t>(max_keys) * row_bytes < kMinKvPanelHeadBytes) return 0;
  }
  int64_t tokens = 0;
  for (const int64_t len : p.seqs.kv_len) tokens = checked_add(tokens, len, "workspace kv_panels");
  const uint64_t bytes = checked_mul_u64(
      checked_mul_u64(static_cast<uint64_t>(p.n2), static_cast<uint64_t>(tokens), "workspace kv_panels"), row_bytes,
      "workspace kv_panels");
  return bytes <= kMaxKvPanelBytes ? bytes : 0;
}

int64_t max_query_rows(const FaProblem& p) {
  return p.seqs.q_len.empty() ? 0 : *std::max_element(p.seqs.q_len.begin(), p.seqs.q_len.end());
}

}  // namespace

// One BT_STRIDE row per batch: everything the kernels need that the plan fixes (the views a run is given add
// their offsets and strides through FaArgs).
std::vector<int64_t> fa_batch_table(const FaProblem& p) {
  std::vector<int64_t> table;
  table.reserve(static_cast<std::size_t>(p.batch) * BT_STRIDE);
  const bool tnd = p.layout == Layout::kTND;
  for (int64_t b = 0; b < p.batch; ++b) {
    const schedule::BandRule& rule = p.masks.rules[b];
    const PseBatch& pb = p.pse.batches[b];
    const StatAddressing st =
        stat_addressing(p.layout, p.tnd_softmax_same_as_input, b, p.n1, p.seqs.q_len[b], p.seqs.q_start[b]);
    table.insert(table.end(),
                 {tnd ? p.seqs.q_start[b] : 0, tnd ? p.seqs.kv_start[b] : 0, p.seqs.q_len[b], p.seqs.kv_len[b], st.base,
                  st.head_stride, st.row_stride, clamp_int(rule.pre), clamp_int(rule.next), clamp_int(rule.prefix),
                  pb.base, pb.head, pb.row, pb.shift, pb.slope, p.dropout.batch_base[b]});
  }
  static_assert(BT_STRIDE == 16 && BT_DROP == 15, "the batch table row above");
  return table;
}

// Everything plan does on the host; with a Context it also builds the kernel program and uploads the plan's
// tables (last, so a rejected problem never costs a build).
FlashAttentionScorePlan plan_flash_attention_score(const PlanTarget& target, const FlashAttentionScoreDescs& descs,
                                                   const FlashAttentionScoreAttrs& attrs) {
  const DeviceLimits limits = DeviceLimits::of(target.device);
  auto data = detail::validated_plan_data<Data>(descs, [&] {
    return fold_gqa_decode(validate_flash_attention_score(descs, attrs, target.config.strict, &limits));
  });
  const FaProblem& p = data->problem;

  data->kernel = choose_kernel_config(target.device, p.dtype, static_cast<int>(p.dk), static_cast<int>(p.dv),
                                      target.config, tune_mask_class(p.masks), max_query_rows(p));
  const int64_t max_keys = p.seqs.kv_len.empty() ? 0 : *std::max_element(p.seqs.kv_len.begin(), p.seqs.kv_len.end());
  const int64_t max_rows = p.seqs.q_len.empty() ? 0 : *std::max_element(p.seqs.q_len.begin(), p.seqs.q_len.end());
  if (data->kernel.variant == KernelVariant::kGeneric) {
    check_loop_budget(target.device,
                      fa_generic_loop_steps(data->kernel, max_keys, p.dropout.mode != DropoutMode::kNone),
                      "fa_fwd_generic", fmt::format("S2 = {} at DK = {}, DV = {}", max_keys, p.dk, p.dv));
  }
  data->prepass = p.masks.reads_mask_tensor && data->kernel.mask_prepass;
  if (data->prepass) {
    check_loop_budget(target.device, fa_prepass_loop_steps(data->kernel, max_keys), "fa_mask_prepass",
                      fmt::format("CANNON_TUNE=fa.MASK_PREPASS=1 at S2 = {}", max_keys));
  }
  // The work and tile lists are sized in closed form and checked against the device before they are built; the
  // split-KV rule (decode) comes from the unsplit sizes.
  const KernelConfig& kc = data->kernel;
  data->split.rule =
      choose_fa_split(kc, schedule::count_tiles(p.masks, p.seqs.q_len, p.seqs.kv_len, p.n1, kc.block_m, kc.block_n),
                      target.device.compute_units, max_rows, p.group());
  const schedule::TileCounts counts =
      schedule::count_tiles(p.masks, p.seqs.q_len, p.seqs.kv_len, p.n1, kc.block_m, kc.block_n, data->split.rule);
  check_index_limit("split-KV partial slots", static_cast<uint64_t>(counts.parts), INT32_MAX,
                    "the kernels' int32 slot index");
  const uint64_t partial_bytes = split_partial_bytes(kc, counts.parts);
  uint64_t panel_bytes =
      kv_panel_bytes(p, kc, counts.parts > 0, max_rows, max_keys, tune_mask_class(p.masks) == tune::MaskClass::kDense);
  const uint64_t work_bytes =
      checked_mul_u64(static_cast<uint64_t>(counts.entries), WK_STRIDE * sizeof(int32_t), "plan work_list");
  // The mask prepass may give each work entry its own tiles: up to every head's copy of its row's tiles.
  const uint64_t prepass_tiles =
      checked_mul_u64(static_cast<uint64_t>(counts.tiles), data->prepass ? p.n1 : 1, "workspace prepass_tiles");
  check_index_limit("workspace prepass_tiles: tiles", prepass_tiles, INT32_MAX, "the kernels' int32 tile index");
  std::vector<DeviceBuffer> buffers = fa_device_buffers(descs, p);
  buffers.push_back({"plan batch_table", static_cast<uint64_t>(p.batch) * BT_STRIDE * sizeof(int64_t)});
  buffers.push_back({"plan work_list", work_bytes});
  buffers.push_back(
      {"plan tile_list", checked_mul_u64(static_cast<uint64_t>(counts.tiles), sizeof(int32_t), "plan tile_list")});
  if (data->prepass) {
    buffers.push_back({"workspace prepass_work", work_bytes});
    buffers.push_back(
        {"workspace prepass_tiles", checked_mul_u64(prepass_tiles, sizeof(int32_t), "workspace prepass_tiles")});
  }
  if (counts.parts > 0) {
    buffers.push_back({"plan merge_list", checked_mul_u64(static_cast<uint64_t>(counts.merges),
                                                          WK_STRIDE * sizeof(int32_t), "plan merge_list")});
    buffers.push_back({"workspace split_partials", partial_bytes});
  }
  check_buffers_fit(limits, buffers);
  // The panels only speed a run up: a device without room for them runs unpacked rather than refusing the problem.
  if (panel_bytes > 0) {
    buffers.push_back({"workspace kv_panels", panel_bytes});
    if (!buffers_fit(limits, buffers)) panel_bytes = 0;
  }
  const double flops = list_work(p, data->kernel, target.device.compute_units, *data);
  data->batch_table = fa_batch_table(p);

  data->ledger = WorkspaceLedger(target.device.base_addr_align);
  if (data->prepass) {
    const std::size_t slots = prepass_slots(descs, *data);
    data->ledger.book("prepass_work", data->work.size() * sizeof(int32_t));
    data->ledger.book("prepass_tiles", std::max<std::size_t>(slots, 1) * sizeof(int32_t));
  }
  if (data->split.on()) data->ledger.book("split_partials", partial_bytes, sizeof(float) * 16);
  if (panel_bytes > 0) {
    data->kv_panels = p.layout == Layout::kTND ? KV_PANEL_TND : KV_PANEL_UNIFORM;
    // fa_pack_kv runs B·N2·blocks work-items (a long product; blocks past a shorter TND batch return at once). The
    // byte cap keeps N2·blocks and each block index within the kernel's int.
    data->kv_key_blocks = (max_keys + kc.block_n - 1) / kc.block_n;
    data->ledger.book("kv_panels", panel_bytes, sizeof(float) * 16);
  }

  FlashAttentionScorePlan plan;
  const bool tnd = p.layout == Layout::kTND;
  const int64_t s1 = p.fold > 1 ? 1 : p.s1, n1 = p.n1 * p.fold;  // the caller's shapes, folded or not
  plan.attention_out = {p.dtype, layout_shape(p.layout, {tnd ? 1 : p.batch, s1, n1, p.dv})};
  TensorDesc stats{DType::kFloat32, tnd ? std::vector<int64_t>{s1, n1, 8} : std::vector<int64_t>{p.batch, n1, s1, 8}};
  plan.softmax_max = stats;
  plan.softmax_sum = stats;
  plan.softmax_out = {DType::kFloat32, {0}};
  plan.workspace_size = data->ledger.total();
  plan.flops = flops;
  plan.seed = p.seed;
  plan.offset = p.offset;
  plan.numels = p.dropout.numels;
  if (const Context* ctx = target.ctx) {
    std::vector<detail::PlanBase::KernelUse> kernels{{data->kernel.kernel_name("fa_fwd"), data->kernel.local_size()}};
    if (data->prepass) kernels.insert(kernels.end(), {{"fa_mask_prepass", 1}, {"fa_mask_prepass_share", 1}});
    if (data->split.on()) {
      data->split.kernel = kernels.size();
      kernels.push_back({"fa_split_merge", 1});
    }
    if (data->kv_panels != 0) {
      data->kv_pack_kernel = kernels.size();
      kernels.push_back({"fa_pack_kv", 1});
    }
    data->build(*ctx, "flash_attention_score", data->kernel.build_options(), kernels);
    data->batch_mem = data->add_table(*ctx, data->batch_table);
    data->work_mem = data->add_table(*ctx, data->work);
    data->tiles_mem = data->add_table(*ctx, data->tiles);
    if (data->prepass) data->slots_mem = data->add_table(*ctx, data->prepass_slots);
    if (data->split.on()) data->split.merges_mem = data->add_table(*ctx, data->split.merges);
  }
  detail::PlanAccess::attach(plan, std::move(data));
  return plan;
}

FlashAttentionScoreResult flash_attention_score(const Context& ctx, const TensorView& query, const TensorView& key,
                                                const TensorView& value,
                                                const FlashAttentionScoreOptionalInputs& optional,
                                                const FlashAttentionScoreAttrs& attrs) {
  const FlashAttentionScorePlan plan =
      plan_flash_attention_score(ctx,
                                 {query.desc, key.desc, value.desc, desc_of(optional.pse), desc_of(optional.drop_mask),
                                  desc_of(optional.atten_mask)},
                                 attrs);
  auto run = [&](FlashAttentionScoreResult& r, cl_mem workspace) {
    run_flash_attention_score(
        ctx, plan,
        {query, key, value, optional.pse, optional.drop_mask, optional.atten_mask, r.attention_out.view(),
         r.softmax_max.view(), r.softmax_sum.view(), r.softmax_out.view()},
        workspace);
    r.seed = plan.seed;
    r.offset = plan.offset;
    r.numels = plan.numels;
  };
  return allocate_and_run<FlashAttentionScoreResult>(ctx, plan, run, plan.attention_out, plan.softmax_max,
                                                     plan.softmax_sum, plan.softmax_out);
}

FlashAttentionScoreResult flash_attention_score(const Context& ctx, const TensorView& query, const TensorView& key,
                                                const TensorView& value, const FlashAttentionScoreAttrs& attrs) {
  return flash_attention_score(ctx, query, key, value, FlashAttentionScoreOptionalInputs{}, attrs);
}

FlashAttentionScorePlan plan_flash_attention_score(const Context& ctx, const FlashAttentionScoreDescs& descs,
                                                   const FlashAttentionScoreAttrs& attrs) {
  return plan_flash_attention_score(PlanTarget::on(ctx), descs, attrs);
}

}  // namespace cannon

// FlashAttentionScore run(): checks every view against the plan (nothing is read or written outside a buffer),
// gathers the views' offsets and strides into FaArgs, and enqueues: with a dense atten_mask first the mask
// prepass into the workspace, with per-head K/V panels their pack kernel, then the attention kernel over the plan's
// tables, then (split-KV) the merge of its partial results. Nothing here blocks.
#include <algorithm>
#include <optional>

#include "cannon/flash_attention_score.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/ops/plan_access.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/command_chain.hpp"
#include "host/runtime/sub_buffer.hpp"
#include "host/runtime/view_check.hpp"

namespace cannon {
// An optional input: present at run iff planned, checked like the others; returns its element offset.
int64_t check_optional(const std::optional<TensorView>& view, const std::optional<TensorDesc>& planned,
                       const char* what) {
  if (!planned) {
    require(!view.has_value(), "{}: given at run but not at plan", what);
    return 0;
  }
  require(view.has_value(), "{}: planned but not given at run", what);
  return check_view(*view, *planned, what, true);
}

void set_axes(const AxisStrides& s, int64_t off, cn_i64& a_off, cn_i64& a_batch, cn_i64& a_seq, cn_i64& a_head) {
  a_off = off;
  a_batch = s.batch;
  a_seq = s.seq;
  a_head = s.head;
}

void fill_fa_problem_args(const FaProblem& p, const FlashAttentionScoreDescs& descs,
                          const std::optional<TensorView>& pse, const std::optional<TensorView>& drop_mask,
                          const std::optional<TensorView>& atten_mask, FaArgs& a) {
  if (descs.atten_mask) {
    require(atten_mask.has_value(), "atten_mask: planned with a mask but none given at run");
    a.mask_off = check_view(*atten_mask, *descs.atten_mask, "atten_mask", false);
    if (p.masks.reads_mask_tensor) {
      const MaskStrides m = atten_mask_strides(*atten_mask);
      a.mask_batch = m.batch;
      a.mask_head = m.head;
      a.mask_row = m.row;
    }
  } else {
    require(!atten_mask.has_value(), "atten_mask: given at run but not at plan");
  }
  a.pse_off = check_optional(pse, descs.pse, "pse");
  a.pse_cols = p.pse.cols;
  // An explicit mask's bits are counted from its buffer's start: its view offset shifts both ends.
  const int64_t drop_off = check_optional(drop_mask, descs.drop_mask, "drop_mask");
  a.drop_off = drop_off * 8;
  a.drop_offset_groups = p.dropout.offset_groups;
  a.drop_numels = static_cast<cn_u64>(p.dropout.numels + drop_off * 8);
  a.group = static_cast<cn_i32>(p.group());
  a.scale = p.scale;
  a.flags = (p.masks.reads_mask_tensor ? FLAG_MASK_TENSOR : 0) | (p.masks.invalid_line ? FLAG_INVALID_LINE : 0) |
            (p.dropout.mode == DropoutMode::kExplicit ? FLAG_DROP_EXPLICIT : 0) |
            (p.dropout.mode == DropoutMode::kGenerator ? FLAG_DROP_GEN : 0);
  a.pse_mode = static_cast<cn_i32>(p.pse.mode);
  a.pse_map = static_cast<cn_i32>(p.pse.map);
  a.keep_scale = p.dropout.keep_scale;
  a.drop_key_lo = p.dropout.key_lo;
  a.drop_key_hi = p.dropout.key_hi;
  a.drop_threshold = p.dropout.threshold;
}

namespace {

FaArgs describe_launch(const detail::FlashAttentionScorePlanData& d, const FlashAttentionScorePlan& plan,
                       const FlashAttentionScoreTensors& t) {
  const FaProblem& p = d.problem;
  const FlashAttentionScoreDescs& descs = d.descs;
  FaArgs a{};
  const int64_t q_heads = p.n1 * p.fold;  // the caller's query heads (fold_gqa_decode)
  set_axes(axis_strides(p.layout, t.query.desc.shape, t.query.strides, q_heads, "query"),
           check_view(t.query, descs.query, "query", false), a.q_off, a.q_batch, a.q_seq, a.q_head);
  set_axes(axis_strides(p.layout, t.key.desc.shape, t.key.strides, p.n2, "key"),
           check_view(t.key, descs.key, "key", false), a.k_off, a.k_batch, a.k_seq, a.k_head);
  set_axes(axis_strides(p.layout, t.value.desc.shape, t.value.strides, p.n2, "value"),
           check_view(t.value, descs.value, "value", false), a.v_off, a.v_batch, a.v_seq, a.v_head);
  set_axes(axis_strides(p.layout, t.attention_out.desc.shape, {}, q_heads, "attention_out"),
           check_view(t.attention_out, plan.attention_out, "attention_out", true), a.o_off, a.o_batch, a.o_seq,
           a.o_head);
  if (p.fold > 1) {  // the G heads of a group become its rows: one head stride apart (S1 = 1, so row 0 only)
    a.q_seq = a.q_head;
    a.q_head *= p.fold;
    a.o_seq = a.o_head;
    a.o_head *= p.fold;
  }
  a.smax_off = check_view(t.softmax_max, plan.softmax_max, "softmax_max", true);
  a.ssum_off = check_view(t.softmax_sum, plan.softmax_sum, "softmax_sum", true);
  fill_fa_problem_args(p, descs, t.pse, t.drop_mask, t.atten_mask, a);
  a.entries = static_cast<cn_i64>(d.work.size() / WK_STRIDE);
  return a;
}

}  // namespace

Event run_flash_attention_score(const Context& ctx, const FlashAttentionScorePlan& plan,
                                const FlashAttentionScoreTensors& t, cl_mem workspace, const Stream& stream) {
  const auto& d = detail::PlanAccess::runnable(plan, "plan_flash_attention_score");
  const FaArgs args = describe_launch(d, plan, t);
  check_workspace(workspace, plan.workspace_size);
  const std::optional<TensorView> ws = workspace_view(workspace, plan.workspace_size);
  check_disjoint({{"query", &t.query, false},
                  {"key", &t.key, false},
                  {"value", &t.value, false},
                  {"pse", t.pse ? &*t.pse : nullptr, false},
                  {"drop_mask", t.drop_mask ? &*t.drop_mask : nullptr, false},
                  {"atten_mask", t.atten_mask ? &*t.atten_mask : nullptr, false},
                  {"attention_out", &t.attention_out, true},
                  {"softmax_max", &t.softmax_max, true},
                  {"softmax_sum", &t.softmax_sum, true},
                  {"workspace", ws ? &*ws : nullptr, true}});

  CommandChain chain(ctx, stream);
  const std::size_t entries = d.work.size() / WK_STRIDE;
  cl_mem work = d.work_mem, tiles = d.tiles_mem;
  std::optional<SubBuffer> refined_work, refined_tiles;
  const auto lock = d.lock_kernels();
  if (d.prepass) {
    // Modes that read mask elements: the prepass refines the planned tiles with the mask's contents.
    refined_work.emplace(workspace, d.ledger.offset("prepass_work"), d.ledger.bytes("prepass_work"));
    refined_tiles.emplace(workspace, d.ledger.offset("prepass_tiles"), d.ledger.bytes("prepass_tiles"));
    Kernel& refine = d.kernel_at(1);
    refine.set_all(d.batch_mem, d.work_mem, d.tiles_mem, d.slots_mem, t.atten_mask->buffer, refined_work->mem(),
                   refined_tiles->mem(), args);
    chain.enqueue(refine, entries, 1);
    Kernel& share = d.kernel_at(2);
    share.set_all(d.work_mem, d.slots_mem, refined_work->mem(), args);
    chain.enqueue(share, entries, 1);
    work = refined_work->mem();
    tiles = refined_tiles->mem();
  }
  // Modes that never read mask, pse or drop_mask elements still need valid buffer arguments; the kernels never
  // touch them.
  const cl_mem mask = t.atten_mask ? t.atten_mask->buffer : d.tiles_mem;
  const cl_mem pse = t.pse ? t.pse->buffer : d.tiles_mem;
  const cl_mem drop_mask = t.drop_mask ? t.drop_mask->buffer : d.tiles_mem;
  Kernel& attention = d.kernel_at(0);
  // Split-KV chunks store their partial results in the workspace and fa_split_merge writes their rows; without a
  // split no entry has a partial slot and the argument is never touched.
  std::optional<SubBuffer> partials;
  if (d.split.on()) {
    partials.emplace(workspace, d.ledger.offset("split_partials"), d.ledger.bytes("split_partials"));
  }
  // Per-head K/V panels: packed once per run, read by every work entry of the head; without them the argument is
  // never touched.
  std::optional<SubBuffer> panels;
  if (d.kv_panels != KV_PANEL_NONE) {
    panels.emplace(workspace, d.ledger.offset("kv_panels"), d.ledger.bytes("kv_panels"));
    Kernel& pack = d.kernel_at(d.kv_pack_kernel);
    const cl_int kv_heads = static_cast<cl_int>(d.problem.n2), key_blocks = static_cast<cl_int>(d.kv_key_blocks);
    pack.set_all(t.key.buffer, t.value.buffer, d.batch_mem, panels->mem(), args, static_cast<cl_int>(d.kv_panels),
                 kv_heads, key_blocks);
    chain.enqueue(pack, static_cast<std::size_t>(d.problem.batch * d.problem.n2 * d.kv_key_blocks), 1);
  }
  if (d.kernel.variant == KernelVariant::kCpu) {
    attention.set_all(t.query.buffer, t.key.buffer, t.value.buffer, t.attention_out.buffer, t.softmax_max.buffer,
                      t.softmax_sum.buffer, d.batch_mem, work, tiles, mask, pse, pse, drop_mask,
                      partials ? partials->mem() : d.tiles_mem, panels ? panels->mem() : d.tiles_mem, args,
                      static_cast<cl_int>(d.kv_panels), static_cast<cl_int>(d.problem.n2));
  } else {
    attention.set_all(t.query.buffer, t.key.buffer, t.value.buffer, t.attention_out.buffer, t.softmax_max.buffer,
                      t.softmax_sum.buffer, d.batch_mem, work, tiles, mask, pse, pse, drop_mask, args);
  }
  const std::size_t local = d.kernel.local_size();
  chain.enqueue(attention, entries * local, local,
                {fmt::format("tiles={}{}{}", d.tiles.size(), d.prepass ? " (mask prepass)" : "",
                             d.split.on() ? fmt::format(" (split-KV: {} chunks)", d.split.parts) : ""),
                 plan.flops, "GFLOP/s"});
  if (partials) {
    enqueue_split_merge(d, d.split, chain, t.attention_out.buffer, t.softmax_max.buffer, t.softmax_sum.buffer,
                        d.batch_mem, partials->mem(), args);
  }
  return chain.done();
}

}  // namespace cannon

// FlashAttentionScoreGrad run(): checks every view against the plan (nothing is read or written outside a buffer),
// gathers the views' offsets and strides into FagArgs, and enqueues three kernels: the CPU variant's pre-pass (row
// blocks into the workspace), key/value-outer main kernel and dQ post kernel, or the generic variant's pre-pass (D),
// dQ kernel over query rows and dK/dV kernel over keys; then, only when a dpse view is given, fag_dpse over the pse's
// elements. Nothing here blocks.
#include <optional>

#include <fmt/ranges.h>

#include "cannon/flash_attention_score_grad.hpp"
#include "host/ops/flash_attention_score_grad_problem.hpp"
#include "host/ops/plan_access.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/command_chain.hpp"
#include "host/runtime/launch_check.hpp"
#include "host/runtime/sub_buffer.hpp"
#include "host/runtime/view_check.hpp"

namespace cannon {
namespace {

FagArgs describe_launch(const detail::FlashAttentionScoreGradPlanData& d, const FlashAttentionScoreGradPlan& plan,
                        const FlashAttentionScoreGradTensors& t) {
  const FaProblem& p = d.problem;
  const FlashAttentionScoreGradDescs& descs = d.descs;
  FagArgs g{};
  FaArgs& a = g.fa;
  // Inputs may be strided views; the outputs are written densely, in the inputs' shapes.
  auto input = [&](const TensorView& view, const TensorDesc& desc, int64_t heads, const char* what, cn_i64& off,
                   cn_i64& batch, cn_i64& seq, cn_i64& head) {
    set_axes(axis_strides(p.layout, view.desc.shape, view.strides, heads, what), check_view(view, desc, what, false),
             off, batch, seq, head);
  };
  auto output = [&](const TensorView& view, const TensorDesc& desc, int64_t heads, const char* what, cn_i64& off,
                    cn_i64& batch, cn_i64& seq, cn_i64& head) {
    set_axes(axis_strides(p.layout, view.desc.shape, {}, heads, what), check_view(view, desc, what, true), off, batch,
             seq, head);
  };
  input(t.query, descs.query, p.n1, "query", a.q_off, a.q_batch, a.q_seq, a.q_head);
  input(t.key, descs.key, p.n2, "key", a.k_off, a.k_batch, a.k_seq, a.k_head);
  input(t.value, descs.value, p.n2, "value", a.v_off, a.v_batch, a.v_seq, a.v_head);
  input(t.dy, descs.dy, p.n1, "dy", a.o_off, a.o_batch, a.o_seq, a.o_head);
  input(t.attention_in, descs.attention_in, p.n1, "attention_in", g.ain_off, g.ain_batch, g.ain_seq, g.ain_head);
  output(t.dq, plan.dq, p.n1, "dq", g.dq_off, g.dq_batch, g.dq_seq, g.dq_head);
  output(t.dk, plan.dk, p.n2, "dk", g.dk_off, g.dk_batch, g.dk_seq, g.dk_head);
  output(t.dv, plan.dv, p.n2, "dv", g.dv_off, g.dv_batch, g.dv_seq, g.dv_head);
  // The statistics are read at the forward's row addresses: dense views only.
  a.smax_off = check_view(t.softmax_max, descs.softmax_max, "softmax_max", true);
  a.ssum_off = check_view(t.softmax_sum, descs.softmax_sum, "softmax_sum", true);
  fill_fa_problem_args(p, forward_descs(descs), t.pse, t.drop_mask, t.atten_mask, a);
  if (t.dpse) {
    require(p.pse.mode != PseMode::kNone, "dpse: given without a pse input: there is no pse to differentiate");
    require(fag_has_dpse(p),
            "dpse: pse_type {} is ALiBi generated from slopes, which has no gradient; pass no dpse view",
            p.pse.mode == PseMode::kAlibi ? 2 : 3);
    g.dpse_off = check_view(*t.dpse, plan.dpse, "dpse", true);
  }
  g.batches = static_cast<cn_i32>(p.batch);
  return g;
}

// fag_dpse over the pse's elements, when a dpse view is given (after the main kernels; it reads only inputs).
void enqueue_dpse(const detail::FlashAttentionScoreGradPlanData& d, const FlashAttentionScoreGradTensors& t,
                  cl_mem mask, cl_mem drop_mask, FagArgs& args, CommandChain& chain) {
  if (!t.dpse) return;
  const std::size_t elements = static_cast<std::size_t>(t.dpse->desc.numel()), local = d.dpse_local;
  args.entries = static_cast<cn_i64>(elements);
  Kernel& dpse = d.kernel_at(3);
  dpse.set_all(t.query.buffer, t.key.buffer, t.value.buffer, t.dy.buffer, t.attention_in.buffer, t.softmax_max.buffer,
               t.softmax_sum.buffer, t.dpse->buffer, d.batch_mem, mask, t.pse->buffer, drop_mask, args);
  chain.enqueue(dpse, (elements + local - 1) / local * local, local);
}

}  // namespace

Event run_flash_attention_score_grad(const Context& ctx, const FlashAttentionScoreGradPlan& plan,
                                     const FlashAttentionScoreGradTensors& t, cl_mem workspace, const Stream& stream) {
  const auto& d = detail::PlanAccess::runnable(plan, "plan_flash_attention_score_grad");
  FagArgs args = describe_launch(d, plan, t);
  if (t.dpse) {
    check_loop_budget(ctx.info(), d.dpse_loop_steps, "fag_dpse",
                      fmt::format("a dpse of shape [{}]", fmt::join(plan.dpse.shape, ", ")));
  }
  check_workspace(workspace, plan.workspace_size);
  const std::optional<TensorView> ws_view = workspace_view(workspace, plan.workspace_size);
  check_disjoint({{"query", &t.query, false},
                  {"key", &t.key, false},
                  {"value", &t.value, false},
                  {"dy", &t.dy, false},
                  {"pse", t.pse ? &*t.pse : nullptr, false},
                  {"drop_mask", t.drop_mask ? &*t.drop_mask : nullptr, false},
                  {"atten_mask", t.atten_mask ? &*t.atten_mask : nullptr, false},
                  {"softmax_max", &t.softmax_max, false},
                  {"softmax_sum", &t.softmax_sum, false},
                  {"attention_in", &t.attention_in, false},
                  {"dq", &t.dq, true},
                  {"dk", &t.dk, true},
                  {"dv", &t.dv, true},
                  {"dpse", t.dpse ? &*t.dpse : nullptr, true},
                  {"workspace", ws_view ? &*ws_view : nullptr, true}});

  CommandChain chain(ctx, stream);
  const auto lock = d.lock_kernels();
  const SubBuffer ws(workspace, d.ledger.offset("grad"), d.ledger.bytes("grad"));
  // Modes that never read mask, pse or drop_mask elements still need valid buffer arguments; the kernels never
  // touch them.
  const cl_mem mask = t.atten_mask ? t.atten_mask->buffer : d.rows_mem;
  const cl_mem pse = t.pse ? t.pse->buffer : d.rows_mem;
  const cl_mem drop_mask = t.drop_mask ? t.drop_mask->buffer : d.rows_mem;
  const std::size_t row_entries = d.rows.size() / GR_STRIDE, key_entries = d.keys.size() / GK_STRIDE;
  args.row_tiles = d.row_tiles;
  args.parts = d.parts;
  args.chunk_rows = d.chunk_rows;
  args.dkv_entry = d.dkv_entry_floats;
  Kernel& pre = d.kernel_at(0);
  Kernel& middle = d.kernel_at(1);
  Kernel& post = d.kernel_at(2);
  const LaunchNote note{"", plan.flops, "GFLOP/s"};
  if (d.kernel.variant == KernelVariant::kCpu) {
    args.entries = static_cast<cn_i64>(row_entries);
    pre.set_all(t.query.buffer, t.dy.buffer, t.attention_in.buffer, t.softmax_max.buffer, t.softmax_sum.buffer,
                d.batch_mem, d.grad_mem, d.rows_mem, ws.mem(), args);
    chain.enqueue(pre, row_entries, 1);
    args.entries = static_cast<cn_i64>(key_entries);
    middle.set_all(t.key.buffer, t.value.buffer, t.dk.buffer, t.dv.buffer, d.batch_mem, d.grad_mem, d.keys_mem, mask,
                   pse, pse, drop_mask, ws.mem(), args);
    chain.enqueue(middle, key_entries, 1, note);
    args.entries = static_cast<cn_i64>(row_entries);
    post.set_all(t.dq.buffer, d.batch_mem, d.grad_mem, d.rows_mem, ws.mem(), args);
    chain.enqueue(post, row_entries, 1);
    enqueue_dpse(d, t, mask, drop_mask, args, chain);
    return chain.done();
  }
  const std::size_t local = static_cast<std::size_t>(d.kernel.block_m);
  args.entries = static_cast<cn_i64>(row_entries);
  pre.set_all(t.dy.buffer, t.attention_in.buffer, d.batch_mem, d.grad_mem, d.rows_mem, ws.mem(), args);
  chain.enqueue(pre, row_entries * local, local);
  middle.set_all(t.query.buffer, t.key.buffer, t.value.buffer, t.dy.buffer, t.softmax_max.buffer, t.softmax_sum.buffer,
                 t.dq.buffer, d.batch_mem, d.grad_mem, d.rows_mem, mask, pse, pse, drop_mask, ws.mem(), args);
  chain.enqueue(middle, row_entries * local, local);
  args.entries = static_cast<cn_i64>(key_entries);
  post.set_all(t.query.buffer, t.key.buffer, t.value.buffer, t.dy.buffer, t.softmax_max.buffer, t.softmax_sum.buffer,
               t.dk.buffer, t.dv.buffer, d.batch_mem, d.grad_mem, d.keys_mem, mask, pse, pse, drop_mask, ws.mem(),
               args);
  chain.enqueue(post, key_entries * local, local, note);
  enqueue_dpse(d, t, mask, drop_mask, args, chain);
  return chain.done();
}

}  // namespace cannon

// RingAttentionUpdate on the host: plan (validate, build the kernel variant, book the per-token softmax table)
// and run (check every view against the plan and its buffer; TND: enqueue the check of actual_seq_qlen's values,
// which also fills the per-token table; then the merge over tiles of (row, head) items), plus the allocating
// convenience call.
#include "cannon/ring_attention_update.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "host/ops/convenience.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/ops/plan_access.hpp"
#include "host/ops/ring_attention_update_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/command_chain.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/device_limits.hpp"
#include "host/runtime/launch_check.hpp"
#include "host/runtime/sub_buffer.hpp"
#include "host/runtime/view_check.hpp"
#include "host/tune/resolve.hpp"

namespace cannon {

namespace {

// CANNON_STRICT: actual_seq_qlen read back (after the stream's events) and checked before anything is enqueued.
void check_seq_on_host(const RauProblem& p, const TensorView& view, int64_t offset, const CommandChain& chain) {
  std::vector<int64_t> values(static_cast<std::size_t>(p.batch + 1));
  const std::vector<cl_event>& waits = chain.wait_for();
  CANNON_CL(clEnqueueReadBuffer(chain.queue(), view.buffer, CL_TRUE, static_cast<std::size_t>(offset) * 8,
                                values.size() * 8, values.data(), static_cast<cl_uint>(waits.size()),
                                waits.empty() ? nullptr : waits.data(), nullptr));
  check_actual_seq_qlen(p, values);
}

// Launch shape per device: heuristics, then the tuning database, then CANNON_TUNE's rau.RAU_ROWS, rau.RAU_HEADS,
// rau.RAU_LOCAL (host/tune, docs/tuning.md). On PoCL's CPU each work-item takes a tile of 8 rows × up to 128 head
// slots at local size 1: the attn pass then streams whole rows and the state pass reads 8-row runs of each slot's
// softmax lanes (measured on PoCL, docs/ring_attention_update.md). The tile's weights live in private memory (64 B
// per item), so tiles are capped at 1024 items. Every other device (GPUs, llvmpipe) takes 1×1 tiles in groups of 32
// (docs/devices.md). A CANNON_TUNE value outside its range is an error, never clamped; a value that is not an
// override (rows or heads per item) gives way to an explicit value of the other so the tile stays within the cap.
void choose_launch(const DeviceInfo& device, const Config& config, detail::RingAttentionUpdatePlanData& d) {
  const bool cpu = use_cpu_kernels(device);
  const RauProblem& p = d.problem;
  const tune::Values heuristics = {
      {"RAU_ROWS", cpu ? 8 : 1}, {"RAU_HEADS", cpu ? 128 : 1}, {"RAU_LOCAL", cpu ? 1 : 32}};
  const tune::ProblemClass cls = tune::make_class(p.dtype, p.dim, tune::MaskClass::kDense, INT64_MAX);
  const tune::Resolved r =
      tune::resolve("rau", device, cls, heuristics, config, {device.name, 0, 0, device.loop_limit, 0});
  d.local_size = static_cast<std::size_t>(r.values.at("RAU_LOCAL"));
  d.heads_per_wi = static_cast<std::size_t>(r.values.at("RAU_HEADS"));
  d.rows_per_wi = static_cast<std::size_t>(r.values.at("RAU_ROWS"));
  d.options.define("DTYPE", p.dtype == DType::kFloat32   ? 0
                            : p.dtype == DType::kFloat16 ? 1
                                                         : 2)
      .define("HEAD_DIM", p.dim)
      .define("SM_LAYOUT", static_cast<int>(p.softmax))
      .define("ROWS_PER_WI", static_cast<long>(d.rows_per_wi))
      .define("HEADS_PER_WI", static_cast<long>(d.heads_per_wi));
  d.seq_local = std::min<std::size_t>(32, std::max<std::size_t>(device.max_work_group_size, 1));
  // Loop steps per work-item (ring_attention_update.cl): both tile passes, 16 elements per attn step plus the tail.
  const uint64_t items = static_cast<uint64_t>(d.rows_per_wi) * d.heads_per_wi;
  const uint64_t per_row = static_cast<uint64_t>(p.dim / 16 + (p.dim % 16 ? 32 : 0));
  check_loop_budget(
      device, items * (2 + per_row), "ring_attention_update",
      fmt::format("a tile of RAU_ROWS = {} × RAU_HEADS = {} at D = {}", d.rows_per_wi, d.heads_per_wi, p.dim));
}

}  // namespace

// Everything plan does on the host, checked against the device before anything sized by the problem is booked;
// with a Context it also builds the kernel program.
RingAttentionUpdatePlan plan_ring_attention_update(const PlanTarget& target, const RingAttentionUpdateDescs& descs,
                                                   const RingAttentionUpdateAttrs& attrs) {
  auto data = detail::validated_plan_data<detail::RingAttentionUpdatePlanData>(
      descs, [&] { return validate_ring_attention_update(descs, attrs, target.config.strict); });
  const RauProblem& p = data->problem;
  std::vector<DeviceBuffer> buffers{buffer_of("prev_attn_out", descs.prev_attn_out),
                                    buffer_of("cur_attn_out", descs.cur_attn_out),
                                    buffer_of("attn_out", descs.prev_attn_out),
                                    buffer_of("prev_softmax_max", descs.prev_softmax_max),
                                    buffer_of("prev_softmax_sum", descs.prev_softmax_sum),
                                    buffer_of("cur_softmax_max", descs.cur_softmax_max),
                                    buffer_of("cur_softmax_sum", descs.cur_softmax_sum),
                                    buffer_of("softmax_max", descs.prev_softmax_max),
                                    buffer_of("softmax_sum", descs.prev_softmax_max)};
  if (p.softmax == RauSoftmaxLayout::kBatchBlocks) {
    buffers.push_back(
        {"workspace token_table", checked_mul_u64(static_cast<uint64_t>(p.rows), 2 * sizeof(int64_t), "token_table")});
  }
  check_buffers_fit(DeviceLimits::of(target.device), buffers);

  choose_launch(target.device, target.config, *data);
  if (const Context* ctx = target.ctx) {
    std::vector<detail::PlanBase::KernelUse> kernels{{"ring_attention_update", data->local_size}};
    if (p.tnd) kernels.push_back({"rau_seq_table", data->seq_local});
    data->build(*ctx, "ring_attention_update", data->options, kernels);
  }

  data->ledger = WorkspaceLedger(target.device.base_addr_align);
  if (p.softmax == RauSoftmaxLayout::kBatchBlocks) {
    data->ledger.book("token_table", static_cast<std::size_t>(p.rows) * 2 * sizeof(int64_t));
  }

  RingAttentionUpdatePlan plan;
  plan.attn_out = descs.prev_attn_out;
  plan.softmax_max = descs.prev_softmax_max;
  plan.softmax_sum = descs.prev_softmax_max;
  plan.workspace_size = data->ledger.total();
  // Two attn rows in, one out; four 8-lane softmax inputs, two out (the tiny seq table is not counted).
  const double attn = static_cast<double>(descs.prev_attn_out.bytes());
  const double stats = static_cast<double>(descs.prev_softmax_max.bytes());
  plan.bytes = 3 * attn + 6 * stats;
  detail::PlanAccess::attach(plan, std::move(data));
  return plan;
}

Event run_ring_attention_update(const Context& ctx, const RingAttentionUpdatePlan& plan,
                                const RingAttentionUpdateTensors& t, cl_mem workspace, const Stream& stream) {
  const auto& d = detail::PlanAccess::runnable(plan, "plan_ring_attention_update");
  const RauProblem& p = d.problem;
  // In RauArgs order: the slot and row counts, the views' element offsets, then actual_seq_qlen's.
  RauArgs args{p.tnd ? p.heads : p.batch * p.heads,
               p.rows,
               check_view(t.prev_attn_out, d.descs.prev_attn_out, "prev_attn_out", true),
               check_view(t.prev_softmax_max, d.descs.prev_softmax_max, "prev_softmax_max", true),
               check_view(t.prev_softmax_sum, d.descs.prev_softmax_sum, "prev_softmax_sum", true),
               check_view(t.cur_attn_out, d.descs.cur_attn_out, "cur_attn_out", true),
               check_view(t.cur_softmax_max, d.descs.cur_softmax_max, "cur_softmax_max", true),
               check_view(t.cur_softmax_sum, d.descs.cur_softmax_sum, "cur_softmax_sum", true),
               check_view(t.attn_out, plan.attn_out, "attn_out", true),
               check_view(t.softmax_max, plan.softmax_max, "softmax_max", true),
               check_view(t.softmax_sum, plan.softmax_sum, "softmax_sum", true),
               0,
               p.batch,
               p.heads};
  if (p.tnd) {
    if (!t.actual_seq_qlen) fail(Status::kParamNullptr, "actual_seq_qlen: required when input_layout is TND");
    args.off_seq = check_view(*t.actual_seq_qlen, *d.descs.actual_seq_qlen, "actual_seq_qlen", true);
  }
  // Each (row, head) item reads its inputs before it writes the same bytes, so an output may replace its prev_*
  // input exactly (in place; docs/ring_attention_update.md). Any other overlap is refused.
  const bool table = p.softmax == RauSoftmaxLayout::kBatchBlocks;
  if (table) check_workspace(workspace, plan.workspace_size);
  const std::optional<TensorView> ws = table ? workspace_view(workspace, plan.workspace_size) : std::nullopt;
  check_disjoint({{"prev_attn_out", &t.prev_attn_out, false},
                  {"prev_softmax_max", &t.prev_softmax_max, false},
                  {"prev_softmax_sum", &t.prev_softmax_sum, false},
                  {"cur_attn_out", &t.cur_attn_out, false},
                  {"cur_softmax_max", &t.cur_softmax_max, false},
                  {"cur_softmax_sum", &t.cur_softmax_sum, false},
                  {"actual_seq_qlen", t.actual_seq_qlen ? &*t.actual_seq_qlen : nullptr, false},
                  {"attn_out", &t.attn_out, true, "prev_attn_out"},
                  {"softmax_max", &t.softmax_max, true, "prev_softmax_max"},
                  {"softmax_sum", &t.softmax_sum, true, "prev_softmax_sum"},
                  {"workspace", ws ? &*ws : nullptr, true}});

  CommandChain chain(ctx, stream);
  if (p.tnd && ctx.config().strict) check_seq_on_host(p, *t.actual_seq_qlen, args.off_seq, chain);
  std::optional<SubBuffer> token_table;
  if (table) token_table.emplace(workspace, d.ledger.offset("token_table"), d.ledger.bytes("token_table"));
  const auto lock = d.lock_kernels();
  if (p.tnd) {
    // Layouts without a table still need a valid buffer argument; the kernel writes it only for the table layout.
    Kernel& check = d.kernel_at(1);
    check.set_all(t.actual_seq_qlen->buffer, token_table ? token_table->mem() : t.attn_out.buffer,
                  detail::ContextAccess::impl(ctx).errors.record(), args);
    const std::size_t items = static_cast<std::size_t>(std::max(p.rows, p.batch));
    chain.enqueue(check, (items + d.seq_local - 1) / d.seq_local * d.seq_local, d.seq_local);
  }
  Kernel& merge = d.kernel_at(0);
  // Layouts without a table still need a valid buffer argument; the kernel never reads it.
  merge.set_all(t.prev_attn_out.buffer, t.prev_softmax_max.buffer, t.prev_softmax_sum.buffer, t.cur_attn_out.buffer,
                t.cur_softmax_max.buffer, t.cur_softmax_sum.buffer, t.attn_out.buffer, t.softmax_max.buffer,
                t.softmax_sum.buffer, token_table ? token_table->mem() : t.softmax_sum.buffer, args);
  const std::size_t local = d.local_size;
  const std::size_t row_blocks = (static_cast<std::size_t>(p.rows) + d.rows_per_wi - 1) / d.rows_per_wi;
  const std::size_t head_blocks = (static_cast<std::size_t>(args.heads_per_row) + d.heads_per_wi - 1) / d.heads_per_wi;
  const std::size_t work_items = row_blocks * head_blocks;
  chain.enqueue(merge, (work_items + local - 1) / local * local, local, {"", plan.bytes, "GB/s"});
  return chain.done();
}

RingAttentionUpdateResult ring_attention_update(const Context& ctx, const TensorView& prev_attn_out,
                                                const TensorView& prev_softmax_max, const TensorView& prev_softmax_sum,
                                                const TensorView& cur_attn_out, const TensorView& cur_softmax_max,
                                                const TensorView& cur_softmax_sum,
                                                const std::optional<TensorView>& actual_seq_qlen,
                                                const RingAttentionUpdateAttrs& attrs) {
  const RingAttentionUpdatePlan plan =
      plan_ring_attention_update(ctx,
                                 {prev_attn_out.desc, prev_softmax_max.desc, prev_softmax_sum.desc, cur_attn_out.desc,
                                  cur_softmax_max.desc, cur_softmax_sum.desc, desc_of(actual_seq_qlen)},
                                 attrs);
  auto run = [&](RingAttentionUpdateResult& r, cl_mem workspace) {
    run_ring_attention_update(
        ctx, plan,
        {prev_attn_out, prev_softmax_max, prev_softmax_sum, cur_attn_out, cur_softmax_max, cur_softmax_sum,
         actual_seq_qlen, r.attn_out.view(), r.softmax_max.view(), r.softmax_sum.view()},
        workspace);
  };
  return allocate_and_run<RingAttentionUpdateResult>(ctx, plan, run, plan.attn_out, plan.softmax_max, plan.softmax_sum);
}

RingAttentionUpdatePlan plan_ring_attention_update(const Context& ctx, const RingAttentionUpdateDescs& descs,
                                                   const RingAttentionUpdateAttrs& attrs) {
  return plan_ring_attention_update(PlanTarget::on(ctx), descs, attrs);
}

}  // namespace cannon

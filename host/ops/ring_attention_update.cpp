// RingAttentionUpdate on the host: plan (validate, build the kernel variant, book the per-token softmax table)
// and run (check every view against the plan and its buffer, check actual_seq_qlen's values, enqueue one
// work-item per (row, head)), plus the allocating convenience call.
#include "cannon/ring_attention_update.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "cannon/config.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/ops/ring_attention_update_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/device_limits.hpp"
#include "host/runtime/kernel_sources.hpp"
#include "host/runtime/launch_check.hpp"
#include "host/runtime/sub_buffer.hpp"
#include "host/runtime/view_check.hpp"

namespace cannon {

namespace detail {
RingAttentionUpdatePlanData::~RingAttentionUpdatePlanData() {
  if (program) clReleaseProgram(program);
}
}  // namespace detail

namespace {

std::vector<int64_t> read_actual_seq_qlen(const Context& ctx, const RauProblem& p, const TensorDesc& planned,
                                          const std::optional<TensorView>& view) {
  if (!view) fail(Status::kParamNullptr, "actual_seq_qlen: required when input_layout is TND");
  const int64_t off = check_view(*view, planned, "actual_seq_qlen", true);
  std::vector<int64_t> values(static_cast<std::size_t>(planned.numel()));
  CANNON_CL(clEnqueueReadBuffer(ctx.cl_queue_handle(), view->buffer, CL_TRUE, static_cast<std::size_t>(off) * 8,
                                values.size() * 8, values.data(), 0, nullptr, nullptr));
  check_actual_seq_qlen(p, values);
  return values;
}

// Launch shape per device (CANNON_TUNE=RAU_LOCAL, RAU_ROWS, RAU_HEADS override it). On PoCL's CPU each work-item
// takes a tile of 8 rows × up to 128 head slots at local size 1: the attn pass then streams whole rows and the
// state pass reads 8-row runs of each slot's softmax lanes (measured on PoCL, docs/ring_attention_update.md). The
// tile's weights live in private memory (64 B per item), so tiles are capped at 1024 items. Every other device
// (GPUs, llvmpipe) takes 1×1 tiles in groups of 32 (docs/devices.md). A CANNON_TUNE value outside its range is an
// error, never clamped; a default (rows or heads per item) gives way to an explicit value of the other so the tile
// stays within the cap.
constexpr long kRauMaxTileItems = 1024;
constexpr long kRauMaxLocal = 1024;

void choose_launch(const DeviceInfo& device, const std::map<std::string, long>& tune,
                   detail::RingAttentionUpdatePlanData& d) {
  const bool cpu = use_cpu_kernels(device);
  auto given = [&](const char* name, long max) -> std::optional<long> {
    const auto it = tune.find(name);
    if (it == tune.end()) return std::nullopt;
    require(it->second >= 1 && it->second <= max, "CANNON_TUNE: {}={} (expected 1..{})", name, it->second, max);
    return it->second;
  };
  const std::optional<long> local = given("RAU_LOCAL", kRauMaxLocal);
  const std::optional<long> heads = given("RAU_HEADS", kRauMaxTileItems);
  const std::optional<long> rows = given("RAU_ROWS", kRauMaxTileItems);
  if (heads && rows) {
    require(*rows * *heads <= kRauMaxTileItems,
            "CANNON_TUNE: RAU_ROWS={} × RAU_HEADS={} = {} items per work-item (expected at most {}: the tile's "
            "weights live in private memory)",
            *rows, *heads, *rows * *heads, kRauMaxTileItems);
  }
  d.local_size = static_cast<std::size_t>(local.value_or(cpu ? 1 : 32));
  const RauProblem& p = d.problem;
  // Not clamped to the problem's slot count, so one program per (dtype, D, softmax layout) serves every B and N.
  const long heads_per_wi = heads.value_or(std::min<long>(cpu ? 128 : 1, kRauMaxTileItems / rows.value_or(1)));
  d.heads_per_wi = static_cast<std::size_t>(heads_per_wi);
  d.rows_per_wi = static_cast<std::size_t>(rows.value_or(std::min<long>(cpu ? 8 : 1, kRauMaxTileItems / heads_per_wi)));
  const int dt = p.dtype == DType::kFloat32 ? 0 : p.dtype == DType::kFloat16 ? 1 : 2;
  d.build_options =
      fmt::format("-cl-std=CL1.2 -DDTYPE={} -DHEAD_DIM={} -DSM_LAYOUT={} -DROWS_PER_WI={} -DHEADS_PER_WI={}", dt, p.dim,
                  static_cast<int>(p.softmax), d.rows_per_wi, d.heads_per_wi);
  // Loop steps per work-item (ring_attention_update.cl): both tile passes, 16 elements per attn step plus the tail.
  const uint64_t items = static_cast<uint64_t>(d.rows_per_wi) * d.heads_per_wi;
  const uint64_t per_row = static_cast<uint64_t>(p.dim / 16 + (p.dim % 16 ? 32 : 0));
  check_loop_budget(
      device, items * (2 + per_row), "ring_attention_update",
      fmt::format("a tile of RAU_ROWS = {} × RAU_HEADS = {} at D = {}", d.rows_per_wi, d.heads_per_wi, p.dim));
}

// Everything plan does on the host, checked against the device before anything sized by the problem is booked;
// with a context it also builds the kernel program.
RingAttentionUpdatePlan plan_impl(const DeviceInfo& device, const RingAttentionUpdateDescs& descs,
                                  const RingAttentionUpdateAttrs& attrs, const Context* ctx) {
  const Config& config = Config::global();
  auto data = std::make_shared<detail::RingAttentionUpdatePlanData>();
  data->problem = validate_ring_attention_update(descs, attrs, config.strict);
  data->descs = descs;
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
  check_buffers_fit(DeviceLimits::of(device), buffers);

  choose_launch(device, config.tune, *data);
  if (ctx) {
    data->program = ctx->impl().programs.get(ctx->cl_context_handle(), ctx->cl_device_handle(),
                                             kernels::source("ring_attention_update"), data->build_options);
    CANNON_CL(clRetainProgram(data->program));
    check_work_group(data->program, ctx->cl_device_handle(), "ring_attention_update", data->local_size);
  }

  data->ledger = WorkspaceLedger(device.base_addr_align);
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
  plan.data_ = std::move(data);
  return plan;
}

}  // namespace

RingAttentionUpdatePlan plan_ring_attention_update(const Context& ctx, const RingAttentionUpdateDescs& descs,
                                                   const RingAttentionUpdateAttrs& attrs) {
  return plan_impl(ctx.info(), descs, attrs, &ctx);
}

RingAttentionUpdatePlan plan_ring_attention_update_host(const DeviceInfo& device, const RingAttentionUpdateDescs& descs,
                                                        const RingAttentionUpdateAttrs& attrs) {
  return plan_impl(device, descs, attrs, nullptr);
}

void run_ring_attention_update(const Context& ctx, const RingAttentionUpdatePlan& plan,
                               const RingAttentionUpdateTensors& t, cl_mem workspace) {
  require(plan.data_ != nullptr, "plan: empty; call plan_ring_attention_update first");
  const auto& d = plan.data();
  const RauProblem& p = d.problem;
  const cl_long offsets[] = {check_view(t.prev_attn_out, d.descs.prev_attn_out, "prev_attn_out", true),
                             check_view(t.prev_softmax_max, d.descs.prev_softmax_max, "prev_softmax_max", true),
                             check_view(t.prev_softmax_sum, d.descs.prev_softmax_sum, "prev_softmax_sum", true),
                             check_view(t.cur_attn_out, d.descs.cur_attn_out, "cur_attn_out", true),
                             check_view(t.cur_softmax_max, d.descs.cur_softmax_max, "cur_softmax_max", true),
                             check_view(t.cur_softmax_sum, d.descs.cur_softmax_sum, "cur_softmax_sum", true),
                             check_view(t.attn_out, plan.attn_out, "attn_out", true),
                             check_view(t.softmax_max, plan.softmax_max, "softmax_max", true),
                             check_view(t.softmax_sum, plan.softmax_sum, "softmax_sum", true)};
  // Each (row, head) item reads its inputs before it writes the same bytes, so an output may replace its prev_*
  // input exactly (in place; docs/ring_attention_update.md). Any other overlap is refused.
  const std::optional<TensorView> ws =
      p.softmax == RauSoftmaxLayout::kBatchBlocks ? workspace_view(workspace, plan.workspace_size) : std::nullopt;
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
  std::vector<int64_t> cumulative;
  if (p.tnd) cumulative = read_actual_seq_qlen(ctx, p, *d.descs.actual_seq_qlen, t.actual_seq_qlen);

  cl_command_queue queue = ctx.cl_queue_handle();
  std::optional<SubBuffer> table;
  if (p.softmax == RauSoftmaxLayout::kBatchBlocks) {
    if (!workspace) fail(Status::kParamNullptr, "workspace: null, but the plan needs {} bytes", plan.workspace_size);
    require(mem_size(workspace) >= plan.workspace_size, "workspace: {} bytes, but the plan needs {}",
            mem_size(workspace), plan.workspace_size);
    const std::vector<int64_t> rows = batch_block_token_table(p, cumulative);
    table.emplace(workspace, d.ledger.offset("token_table"), d.ledger.bytes("token_table"));
    CANNON_CL(clEnqueueWriteBuffer(queue, table->mem(), CL_TRUE, 0, rows.size() * sizeof(int64_t), rows.data(), 0,
                                   nullptr, nullptr));
  }

  cl_int err = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(d.program, "ring_attention_update", &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateKernel", __FILE__, __LINE__);
  struct KernelGuard {
    cl_kernel k;
    ~KernelGuard() { clReleaseKernel(k); }
  } guard{kernel};
  cl_uint i = 0;
  // Layouts without a table still need a valid buffer argument; the kernel never reads it.
  for (cl_mem mem : {t.prev_attn_out.buffer, t.prev_softmax_max.buffer, t.prev_softmax_sum.buffer,
                     t.cur_attn_out.buffer, t.cur_softmax_max.buffer, t.cur_softmax_sum.buffer, t.attn_out.buffer,
                     t.softmax_max.buffer, t.softmax_sum.buffer, table ? table->mem() : t.softmax_sum.buffer}) {
    CANNON_CL(clSetKernelArg(kernel, i++, sizeof(cl_mem), &mem));
  }
  const cl_long heads_per_row = p.tnd ? p.heads : p.batch * p.heads;
  const cl_long rows = p.rows;
  for (cl_long v : {heads_per_row, rows}) CANNON_CL(clSetKernelArg(kernel, i++, sizeof v, &v));
  for (cl_long v : offsets) CANNON_CL(clSetKernelArg(kernel, i++, sizeof v, &v));

  const std::size_t local = d.local_size;
  const std::size_t row_blocks = (static_cast<std::size_t>(rows) + d.rows_per_wi - 1) / d.rows_per_wi;
  const std::size_t head_blocks = (static_cast<std::size_t>(heads_per_row) + d.heads_per_wi - 1) / d.heads_per_wi;
  const std::size_t work_items = row_blocks * head_blocks;
  const std::size_t global = (work_items + local - 1) / local * local;
  if (Config::global().verbose >= Verbosity::kDispatch) {
    fmt::print(stderr, "cannon: ring_attention_update {} global={} local={}\n", d.build_options, global, local);
  }
  if (global > 0) CANNON_CL(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, &local, 0, nullptr, nullptr));
}

RingAttentionUpdateResult ring_attention_update(const Context& ctx, const TensorView& prev_attn_out,
                                                const TensorView& prev_softmax_max, const TensorView& prev_softmax_sum,
                                                const TensorView& cur_attn_out, const TensorView& cur_softmax_max,
                                                const TensorView& cur_softmax_sum,
                                                const std::optional<TensorView>& actual_seq_qlen,
                                                const RingAttentionUpdateAttrs& attrs) {
  RingAttentionUpdateDescs descs{prev_attn_out.desc,
                                 prev_softmax_max.desc,
                                 prev_softmax_sum.desc,
                                 cur_attn_out.desc,
                                 cur_softmax_max.desc,
                                 cur_softmax_sum.desc,
                                 actual_seq_qlen ? std::optional<TensorDesc>(actual_seq_qlen->desc) : std::nullopt};
  RingAttentionUpdatePlan plan = plan_ring_attention_update(ctx, descs, attrs);
  RingAttentionUpdateResult result{allocate(ctx, plan.attn_out), allocate(ctx, plan.softmax_max),
                                   allocate(ctx, plan.softmax_sum)};
  DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  RingAttentionUpdateTensors t{prev_attn_out,
                               prev_softmax_max,
                               prev_softmax_sum,
                               cur_attn_out,
                               cur_softmax_max,
                               cur_softmax_sum,
                               actual_seq_qlen,
                               result.attn_out.view(),
                               result.softmax_max.view(),
                               result.softmax_sum.view()};
  run_ring_attention_update(ctx, plan, t, workspace.buffer());
  ctx.finish();
  return result;
}

}  // namespace cannon

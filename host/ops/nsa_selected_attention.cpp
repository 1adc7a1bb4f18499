// NsaSelectedAttention on the host: plan (validate, build the kernel variant, book the workspace) and run
// (check every view, check every selected block index against its batch, fill the tables, enqueue).
// The kernel is nsa_fwd_cpu on PoCL's CPU device (shaped for it) and nsa_fwd_generic everywhere else
// (kernels/nsa_selected_attention.cl, docs/devices.md); CANNON_TUNE=VARIANT=0/1 forces one.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "cannon/config.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/ops/nsa_selected_attention_problem.hpp"
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
NsaSelectedAttentionPlanData::~NsaSelectedAttentionPlanData() {
  if (program) clReleaseProgram(program);
}
}  // namespace detail

namespace {

int dtype_macro(DType dt) { return dt == DType::kFloat32 ? 0 : dt == DType::kFloat16 ? 1 : 2; }

// The generic kernel's work-group: 32 rows fit every device's CL_KERNEL_WORK_GROUP_SIZE seen so far.
constexpr std::size_t kGenericLocal = 32;

// nsa_fwd_generic's loop back-edges per work-item: three passes of COUNT·BS scores (16 head-dim elements per
// step plus the tail), the P·V steps of the last pass, and the row's load and store.
uint64_t nsa_generic_loop_steps(const NsaProblem& p) {
  const uint64_t score = static_cast<uint64_t>(p.dk / 16 + p.dk % 16 + 1);
  const uint64_t pv = static_cast<uint64_t>(p.dv / 16 + p.dv % 16);
  const uint64_t count = static_cast<uint64_t>(p.block_count), bs = static_cast<uint64_t>(p.block_size);
  return 3 + count * (3 + bs * (3 * score + pv)) + static_cast<uint64_t>(p.dk / 16 + 16 + 3 * (p.dv / 16 + 1));
}

bool use_generic(const DeviceInfo& device, const std::map<std::string, long>& tune) {
  const auto it = tune.find("VARIANT");
  if (it == tune.end()) return !use_cpu_kernels(device);
  require(it->second == 0 || it->second == 1, "CANNON_TUNE: VARIANT={} (expected 0 = cpu or 1 = generic)", it->second);
  if (it->second == 0 && device.loop_limit != 0) {
    fail(Status::kParamInvalid,
         "CANNON_TUNE: VARIANT=0 (nsa_fwd_cpu) cannot run on '{}': its loops take far more than the {} iterations "
         "per invocation after which this OpenCL implementation silently ends every loop (docs/devices.md)",
         device.name, device.loop_limit);
  }
  return it->second == 1;
}

// Every -D that changes the binary; QK_KEYS and PV_COLS may be overridden through CANNON_TUNE.
std::string build_options(const NsaProblem& p, const std::map<std::string, long>& tune) {
  auto tuned = [&](const char* name, long def) {
    auto it = tune.find(name);
    if (it == tune.end()) return def;
    require(it->second == 1 || it->second == 2 || it->second == 4 || it->second == 8 || it->second == 16,
            "CANNON_TUNE: {}={} must divide 16", name, it->second);
    return it->second;
  };
  return fmt::format("-DDTYPE={} -DDK={} -DDV={} -DBS={} -DCOUNT={} -DGROUP={} -DQK_KEYS={} -DPV_COLS={}",
                     dtype_macro(p.dtype), p.dk, p.dv, p.block_size, p.block_count, p.group(), tuned("QK_KEYS", 8),
                     tuned("PV_COLS", 8));
}

// Maps topk_indices for reading (zero-copy on a CPU device) and checks that every selected block lies inside
// its batch: 0 <= idx and idx·bs + bs <= S2_b. Ascend reads out of bounds here (undefined behaviour); cannon
// refuses before anything is enqueued.
void check_indices(const Context& ctx, const NsaProblem& p, const TensorView& topk) {
  const std::vector<int64_t> st = topk.effective_strides();
  const std::size_t span = static_cast<std::size_t>(
      ((p.t1 - 1) * st[0] + (p.n2 - 1) * st[1] + (p.block_count - 1) * st[2] + 1) * sizeof(int32_t));
  cl_int err = CL_SUCCESS;
  cl_command_queue queue = ctx.cl_queue_handle();
  void* ptr =
      clEnqueueMapBuffer(queue, topk.buffer, CL_TRUE, CL_MAP_READ, topk.offset, span, 0, nullptr, nullptr, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clEnqueueMapBuffer", __FILE__, __LINE__);
  const auto* idx = static_cast<const int32_t*>(ptr);
  std::string bad;
  for (int64_t b = 0; b < p.seqs.batches() && bad.empty(); ++b) {
    const int64_t blocks = p.seqs.kv_len[b] / p.block_size;
    for (int64_t t = p.seqs.q_start[b]; t < p.seqs.q_start[b] + p.seqs.q_len[b] && bad.empty(); ++t) {
      for (int64_t n = 0; n < p.n2 && bad.empty(); ++n) {
        for (int64_t c = 0; c < p.block_count; ++c) {
          const int32_t i = idx[t * st[0] + n * st[1] + c * st[2]];
          if (i < 0 || i >= blocks) {
            bad = fmt::format(
                "topk_indices: [{}][{}][{}] = {} selects keys outside batch {} ({} keys = {} blocks of "
                "{}); indices must be in [0, {})",
                t, n, c, i, b, p.seqs.kv_len[b], blocks, p.block_size, blocks);
            break;
          }
        }
      }
    }
  }
  CANNON_CL(clEnqueueUnmapMemObject(queue, topk.buffer, ptr, 0, nullptr, nullptr));
  if (!bad.empty()) fail(Status::kParamInvalid, "{}", bad);
}

// Everything plan does on the host, checked against the device before the workspace is booked; with a context it
// also builds the kernel program.
NsaSelectedAttentionPlan plan_impl(const DeviceInfo& device, const NsaSelectedAttentionDescs& descs,
                                   const NsaSelectedAttentionAttrs& attrs, const Context* ctx) {
  const Config& config = Config::global();
  auto data = std::make_shared<detail::NsaSelectedAttentionPlanData>();
  data->problem = validate_nsa_selected_attention(descs, attrs, config.strict);
  data->descs = descs;
  const NsaProblem& p = data->problem;
  data->build_options = build_options(p, config.tune);
  data->generic = use_generic(device, config.tune);
  if (data->generic) data->build_options += " -DGENERIC_ONLY";
  if (data->generic) {
    check_loop_budget(
        device, nsa_generic_loop_steps(p), "nsa_fwd_generic",
        fmt::format("select_block_count·select_block_size = {} at DK = {}, DV = {}", p.selected(), p.dk, p.dv));
  }

  // Entries all cost count·bs keys, so a few work-groups per compute unit balance; each owns a score slice of
  // count·bs × (G rounded up to 16 lanes) floats, as Ascend gives each core its own workspace.
  const int64_t entries = p.t1 * p.n2;
  constexpr int64_t kSlotsPerComputeUnit = 8;
  data->slots = static_cast<std::size_t>(
      std::max<int64_t>(1, std::min<int64_t>(entries, kSlotsPerComputeUnit * device.compute_units)));
  const int64_t lanes = (p.group() + 15) / 16 * 16;
  const TensorDesc out{p.dtype, {p.t1, p.n1, p.dv}}, stats{DType::kFloat32, {p.t1, p.n1, 8}};
  std::vector<DeviceBuffer> buffers{
      buffer_of("query", descs.query),
      buffer_of("key", descs.key),
      buffer_of("value", descs.value),
      buffer_of("topk_indices", descs.topk_indices),
      buffer_of("attention_out", out),
      buffer_of("softmax_max", stats),
      buffer_of("softmax_sum", stats),
      {"workspace batch_table", checked_bytes({p.seqs.batches(), kNsaBatchStride}, 8, "workspace batch_table")},
      {"workspace token_batch", checked_bytes({p.t1}, 4, "workspace token_batch")},
      {"workspace scores",
       checked_bytes({static_cast<int64_t>(data->slots), p.selected(), lanes}, sizeof(float), "workspace scores")}};
  if (descs.atten_mask) buffers.push_back(buffer_of("atten_mask", *descs.atten_mask));
  check_buffers_fit(DeviceLimits::of(device), buffers);
  if (ctx) {
    data->program = ctx->impl().programs.get(ctx->cl_context_handle(), ctx->cl_device_handle(),
                                             kernels::source("nsa_selected_attention"), data->build_options);
    CANNON_CL(clRetainProgram(data->program));
    check_work_group(data->program, ctx->cl_device_handle(), data->generic ? "nsa_fwd_generic" : "nsa_fwd_cpu",
                     data->generic ? kGenericLocal : 1);
  }
  data->ledger = WorkspaceLedger(device.base_addr_align);
  data->ledger.book("batch_table", static_cast<std::size_t>(p.seqs.batches()) * kNsaBatchStride * sizeof(int64_t));
  data->ledger.book("token_batch", static_cast<std::size_t>(p.t1) * sizeof(int32_t));
  data->ledger.book("scores", data->slots * static_cast<std::size_t>(p.selected() * lanes) * sizeof(float));

  NsaSelectedAttentionPlan plan;
  plan.attention_out = {p.dtype, {p.t1, p.n1, p.dv}};
  plan.softmax_max = {DType::kFloat32, {p.t1, p.n1, 8}};
  plan.softmax_sum = plan.softmax_max;
  plan.workspace_size = data->ledger.total();
  plan.flops = static_cast<double>(p.t1) * static_cast<double>(p.n1) * static_cast<double>(p.selected()) * 2.0 *
               static_cast<double>(p.dk + p.dv);
  plan.data_ = std::move(data);
  return plan;
}

}  // namespace

NsaSelectedAttentionPlan plan_nsa_selected_attention(const Context& ctx, const NsaSelectedAttentionDescs& descs,
                                                     const NsaSelectedAttentionAttrs& attrs) {
  return plan_impl(ctx.info(), descs, attrs, &ctx);
}

NsaSelectedAttentionPlan plan_nsa_selected_attention_host(const DeviceInfo& device,
                                                          const NsaSelectedAttentionDescs& descs,
                                                          const NsaSelectedAttentionAttrs& attrs) {
  return plan_impl(device, descs, attrs, nullptr);
}

void run_nsa_selected_attention(const Context& ctx, const NsaSelectedAttentionPlan& plan,
                                const NsaSelectedAttentionTensors& t, cl_mem workspace) {
  require(plan.data_ != nullptr, "plan: empty; call plan_nsa_selected_attention first");
  const auto& d = plan.data();
  const NsaProblem& p = d.problem;
  const int64_t q_off = check_view(t.query, d.descs.query, "query", false);
  const int64_t k_off = check_view(t.key, d.descs.key, "key", false);
  const int64_t v_off = check_view(t.value, d.descs.value, "value", false);
  const int64_t topk_off = check_view(t.topk_indices, d.descs.topk_indices, "topk_indices", false);
  const int64_t o_off = check_view(t.attention_out, plan.attention_out, "attention_out", true);
  const int64_t smax_off = check_view(t.softmax_max, plan.softmax_max, "softmax_max", true);
  const int64_t ssum_off = check_view(t.softmax_sum, plan.softmax_sum, "softmax_sum", true);
  if (d.descs.atten_mask) {
    require(t.atten_mask.has_value(), "atten_mask: planned with a mask but none given at run");
    check_view(*t.atten_mask, *d.descs.atten_mask, "atten_mask", false);  // presence only; never read
  } else {
    require(!t.atten_mask.has_value(), "atten_mask: given at run but not at plan");
  }
  if (!workspace) fail(Status::kParamNullptr, "workspace: null, but the plan needs {} bytes", plan.workspace_size);
  require(mem_size(workspace) >= plan.workspace_size, "workspace: {} bytes, but the plan needs {}", mem_size(workspace),
          plan.workspace_size);
  const std::optional<TensorView> ws = workspace_view(workspace, plan.workspace_size);
  check_disjoint({{"query", &t.query, false},
                  {"key", &t.key, false},
                  {"value", &t.value, false},
                  {"topk_indices", &t.topk_indices, false},
                  {"atten_mask", t.atten_mask ? &*t.atten_mask : nullptr, false},
                  {"attention_out", &t.attention_out, true},
                  {"softmax_max", &t.softmax_max, true},
                  {"softmax_sum", &t.softmax_sum, true},
                  {"workspace", ws ? &*ws : nullptr, true}});
  const AxisStrides q = axis_strides(Layout::kTND, t.query.desc.shape, t.query.strides, p.n1, "query");
  const AxisStrides k = axis_strides(Layout::kTND, t.key.desc.shape, t.key.strides, p.n2, "key");
  const AxisStrides v = axis_strides(Layout::kTND, t.value.desc.shape, t.value.strides, p.n2, "value");
  check_indices(ctx, p, t.topk_indices);

  std::vector<int64_t> table;
  std::vector<int32_t> token_batch(static_cast<std::size_t>(p.t1), 0);
  for (int64_t b = 0; b < p.seqs.batches(); ++b) {
    table.insert(table.end(), {p.seqs.q_start[b], p.seqs.kv_start[b], p.seqs.kv_len[b]});
    std::fill_n(token_batch.begin() + p.seqs.q_start[b], p.seqs.q_len[b], static_cast<int32_t>(b));
  }
  cl_command_queue queue = ctx.cl_queue_handle();
  SubBuffer batches(workspace, d.ledger.offset("batch_table"), d.ledger.bytes("batch_table"));
  SubBuffer tokens(workspace, d.ledger.offset("token_batch"), d.ledger.bytes("token_batch"));
  SubBuffer scores(workspace, d.ledger.offset("scores"), d.ledger.bytes("scores"));
  CANNON_CL(clEnqueueWriteBuffer(queue, batches.mem(), CL_TRUE, 0, table.size() * sizeof(int64_t), table.data(), 0,
                                 nullptr, nullptr));
  CANNON_CL(clEnqueueWriteBuffer(queue, tokens.mem(), CL_TRUE, 0, token_batch.size() * sizeof(int32_t),
                                 token_batch.data(), 0, nullptr, nullptr));

  cl_int err = CL_SUCCESS;
  const char* name = d.generic ? "nsa_fwd_generic" : "nsa_fwd_cpu";
  cl_kernel kernel = clCreateKernel(d.program, name, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateKernel", __FILE__, __LINE__);
  struct Release {
    cl_kernel k;
    ~Release() { clReleaseKernel(k); }
  } release{kernel};
  cl_uint i = 0;
  auto arg = [&](const auto& value) { CANNON_CL(clSetKernelArg(kernel, i++, sizeof(value), &value)); };
  for (cl_mem mem : {t.query.buffer, t.key.buffer, t.value.buffer, t.attention_out.buffer, t.softmax_max.buffer,
                     t.softmax_sum.buffer, batches.mem(), tokens.mem(), t.topk_indices.buffer, scores.mem()}) {
    arg(mem);
  }
  const std::vector<int64_t> ts = t.topk_indices.effective_strides();
  for (cl_long s : {q_off, q.seq, q.head, k_off, k.seq, k.head, v_off, v.seq, v.head, o_off, p.n1 * p.dv, p.dv,
                    smax_off, ssum_off, topk_off, ts[0], ts[1], ts[2]}) {
    arg(s);
  }
  arg(static_cast<cl_int>(p.n2));
  arg(static_cast<cl_long>(p.t1 * p.n2));
  arg(p.scale);
  arg(static_cast<cl_int>(p.causal ? 1 : 0));

  // The generic kernel takes one query row (t, n1) per work-item; the CPU kernel loops over entries per slot.
  const std::size_t rows = static_cast<std::size_t>(p.t1 * p.n1);
  const std::size_t local = d.generic ? kGenericLocal : 1;
  const std::size_t global = d.generic ? (rows + local - 1) / local * local : d.slots;
  const Verbosity verbose = Config::global().verbose;
  if (verbose >= Verbosity::kDispatch) {
    fmt::print(stderr, "cannon: {} {} global={} local={}\n", name, d.build_options, global, local);
  }
  const auto start = std::chrono::steady_clock::now();
  if (global > 0) CANNON_CL(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, &local, 0, nullptr, nullptr));
  if (verbose >= Verbosity::kProfile) {
    CANNON_CL(clFinish(queue));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "cannon: nsa_fwd {:.3f} ms, {:.2f} GFLOP/s\n", ms, plan.flops / ms * 1e-6);
  }
}

NsaSelectedAttentionResult nsa_selected_attention(const Context& ctx, const TensorView& query, const TensorView& key,
                                                  const TensorView& value, const TensorView& topk_indices,
                                                  const std::optional<TensorView>& atten_mask,
                                                  const NsaSelectedAttentionAttrs& attrs) {
  NsaSelectedAttentionDescs descs{query.desc, key.desc, value.desc, topk_indices.desc,
                                  atten_mask ? std::optional<TensorDesc>(atten_mask->desc) : std::nullopt};
  NsaSelectedAttentionPlan plan = plan_nsa_selected_attention(ctx, descs, attrs);
  NsaSelectedAttentionResult result{allocate(ctx, plan.attention_out), allocate(ctx, plan.softmax_max),
                                    allocate(ctx, plan.softmax_sum)};
  DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  NsaSelectedAttentionTensors t{query,
                                key,
                                value,
                                topk_indices,
                                atten_mask,
                                result.attention_out.view(),
                                result.softmax_max.view(),
                                result.softmax_sum.view()};
  run_nsa_selected_attention(ctx, plan, t, workspace.buffer());
  ctx.finish();
  return result;
}

}  // namespace cannon

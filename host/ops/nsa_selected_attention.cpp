// NsaSelectedAttention on the host: plan (validate, build the kernel variant, upload the batch tables, book the
// workspace) and run (check every view; enqueue the check of every selected block index against its batch, which
// writes the indices the attention kernel reads, then the attention kernel).
// The kernel is nsa_fwd_cpu on PoCL's CPU device (shaped for it) and nsa_fwd_generic everywhere else
// (kernels/nsa_selected_attention.cl, docs/devices.md); CANNON_TUNE=nsa.VARIANT=0/1 forces one.
#include <fmt/format.h>

#include <algorithm>

#include "host/ops/convenience.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/ops/nsa_selected_attention_problem.hpp"
#include "host/ops/plan_access.hpp"
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

// Heuristics (nsa_fwd_cpu on PoCL's CPU device, QK_KEYS = PV_COLS = 8), then the tuning database, then
// CANNON_TUNE's nsa.* values (host/tune, docs/tuning.md). The class: causal when the mask applies (sparse_mode 2),
// decode when no batch has more than 16 query tokens.
tune::Resolved resolve_tuning(const DeviceInfo& device, const NsaProblem& p, const Config& config) {
  const int64_t rows = p.seqs.q_len.empty() ? 0 : *std::max_element(p.seqs.q_len.begin(), p.seqs.q_len.end());
  const tune::ProblemClass cls = tune::make_class(p.dtype, std::max(p.dk, p.dv),
                                                  p.causal ? tune::MaskClass::kCausal : tune::MaskClass::kDense, rows);
  const tune::ConstraintInput limits{device.name, static_cast<int>(p.dk), static_cast<int>(p.dv), device.loop_limit, 0};
  // The register tiles default to the most keys (columns) whose accumulators fit the device's registers: 8 with
  // AVX-512's 32 at G <= 32, 4 with AVX2's 16 at G = 16. They are counted in row vectors of VW lanes, so a VW from
  // the database or CANNON_TUNE re-derives them.
  auto heuristics = [&](int vw) {
    const int row_vecs = static_cast<int>((p.group() + vw - 1) / vw);
    const long tile = fit_register_tile(cpu_vector_registers(device, vw), row_vecs, 8);
    return tune::Values{{"VARIANT", use_cpu_kernels(device) ? 0 : 1}, {"VW", vw}, {"QK_KEYS", tile}, {"PV_COLS", tile}};
  };
  const int vw = cpu_vector_width(device);
  tune::Resolved r = tune::resolve("nsa", device, cls, heuristics(vw), config, limits);
  if (r.values.at("VW") != vw)
    r = tune::resolve("nsa", device, cls, heuristics(static_cast<int>(r.values.at("VW"))), config, limits);
  return r;
}

// Every -D that changes the binary. The G heads of a group fill ceil(G / VW) row vectors.
BuildOptions build_options(const NsaProblem& p, const tune::Resolved& tuned, bool generic) {
  BuildOptions options;
  options.define("DTYPE", dtype_macro(p.dtype))
      .define("DK", p.dk)
      .define("DV", p.dv)
      .define("BS", p.block_size)
      .define("COUNT", p.block_count)
      .define("GROUP", p.group())
      .define("QK_KEYS", tuned.values.at("QK_KEYS"))
      .define("PV_COLS", tuned.values.at("PV_COLS"));
  // As for FlashAttentionScore's generic variant, VW would not change nsa_fwd_generic's binary.
  if (!generic) options.define("VW", tuned.values.at("VW"));
  if (generic) options.define("GENERIC_ONLY");
  return options;
}

// CANNON_STRICT: topk_indices mapped for reading (after the stream's events; zero-copy on a CPU device) and every
// selected block checked against its batch before anything is enqueued: 0 <= idx and idx·bs + bs <= S2_b.
void check_indices_on_host(const NsaProblem& p, const TensorView& topk, const CommandChain& chain) {
  const std::vector<int64_t> st = topk.effective_strides();
  const std::size_t span = static_cast<std::size_t>(
      ((p.t1 - 1) * st[0] + (p.n2 - 1) * st[1] + (p.block_count - 1) * st[2] + 1) * sizeof(int32_t));
  cl_int err = CL_SUCCESS;
  const std::vector<cl_event>& waits = chain.wait_for();
  void* ptr =
      clEnqueueMapBuffer(chain.queue(), topk.buffer, CL_TRUE, CL_MAP_READ, topk.offset, span,
                         static_cast<cl_uint>(waits.size()), waits.empty() ? nullptr : waits.data(), nullptr, &err);
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
  CANNON_CL(clEnqueueUnmapMemObject(chain.queue(), topk.buffer, ptr, 0, nullptr, nullptr));
  if (!bad.empty()) fail(Status::kParamInvalid, "{}", bad);
}

}  // namespace

NsaSelectedAttentionPlan plan_nsa_selected_attention(const Context& ctx, const NsaSelectedAttentionDescs& descs,
                                                     const NsaSelectedAttentionAttrs& attrs) {
  return plan_nsa_selected_attention(PlanTarget::on(ctx), descs, attrs);
}

Event run_nsa_selected_attention(const Context& ctx, const NsaSelectedAttentionPlan& plan,
                                 const NsaSelectedAttentionTensors& t, cl_mem workspace, const Stream& stream) {
  const auto& d = detail::PlanAccess::runnable(plan, "plan_nsa_selected_attention");
  const NsaProblem& p = d.problem;
  const int64_t offsets[] = {check_view(t.query, d.descs.query, "query", false),
                             check_view(t.key, d.descs.key, "key", false),
                             check_view(t.value, d.descs.value, "value", false),
                             check_view(t.topk_indices, d.descs.topk_indices, "topk_indices", false),
                             check_view(t.attention_out, plan.attention_out, "attention_out", true),
                             check_view(t.softmax_max, plan.softmax_max, "softmax_max", true),
                             check_view(t.softmax_sum, plan.softmax_sum, "softmax_sum", true)};
  if (d.descs.atten_mask) {
    require(t.atten_mask.has_value(), "atten_mask: planned with a mask but none given at run");
    check_view(*t.atten_mask, *d.descs.atten_mask, "atten_mask", false);  // presence only; never read
  } else {
    require(!t.atten_mask.has_value(), "atten_mask: given at run but not at plan");
  }
  check_workspace(workspace, plan.workspace_size);
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
  const std::vector<int64_t> ts = t.topk_indices.effective_strides();
  // In NsaArgs order: q, k, v, out (offset, token stride, head stride), stats, topk, then the scalars.
  const NsaArgs args{offsets[0],
                     q.seq,
                     q.head,
                     offsets[1],
                     k.seq,
                     k.head,
                     offsets[2],
                     v.seq,
                     v.head,
                     offsets[4],
                     p.n1 * p.dv,
                     p.dv,
                     offsets[5],
                     offsets[6],
                     offsets[3],
                     ts[0],
                     ts[1],
                     ts[2],
                     p.t1 * p.n2,
                     static_cast<cn_i32>(p.n2),
                     p.scale,
                     p.causal ? 1 : 0,
                     0};

  CommandChain chain(ctx, stream);
  if (ctx.config().strict) check_indices_on_host(p, t.topk_indices, chain);
  SubBuffer topk(workspace, d.ledger.offset("topk"), d.ledger.bytes("topk"));
  SubBuffer scores(workspace, d.ledger.offset("scores"), d.ledger.bytes("scores"));
  const auto lock = d.lock_kernels();
  Kernel& check = d.kernel_at(1);
  check.set_all(d.batch_mem, d.token_mem, t.topk_indices.buffer, topk.mem(),
                detail::ContextAccess::impl(ctx).errors.record(), args);
  const std::size_t entries = static_cast<std::size_t>(args.entries);
  chain.enqueue(check, (entries + d.check_local - 1) / d.check_local * d.check_local, d.check_local);
  // The attention kernel reads the checked copy: dense [T1, N2, select_block_count] in the workspace.
  NsaArgs checked = args;
  checked.topk_off = 0;
  checked.topk_seq = p.n2 * p.block_count;
  checked.topk_head = p.block_count;
  checked.topk_cnt = 1;
  Kernel& attention = d.kernel_at(0);
  attention.set_all(t.query.buffer, t.key.buffer, t.value.buffer, t.attention_out.buffer, t.softmax_max.buffer,
                    t.softmax_sum.buffer, d.batch_mem, d.token_mem, topk.mem(), scores.mem(), checked);
  // The generic kernel takes one query row (t, n1) per work-item; the CPU kernel loops over entries per slot.
  const std::size_t rows = static_cast<std::size_t>(p.t1 * p.n1);
  const std::size_t local = d.generic ? kGenericLocal : 1;
  const std::size_t global = d.generic ? (rows + local - 1) / local * local : d.slots;
  chain.enqueue(attention, global, local, {"", plan.flops, "GFLOP/s"});
  return chain.done();
}

// Validates, chooses the kernel, sizes everything against the device, then books the workspace; with a Context it
// also builds the program and uploads the batch tables. The order matters: nothing sized by the problem is
// allocated before the device limits are checked.
NsaSelectedAttentionPlan plan_nsa_selected_attention(const PlanTarget& target, const NsaSelectedAttentionDescs& descs,
                                                     const NsaSelectedAttentionAttrs& attrs) {
  auto data = detail::validated_plan_data<detail::NsaSelectedAttentionPlanData>(
      descs, [&] { return validate_nsa_selected_attention(descs, attrs, target.config.strict); });
  const NsaProblem& p = data->problem;
  const tune::Resolved tuned = resolve_tuning(target.device, p, target.config);
  data->generic = tuned.values.at("VARIANT") == 1;
  const BuildOptions options = build_options(p, tuned, data->generic);
  if (data->generic) {
    check_loop_budget(
        target.device, nsa_generic_loop_steps(p), "nsa_fwd_generic",
        fmt::format("select_block_count·select_block_size = {} at DK = {}, DV = {}", p.selected(), p.dk, p.dv));
  }

  // Entries all cost count·bs keys, so a few work-groups per compute unit balance; each owns a score slice of
  // count·bs × (G rounded up to whole VW-lane row vectors, the kernel's LANES) floats, as Ascend gives each core its
  // own workspace.
  const int64_t entries = p.t1 * p.n2;
  constexpr int64_t kSlotsPerComputeUnit = 8;
  data->slots = static_cast<std::size_t>(
      std::max<int64_t>(1, std::min<int64_t>(entries, kSlotsPerComputeUnit * target.device.compute_units)));
  const int64_t vw = data->generic ? 16 : tuned.values.at("VW");
  const int64_t lanes = (p.group() + vw - 1) / vw * vw;
  const TensorDesc out{p.dtype, {p.t1, p.n1, p.dv}}, stats{DType::kFloat32, {p.t1, p.n1, 8}};
  std::vector<DeviceBuffer> buffers{
      buffer_of("query", descs.query),
      buffer_of("key", descs.key),
      buffer_of("value", descs.value),
      buffer_of("topk_indices", descs.topk_indices),
      buffer_of("attention_out", out),
      buffer_of("softmax_max", stats),
      buffer_of("softmax_sum", stats),
      {"plan batch_table", checked_bytes({p.seqs.batches(), NB_STRIDE}, 8, "plan batch_table")},
      {"plan token_batch", checked_bytes({p.t1}, 4, "plan token_batch")},
      {"workspace topk", checked_bytes({p.t1, p.n2, p.block_count}, sizeof(int32_t), "workspace topk")},
      {"workspace scores",
       checked_bytes({static_cast<int64_t>(data->slots), p.selected(), lanes}, sizeof(float), "workspace scores")}};
  if (descs.atten_mask) buffers.push_back(buffer_of("atten_mask", *descs.atten_mask));
  check_buffers_fit(DeviceLimits::of(target.device), buffers);
  for (int64_t b = 0; b < p.seqs.batches(); ++b) {
    data->batch_table.insert(data->batch_table.end(), {p.seqs.q_start[b], p.seqs.kv_start[b], p.seqs.kv_len[b]});
  }
  static_assert(NB_STRIDE == 3 && NB_KV_LEN == 2, "the batch table row above");
  data->token_batch.assign(static_cast<std::size_t>(p.t1), 0);
  for (int64_t b = 0; b < p.seqs.batches(); ++b) {
    std::fill_n(data->token_batch.begin() + p.seqs.q_start[b], p.seqs.q_len[b], static_cast<int32_t>(b));
  }
  data->check_local = std::min<std::size_t>(32, std::max<std::size_t>(target.device.max_work_group_size, 1));
  data->ledger = WorkspaceLedger(target.device.base_addr_align);
  data->ledger.book("topk", static_cast<std::size_t>(p.t1 * p.n2 * p.block_count) * sizeof(int32_t));
  data->ledger.book("scores", data->slots * static_cast<std::size_t>(p.selected() * lanes) * sizeof(float));
  if (const Context* ctx = target.ctx) {
    data->build(*ctx, "nsa_selected_attention", options,
                {{data->generic ? "nsa_fwd_generic" : "nsa_fwd_cpu", data->generic ? kGenericLocal : 1},
                 {"nsa_topk_check", data->check_local}});
    data->batch_mem = data->add_table(*ctx, data->batch_table);
    data->token_mem = data->add_table(*ctx, data->token_batch);
  }

  NsaSelectedAttentionPlan plan;
  plan.attention_out = {p.dtype, {p.t1, p.n1, p.dv}};
  plan.softmax_max = {DType::kFloat32, {p.t1, p.n1, 8}};
  plan.softmax_sum = plan.softmax_max;
  plan.workspace_size = data->ledger.total();
  plan.flops = static_cast<double>(p.t1) * static_cast<double>(p.n1) * static_cast<double>(p.selected()) * 2.0 *
               static_cast<double>(p.dk + p.dv);
  detail::PlanAccess::attach(plan, std::move(data));
  return plan;
}

NsaSelectedAttentionResult nsa_selected_attention(const Context& ctx, const TensorView& query, const TensorView& key,
                                                  const TensorView& value, const TensorView& topk_indices,
                                                  const std::optional<TensorView>& atten_mask,
                                                  const NsaSelectedAttentionAttrs& attrs) {
  const NsaSelectedAttentionPlan plan = plan_nsa_selected_attention(
      ctx, {query.desc, key.desc, value.desc, topk_indices.desc, desc_of(atten_mask)}, attrs);
  auto run = [&](NsaSelectedAttentionResult& r, cl_mem workspace) {
    run_nsa_selected_attention(ctx, plan,
                               {query, key, value, topk_indices, atten_mask, r.attention_out.view(),
                                r.softmax_max.view(), r.softmax_sum.view()},
                               workspace);
  };
  return allocate_and_run<NsaSelectedAttentionResult>(ctx, plan, run, plan.attention_out, plan.softmax_max,
                                                      plan.softmax_sum);
}

}  // namespace cannon

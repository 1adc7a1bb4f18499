// FlashAttentionScore run(): checks every view against the plan (nothing is read or written outside a
// buffer), fills the batch table from the views' offsets and strides, and enqueues the kernel.
#include <algorithm>
#include <chrono>
#include <limits>

#include "cannon/config.hpp"
#include "cannon/flash_attention_score.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/sub_buffer.hpp"
#include "host/runtime/view_check.hpp"

namespace cannon {
namespace {

struct Launch {
  std::vector<int64_t> table;
  AxisStrides q, k, v, o;
  int64_t smax_off = 0, ssum_off = 0;
  MaskStrides mask;
  int64_t pse_off = 0, drop_off = 0;  // element offsets of the optional inputs' views
  int32_t flags = 0;                  // kernels/common/problem.clh FLAG_*
};

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

// Band-rule bounds go to the kernels as int: row and key indices are below 2^31, so clamping an
// "unbounded" pre/next to the int range keeps every comparison exact.
int64_t clamp_int(int64_t v) {
  return std::clamp<int64_t>(v, -std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::max());
}

Launch describe_launch(const FaProblem& p, const FlashAttentionScorePlan& plan, const FlashAttentionScoreTensors& t) {
  const auto& descs = plan.data().descs;
  Launch l;
  const int64_t q_off = check_view(t.query, descs.query, "query", false);
  const int64_t k_off = check_view(t.key, descs.key, "key", false);
  const int64_t v_off = check_view(t.value, descs.value, "value", false);
  const int64_t o_off = check_view(t.attention_out, plan.attention_out, "attention_out", true);
  l.smax_off = check_view(t.softmax_max, plan.softmax_max, "softmax_max", true);
  l.ssum_off = check_view(t.softmax_sum, plan.softmax_sum, "softmax_sum", true);
  l.q = axis_strides(p.layout, t.query.desc.shape, t.query.strides, p.n1, "query");
  l.k = axis_strides(p.layout, t.key.desc.shape, t.key.strides, p.n2, "key");
  l.v = axis_strides(p.layout, t.value.desc.shape, t.value.strides, p.n2, "value");
  l.o = axis_strides(p.layout, t.attention_out.desc.shape, {}, p.n1, "attention_out");
  int64_t mask_off = 0;
  if (descs.atten_mask) {
    require(t.atten_mask.has_value(), "atten_mask: planned with a mask but none given at run");
    mask_off = check_view(*t.atten_mask, *descs.atten_mask, "atten_mask", false);
    if (p.masks.reads_mask_tensor) l.mask = atten_mask_strides(*t.atten_mask);
  } else {
    require(!t.atten_mask.has_value(), "atten_mask: given at run but not at plan");
  }
  l.pse_off = check_optional(t.pse, descs.pse, "pse");
  l.drop_off = check_optional(t.drop_mask, descs.drop_mask, "drop_mask");
  l.flags = (p.masks.reads_mask_tensor ? 1 : 0) | (p.masks.invalid_line ? 2 : 0) |
            (p.dropout.mode == DropoutMode::kExplicit ? 4 : 0) | (p.dropout.mode == DropoutMode::kGenerator ? 8 : 0);
  for (int64_t b = 0; b < p.batch; ++b) {
    // Non-TND batches start at b·batch_stride; TND batches at their first token (batch stride is 0).
    auto base = [&](int64_t off, const AxisStrides& s, int64_t start) { return off + b * s.batch + start * s.seq; };
    const schedule::BandRule& rule = p.masks.rules[b];
    const PseBatch& pb = p.pse.batches[b];
    StatAddressing st =
        stat_addressing(p.layout, p.tnd_softmax_same_as_input, b, p.n1, p.seqs.q_len[b], p.seqs.q_start[b]);
    l.table.insert(l.table.end(),
                   {base(q_off, l.q, p.seqs.q_start[b]), base(k_off, l.k, p.seqs.kv_start[b]),
                    base(v_off, l.v, p.seqs.kv_start[b]), base(o_off, l.o, p.seqs.q_start[b]), p.seqs.q_len[b],
                    p.seqs.kv_len[b], st.base, st.head_stride, st.row_stride, clamp_int(rule.pre), clamp_int(rule.next),
                    clamp_int(rule.prefix), mask_off + b * l.mask.batch, l.pse_off + pb.base, pb.head, pb.row, pb.shift,
                    pb.slope + l.pse_off, p.dropout.batch_base[b] + l.drop_off * 8});
  }
  return l;
}

// A mask view mapped for reading on the host, from its first element to its last. On a CPU device the map
// is the buffer itself, so the prepass reads the mask without copying it.
class MappedMask {
 public:
  MappedMask(const Context& ctx, const TensorView& mask) : queue_(ctx.cl_queue_handle()), buffer_(mask.buffer) {
    const std::vector<int64_t> st = mask.effective_strides();
    int64_t span = 1;
    for (std::size_t i = 0; i < st.size(); ++i) span += (mask.desc.shape[i] - 1) * st[i];
    cl_int err = CL_SUCCESS;
    ptr_ = clEnqueueMapBuffer(queue_, buffer_, CL_TRUE, CL_MAP_READ, mask.offset, static_cast<std::size_t>(span), 0,
                              nullptr, nullptr, &err);
    if (err != CL_SUCCESS) throw_cl_error(err, "clEnqueueMapBuffer", __FILE__, __LINE__);
  }
  MappedMask(const MappedMask&) = delete;
  MappedMask& operator=(const MappedMask&) = delete;
  ~MappedMask() { clEnqueueUnmapMemObject(queue_, buffer_, ptr_, 0, nullptr, nullptr); }
  const uint8_t* data() const { return static_cast<const uint8_t*>(ptr_); }

 private:
  cl_command_queue queue_;
  cl_mem buffer_;
  void* ptr_ = nullptr;
};

struct KernelHandle {
  cl_kernel kernel = nullptr;
  KernelHandle(cl_program program, const char* name) {
    cl_int err = CL_SUCCESS;
    kernel = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS) throw_cl_error(err, "clCreateKernel", __FILE__, __LINE__);
  }
  KernelHandle(const KernelHandle&) = delete;
  KernelHandle& operator=(const KernelHandle&) = delete;
  ~KernelHandle() { clReleaseKernel(kernel); }
  template <typename T>
  void arg(cl_uint index, const T& value) {
    CANNON_CL(clSetKernelArg(kernel, index, sizeof(T), &value));
  }
};

}  // namespace

void run_flash_attention_score(const Context& ctx, const FlashAttentionScorePlan& plan,
                               const FlashAttentionScoreTensors& t, cl_mem workspace) {
  require(plan.data_ != nullptr, "plan: empty; call plan_flash_attention_score first");
  const auto& d = plan.data();
  const FaProblem& p = d.problem;
  Launch l = describe_launch(p, plan, t);
  if (plan.workspace_size > 0) {
    if (!workspace) fail(Status::kParamNullptr, "workspace: null, but the plan needs {} bytes", plan.workspace_size);
    require(mem_size(workspace) >= plan.workspace_size, "workspace: {} bytes, but the plan needs {}",
            mem_size(workspace), plan.workspace_size);
  }
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

  // Modes that read mask elements: refine the planned tiles with the mask's contents (the prepass).
  const std::vector<int32_t>* work_list = &d.work;
  const std::vector<int32_t>* tile_list = &d.tiles;
  RefinedWork refined;
  if (p.masks.reads_mask_tensor && d.kernel.mask_prepass) {
    const MappedMask mapped(ctx, *t.atten_mask);
    refined = refine_work_with_mask(p, d.kernel.block_m, d.kernel.block_n, d.work, d.tiles, mapped.data(), l.mask);
    work_list = &refined.work;
    tile_list = &refined.tiles;
  }

  cl_command_queue queue = ctx.cl_queue_handle();
  SubBuffer table(workspace, d.ledger.offset("batch_table"), d.ledger.bytes("batch_table"));
  SubBuffer work(workspace, d.ledger.offset("work_list"), d.ledger.bytes("work_list"));
  SubBuffer tiles(workspace, d.ledger.offset("tile_list"), d.ledger.bytes("tile_list"));
  CANNON_CL(clEnqueueWriteBuffer(queue, table.mem(), CL_TRUE, 0, l.table.size() * sizeof(int64_t), l.table.data(), 0,
                                 nullptr, nullptr));
  CANNON_CL(clEnqueueWriteBuffer(queue, work.mem(), CL_TRUE, 0, work_list->size() * sizeof(int32_t), work_list->data(),
                                 0, nullptr, nullptr));
  if (!tile_list->empty()) {
    CANNON_CL(clEnqueueWriteBuffer(queue, tiles.mem(), CL_TRUE, 0, tile_list->size() * sizeof(int32_t),
                                   tile_list->data(), 0, nullptr, nullptr));
  }
  // Modes that never read mask elements still need a valid buffer argument; the kernels never touch it.
  cl_mem mask = t.atten_mask ? t.atten_mask->buffer : tiles.mem();
  cl_mem pse = t.pse ? t.pse->buffer : tiles.mem();
  cl_mem drop_mask = t.drop_mask ? t.drop_mask->buffer : tiles.mem();

  KernelHandle kernel(d.program, d.kernel.kernel_name("fa_fwd"));
  cl_uint i = 0;
  for (cl_mem mem : {t.query.buffer, t.key.buffer, t.value.buffer, t.attention_out.buffer, t.softmax_max.buffer,
                     t.softmax_sum.buffer, table.mem(), work.mem(), tiles.mem(), mask, pse, pse, drop_mask}) {
    kernel.arg(i++, mem);
  }
  for (cl_long s : {l.q.seq, l.q.head, l.k.seq, l.k.head, l.v.seq, l.v.head, l.o.seq, l.o.head, l.smax_off, l.ssum_off,
                    l.mask.head, l.mask.row}) {
    kernel.arg(i++, s);
  }
  kernel.arg(i++, static_cast<cl_int>(p.group()));
  kernel.arg(i++, p.scale);
  kernel.arg(i++, static_cast<cl_int>(l.flags));
  kernel.arg(i++, static_cast<cl_int>(p.pse.mode));
  kernel.arg(i++, static_cast<cl_int>(p.pse.map));
  kernel.arg(i++, static_cast<cl_long>(p.pse.cols));
  kernel.arg(i++, p.dropout.keep_scale);
  kernel.arg(i++, static_cast<cl_uint>(p.dropout.key_lo));
  kernel.arg(i++, static_cast<cl_uint>(p.dropout.key_hi));
  kernel.arg(i++, static_cast<cl_ulong>(p.dropout.offset_groups));
  kernel.arg(i++, static_cast<cl_uint>(p.dropout.threshold));
  // An explicit mask's bits are counted from its buffer's start: its view offset shifts both ends.
  kernel.arg(i++, static_cast<cl_ulong>(p.dropout.numels + l.drop_off * 8));

  const std::size_t entries = d.work.size() / kWorkStride;
  const std::size_t local = d.kernel.local_size();
  const std::size_t global = entries * local;
  const Verbosity verbose = Config::global().verbose;
  if (verbose >= Verbosity::kDispatch) {
    fmt::print(stderr, "cannon: {} {} global={} local={} tiles={}", d.kernel.kernel_name("fa_fwd"),
               d.kernel.build_options(), global, local, tile_list->size());
    if (work_list == &refined.work)
      fmt::print(stderr, " (mask prepass: {} dropped, {} full)", refined.dropped, refined.full);
    fmt::print(stderr, "\n");
  }
  auto start = std::chrono::steady_clock::now();
  if (global > 0) {
    CANNON_CL(clEnqueueNDRangeKernel(queue, kernel.kernel, 1, nullptr, &global, &local, 0, nullptr, nullptr));
  }
  if (verbose >= Verbosity::kProfile) {
    CANNON_CL(clFinish(queue));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "cannon: fa_fwd {:.3f} ms, {:.2f} GFLOP/s\n", ms, plan.flops / ms * 1e-6);
  }
}

}  // namespace cannon

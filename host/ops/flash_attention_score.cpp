// FlashAttentionScore forward on the host: plan (validate, pick and build the kernel, list the work,
// book the workspace) and run (check the views, fill the batch table, set arguments, enqueue).
#include "cannon/flash_attention_score.hpp"

#include <chrono>

#include "cannon/config.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/kernel_sources.hpp"

namespace cannon {

namespace detail {
FlashAttentionScorePlanData::~FlashAttentionScorePlanData() {
  if (program) clReleaseProgram(program);
}
}  // namespace detail

namespace {

std::vector<int32_t> list_work(const FaProblem& p, int rows_per_entry) {
  std::vector<int32_t> work;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t n1 = 0; n1 < p.n1; ++n1) {
      for (int64_t row0 = 0; row0 < p.seqs.q_len[b]; row0 += rows_per_entry) {
        work.insert(work.end(), {static_cast<int32_t>(b), static_cast<int32_t>(n1), static_cast<int32_t>(row0), 0});
        static_assert(kWorkStride == 4, "one work entry is (batch, head, row0, pad)");
      }
    }
  }
  return work;
}

}  // namespace

FlashAttentionScorePlan plan_flash_attention_score(const Context& ctx, const FlashAttentionScoreDescs& descs,
                                                   const FlashAttentionScoreAttrs& attrs) {
  const Config& config = Config::global();
  auto data = std::make_shared<detail::FlashAttentionScorePlanData>();
  data->problem = validate_flash_attention_score(descs, attrs, config.strict);
  data->descs = descs;
  const FaProblem& p = data->problem;

  data->kernel =
      choose_kernel_config(ctx.info().kind, p.dtype, static_cast<int>(p.dk), static_cast<int>(p.dv), config.tune);
  data->program = ctx.impl().programs.get(ctx.cl_context_handle(), ctx.cl_device_handle(),
                                          kernels::source("flash_attention_score"), data->kernel.build_options());
  CANNON_CL(clRetainProgram(data->program));
  data->work = list_work(p, data->kernel.block_m);

  data->ledger = WorkspaceLedger(ctx.info().base_addr_align);
  data->ledger.book("batch_table", static_cast<std::size_t>(p.batch) * kBatchTableStride * sizeof(int64_t));
  data->ledger.book("work_list", data->work.size() * sizeof(int32_t));

  FlashAttentionScorePlan plan;
  const bool tnd = p.layout == Layout::kTND;
  plan.attention_out = {p.dtype, layout_shape(p.layout, {tnd ? 1 : p.batch, p.s1, p.n1, p.dv})};
  TensorDesc stats{DType::kFloat32,
                   tnd ? std::vector<int64_t>{p.s1, p.n1, 8} : std::vector<int64_t>{p.batch, p.n1, p.s1, 8}};
  plan.softmax_max = stats;
  plan.softmax_sum = stats;
  plan.softmax_out = {DType::kFloat32, {0}};
  plan.workspace_size = data->ledger.total();
  for (int64_t b = 0; b < p.batch; ++b) {
    plan.flops += 2.0 * static_cast<double>(p.dk + p.dv) * static_cast<double>(p.n1) *
                  static_cast<double>(p.seqs.q_len[b]) * static_cast<double>(p.seqs.kv_len[b]);
  }
  plan.data_ = std::move(data);
  return plan;
}

FlashAttentionScoreResult flash_attention_score(const Context& ctx, const TensorView& query, const TensorView& key,
                                                const TensorView& value, const FlashAttentionScoreAttrs& attrs) {
  FlashAttentionScoreDescs descs{query.desc, key.desc, value.desc, {}, {}, {}};
  FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, descs, attrs);
  FlashAttentionScoreResult result{allocate(ctx, plan.attention_out), allocate(ctx, plan.softmax_max),
                                   allocate(ctx, plan.softmax_sum), allocate(ctx, plan.softmax_out)};
  DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  FlashAttentionScoreTensors t{query,
                               key,
                               value,
                               {},
                               {},
                               {},
                               result.attention_out.view(),
                               result.softmax_max.view(),
                               result.softmax_sum.view(),
                               result.softmax_out.view()};
  run_flash_attention_score(ctx, plan, t, workspace.buffer());
  ctx.finish();
  return result;
}

}  // namespace cannon

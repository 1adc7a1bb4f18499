// The mask API: the built-in generator's dropout mask of a plan, drawn on the device by kernels/dropout_mask.cl
// and returned as an explicit drop_mask, so users and the backward pass can reuse exactly the bits the forward
// kernel used (feeding it back as drop_mask gives bitwise the same result).
#include <algorithm>

#include "cannon/flash_attention_score.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/ops/plan_access.hpp"
#include "host/runtime/build_options.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/kernel.hpp"
#include "host/runtime/kernel_sources.hpp"

namespace cannon {
namespace {

constexpr std::size_t kBytesPerItem = 16;  // DROP_BYTES in kernels/dropout_mask.cl
constexpr std::size_t kLocalSize = 64;

template <typename T>
DeviceTensor upload_table(const Context& ctx, const std::vector<T>& values, DType dtype) {
  DeviceTensor t = allocate(ctx, {dtype, {static_cast<int64_t>(values.size())}});
  upload(ctx, t.view(), values.data(), values.size() * sizeof(T));
  return t;
}

}  // namespace

DeviceTensor flash_attention_score_dropout_mask(const Context& ctx, const FlashAttentionScorePlan& plan) {
  require(detail::PlanAccess::has_data(plan), "plan: empty; call plan_flash_attention_score first");
  const FaProblem& p = detail::PlanAccess::data(plan).problem;
  require(p.dropout.mode == DropoutMode::kGenerator,
          "dropout mask: the plan draws no generated mask (it needs keep_prob < 1 and no drop_mask)");
  std::vector<uint64_t> elem_start, pad_start;
  std::vector<uint32_t> s2_len;
  uint64_t elem = 0, pad = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    const uint64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
    elem_start.push_back(elem);
    pad_start.push_back(pad);
    s2_len.push_back(static_cast<uint32_t>(s2));
    elem += p.n1 * s1 * s2;
    pad += p.n1 * s1 * ((s2 + 15) / 16 * 16);
  }
  elem_start.push_back(elem);
  const uint64_t num_bytes = (elem + 7) / 8;
  DeviceTensor out = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(num_bytes)}});
  if (num_bytes == 0) return out;
  DeviceTensor starts = upload_table(ctx, elem_start, DType::kInt64);
  DeviceTensor pads = upload_table(ctx, pad_start, DType::kInt64);
  DeviceTensor lens = upload_table(ctx, s2_len, DType::kInt32);

  auto& impl = detail::ContextAccess::impl(ctx);
  const std::string options = BuildOptions().str(impl.config);
  cl_program program = impl.programs.get(impl.context, impl.device, kernels::source("dropout_mask"), options,
                                         impl.config.verbose, impl.config.program_cache);
  Kernel kernel(program, "dropout_mask", impl.config.verbose, options);
  kernel.set_all(out.buffer(), starts.buffer(), pads.buffer(), lens.buffer(),
                 DropoutMaskArgs{num_bytes, p.dropout.offset_groups, static_cast<cn_u32>(p.batch), p.dropout.key_lo,
                                 p.dropout.key_hi, p.dropout.threshold});
  // Each work-item owns whole output bytes, so any local size gives the same mask.
  const std::size_t local = std::max<std::size_t>(1, std::min(kLocalSize, kernel.max_local_size(impl.device)));
  const std::size_t items = (num_bytes + kBytesPerItem - 1) / kBytesPerItem;
  kernel.enqueue(ctx.cl_queue_handle(), (items + local - 1) / local * local, local, {});
  ctx.finish();  // the tables are released on return
  return out;
}

}  // namespace cannon

// The mask API: the built-in generator's dropout mask of a plan, drawn on the device by kernels/dropout_mask.cl
// and returned as an explicit drop_mask, so users and the backward pass can reuse exactly the bits the forward
// kernel used (feeding it back as drop_mask gives bitwise the same result).
#include "cannon/flash_attention_score.hpp"
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/context_impl.hpp"
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
  require(plan.data_ != nullptr, "plan: empty; call plan_flash_attention_score first");
  const FaProblem& p = plan.data().problem;
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

  cl_program program = ctx.impl().programs.get(ctx.cl_context_handle(), ctx.cl_device_handle(),
                                               kernels::source("dropout_mask"), "-cl-std=CL1.2");
  cl_int err = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(program, "dropout_mask", &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateKernel", __FILE__, __LINE__);
  struct Release {
    cl_kernel k;
    ~Release() { clReleaseKernel(k); }
  } release{kernel};
  const cl_mem out_mem = out.buffer(), starts_mem = starts.buffer(), pads_mem = pads.buffer(), lens_mem = lens.buffer();
  const cl_ulong bytes_arg = num_bytes, groups_arg = p.dropout.offset_groups;
  const cl_uint batches = static_cast<cl_uint>(p.batch), key_lo = p.dropout.key_lo, key_hi = p.dropout.key_hi,
                threshold = p.dropout.threshold;
  CANNON_CL(clSetKernelArg(kernel, 0, sizeof(cl_mem), &out_mem));
  CANNON_CL(clSetKernelArg(kernel, 1, sizeof(cl_ulong), &bytes_arg));
  CANNON_CL(clSetKernelArg(kernel, 2, sizeof(cl_mem), &starts_mem));
  CANNON_CL(clSetKernelArg(kernel, 3, sizeof(cl_mem), &pads_mem));
  CANNON_CL(clSetKernelArg(kernel, 4, sizeof(cl_mem), &lens_mem));
  CANNON_CL(clSetKernelArg(kernel, 5, sizeof(cl_uint), &batches));
  CANNON_CL(clSetKernelArg(kernel, 6, sizeof(cl_uint), &key_lo));
  CANNON_CL(clSetKernelArg(kernel, 7, sizeof(cl_uint), &key_hi));
  CANNON_CL(clSetKernelArg(kernel, 8, sizeof(cl_ulong), &groups_arg));
  CANNON_CL(clSetKernelArg(kernel, 9, sizeof(cl_uint), &threshold));
  const std::size_t items = (num_bytes + kBytesPerItem - 1) / kBytesPerItem;
  const std::size_t global = (items + kLocalSize - 1) / kLocalSize * kLocalSize;
  CANNON_CL(
      clEnqueueNDRangeKernel(ctx.cl_queue_handle(), kernel, 1, nullptr, &global, &kLocalSize, 0, nullptr, nullptr));
  ctx.finish();  // the tables are released on return
  return out;
}

}  // namespace cannon

// Bounded planning and overflow-proof sizes: absurd but well-formed problems are refused by plan within
// milliseconds, naming the limit, before anything sized by them is allocated; sizes that overflow 64 bits are
// refused instead of wrapping. Most cases plan on the host only (host/ops/dry_plan.hpp) against a described
// device, so they also cover devices with more memory than this machine; a few go through the public entry points.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "host/ops/dry_plan.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

// A device with room for anything that fits 64 bits, so only overflow and index limits can refuse a problem.
DeviceInfo huge_device() {
  DeviceInfo d = test_context().info();
  d.max_alloc_size = UINT64_MAX / 2;
  d.global_mem_size = UINT64_MAX;
  return d;
}

FlashAttentionScoreAttrs fa_attrs(const char* layout, int64_t heads) {
  FlashAttentionScoreAttrs a;
  a.input_layout = layout;
  a.head_num = heads;
  a.scale = 0.125;
  return a;
}

FlashAttentionScoreDescs bsnd(DType dt, int64_t b, int64_t n, int64_t s1, int64_t s2, int64_t d) {
  return {TensorDesc{dt, {b, s1, n, d}}, TensorDesc{dt, {b, s2, n, d}}, TensorDesc{dt, {b, s2, n, d}}, {}, {}, {}};
}

// Runs `call`, expects kParamInvalid naming every needle, and that it took under a second.
template <typename Call>
void expect_fast_refusal(Call&& call, std::initializer_list<const char*> needles) {
  const auto start = std::chrono::steady_clock::now();
  expect_error(call, Status::kParamInvalid, needles);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 1000.0) << "refusal took " << ms << " ms";
}

// The probe's case: fa:b1000000000n1s=1d=16 took 33 s and 8 GB of host memory before std::bad_alloc.
TEST(FaPlanLimits, BillionBatchesAreRefusedAtOnce) {
  const Context& ctx = test_context();
  expect_fast_refusal(
      [&] { plan_flash_attention_score(ctx, bsnd(DType::kFloat32, 1000000000, 1, 1, 1, 16), fa_attrs("BSND", 1)); },
      {"query", "CL_DEVICE_MAX_MEM_ALLOC_SIZE"});
  // Small enough per tensor, but the per-batch table alone is larger than any buffer the device has.
  const int64_t batches = static_cast<int64_t>(ctx.info().max_alloc_size / 100);
  expect_fast_refusal(
      [&] { plan_flash_attention_score(ctx, bsnd(DType::kBFloat16, batches, 1, 1, 1, 1), fa_attrs("BSND", 1)); },
      {"batch_table", "CL_DEVICE_MAX_MEM_ALLOC_SIZE"});
}

TEST(FaPlanLimits, TensorsTogetherMustFitGlobalMemory) {
  DeviceInfo dev = test_context().info();
  dev.max_alloc_size = 1 << 20;
  dev.global_mem_size = 3 << 20;  // q, k, v and the output of 1 MiB each do not fit together
  const int64_t s = (1 << 20) / (64 * 4);
  expect_fast_refusal(
      [&] {
        plan_flash_attention_score(PlanTarget::host(dev), bsnd(DType::kFloat32, 1, 1, s, s, 64), fa_attrs("BSND", 1));
      },
      {"CL_DEVICE_GLOBAL_MEM_SIZE"});
  dev.global_mem_size = 8 << 20;
  EXPECT_NO_THROW(
      plan_flash_attention_score(PlanTarget::host(dev), bsnd(DType::kFloat32, 1, 1, s, s, 64), fa_attrs("BSND", 1)));
}

TEST(FaPlanLimits, ElementCountsThatOverflowAreRefused) {
  const DeviceInfo dev = huge_device();
  // 2^40 · 2^40 elements: the product wraps int64.
  expect_fast_refusal(
      [&] {
        plan_flash_attention_score(PlanTarget::host(dev),
                                   bsnd(DType::kFloat16, int64_t{1} << 40, 1, int64_t{1} << 40, 1, 1),
                                   fa_attrs("BSND", 1));
      },
      {"query", "overflows"});
  TensorDesc desc{DType::kFloat32, {int64_t{1} << 32, int64_t{1} << 32}};
  expect_error([&] { (void)desc.numel(); }, Status::kParamInvalid, {"overflows"});
  desc.shape = {int64_t{1} << 31, int64_t{1} << 31};  // 2^62 elements fit int64; their 2^64 bytes do not
  expect_error([&] { (void)desc.bytes(); }, Status::kParamInvalid, {"overflows"});
  expect_error([&] { allocate(test_context(), desc); }, Status::kParamInvalid, {"overflows"});
  desc.shape = {int64_t{1} << 20, int64_t{1} << 20};
  expect_error([&] { allocate(test_context(), desc); }, Status::kParamInvalid, {"CL_DEVICE_MAX_MEM_ALLOC_SIZE"});
}

TEST(FaPlanLimits, SequencesBeyondTheKernelsIndexRangeAreRefused) {
  const DeviceInfo dev = huge_device();
  expect_fast_refusal(
      [&] {
        plan_flash_attention_score(PlanTarget::host(dev), bsnd(DType::kFloat16, 1, 1, int64_t{1} << 30, 7, 1),
                                   fa_attrs("BSND", 1));
      },
      {"S1", "2^30"});
}

TEST(FaPlanLimits, DropoutCountersThatOverflowAreRefused) {
  // N1 · S1 · S2 = 2^8 · 2^29 · 2^29 = 2^66: the generator's element counter would wrap.
  const int64_t s = int64_t{1} << 29;
  FlashAttentionScoreAttrs a = fa_attrs("BSND", 256);
  a.keep_prob = 0.9;
  expect_fast_refusal(
      [&] { plan_flash_attention_score(PlanTarget::host(huge_device()), bsnd(DType::kFloat16, 1, 256, s, s, 1), a); },
      {"dropout", "overflows"});
  // The largest offset still plans: the counter ceil(offset / 16) + index / 16 stays below 2^60.
  a = fa_attrs("BSND", 1);
  a.keep_prob = 0.5;
  a.offset = INT64_MAX;
  EXPECT_NO_THROW(
      plan_flash_attention_score(PlanTarget::host(huge_device()), bsnd(DType::kFloat16, 1, 1, 64, 64, 16), a));
}

TEST(FaPlanLimits, AlibiStartIndicesThatOverflowAreRefused) {
  FlashAttentionScoreDescs d = bsnd(DType::kFloat16, 1, 2, 16, 16, 16);
  d.pse = TensorDesc{DType::kFloat32, {2}};
  FlashAttentionScoreAttrs a = fa_attrs("BSND", 2);
  a.pse_type = 2;
  a.q_start_idx = {INT64_MIN};
  a.kv_start_idx = {5};
  expect_fast_refusal([&] { plan_flash_attention_score(PlanTarget::host(huge_device()), d, a); },
                      {"kv_start_idx", "overflows"});
  a.q_start_idx = {0};
  a.kv_start_idx = {int64_t{1} << 31};
  expect_fast_refusal([&] { plan_flash_attention_score(PlanTarget::host(huge_device()), d, a); },
                      {"kv_start_idx", "2^30"});
  a.kv_start_idx = {1000};
  EXPECT_NO_THROW(plan_flash_attention_score(PlanTarget::host(huge_device()), d, a));
}

TEST(FaPlanLimits, ScaleMustBeAnFp32Number) {
  FlashAttentionScoreAttrs a = fa_attrs("BSND", 1);
  a.scale = 1e39;  // finite as a double, inf as the kernels' float
  expect_fast_refusal(
      [&] { plan_flash_attention_score(PlanTarget::host(huge_device()), bsnd(DType::kFloat32, 1, 1, 7, 7, 16), a); },
      {"scale", "fp32"});
}

TEST(NsaPlanLimits, ScaleMustBeAnFp32Number) {
  NsaSelectedAttentionAttrs n;
  n.scale_value = -1e39;
  n.head_num = 1;
  n.select_block_size = 64;
  n.select_block_count = 1;
  n.actual_seq_qlen = {7};
  n.actual_seq_kvlen = {64};
  const NsaSelectedAttentionDescs nd{TensorDesc{DType::kFloat16, {7, 1, 192}},
                                     TensorDesc{DType::kFloat16, {64, 1, 192}},
                                     TensorDesc{DType::kFloat16, {64, 1, 128}},
                                     TensorDesc{DType::kInt32, {7, 1, 1}},
                                     {}};
  expect_fast_refusal([&] { plan_nsa_selected_attention(PlanTarget::host(huge_device()), nd, n); },
                      {"scale_value", "fp32"});
}

TEST(RauPlanLimits, BoundedByTheDevice) {
  DeviceInfo dev = test_context().info();
  dev.max_alloc_size = 1 << 20;
  const TensorDesc attn{DType::kFloat32, {1 << 12, 1, 128}}, sm{DType::kFloat32, {1, 1, 1 << 12, 8}};
  RingAttentionUpdateAttrs ra;
  ra.input_layout = "SBH";
  expect_fast_refusal(
      [&] {
        plan_ring_attention_update(PlanTarget::host(dev), {attn, sm, sm, attn, sm, sm, {}}, ra);
      },
      {"prev_attn_out", "CL_DEVICE_MAX_MEM_ALLOC_SIZE"});
}

TEST(NsaPlanLimits, BoundedByTheDevice) {
  DeviceInfo dev = test_context().info();
  dev.max_alloc_size = 1 << 20;
  NsaSelectedAttentionAttrs n;
  n.scale_value = 0.1;
  n.head_num = 1;
  n.select_block_size = 64;
  n.select_block_count = 1;
  n.actual_seq_qlen = {1 << 12};
  n.actual_seq_kvlen = {64};
  const NsaSelectedAttentionDescs nd{TensorDesc{DType::kFloat16, {1 << 12, 1, 192}},
                                     TensorDesc{DType::kFloat16, {64, 1, 192}},
                                     TensorDesc{DType::kFloat16, {64, 1, 128}},
                                     TensorDesc{DType::kInt32, {1 << 12, 1, 1}},
                                     {}};
  expect_fast_refusal([&] { plan_nsa_selected_attention(PlanTarget::host(dev), nd, n); },
                      {"query", "CL_DEVICE_MAX_MEM_ALLOC_SIZE"});
}

// The host-only plan and the public plan agree on everything but the program.
TEST(FaPlanLimits, HostPlanMatchesThePublicPlan) {
  const tools::FaCase fa = make_case("fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=bf16:sparse=3");
  const FlashAttentionScorePlan host =
      plan_flash_attention_score(PlanTarget::host(test_context().info()), fa.descs(), fa.attrs);
  const FlashAttentionScorePlan full = plan_flash_attention_score(test_context(), fa.descs(), fa.attrs);
  EXPECT_EQ(host.workspace_size, full.workspace_size);
  EXPECT_EQ(host.attention_out, full.attention_out);
  EXPECT_EQ(detail::PlanAccess::data(host).work, detail::PlanAccess::data(full).work);
  EXPECT_FALSE(detail::PlanAccess::data(host).built());
}

TEST(TensorUpload, OutsideTheBufferIsRefused) {
  const Context& ctx = test_context();
  DeviceTensor t = allocate(ctx, {DType::kFloat32, {16}});
  std::vector<uint8_t> host(64, 0);
  TensorView v = t.view();
  v.offset = 32;  // 64 bytes from byte 32 run past the 64-byte buffer
  expect_error([&] { upload(ctx, v, host.data(), host.size()); }, Status::kParamInvalid, {"upload", "outside"});
  v.offset = ~std::size_t{0} - 15;
  expect_error([&] { upload(ctx, v, host.data(), host.size()); }, Status::kParamInvalid, {"upload"});
  expect_error([&] { download(ctx, v, host.data(), host.size()); }, Status::kParamInvalid, {"download"});
}

}  // namespace
}  // namespace cannon::optest

// Kernel config: defaults by device (platform and properties) and head dims, CANNON_TUNE overrides, and the
// rejections that keep a tuning choice from overflowing a PoCL thread stack or llvmpipe's loop limit.
#include <gtest/gtest.h>

#include <string>

#include "cannon/config.hpp"
#include "cannon/error.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/launch_check.hpp"

namespace cannon {
namespace {

// Devices as query_device_info() describes them (names and vendors as the drivers report them).
DeviceInfo device(const char* platform, const char* vendor, const char* name, DeviceKind kind) {
  DeviceInfo d;
  d.platform_name = platform;
  d.platform_vendor = vendor;
  d.name = name;
  d.kind = kind;
  d.max_work_group_size = 1024;
  classify_device(d);
  return d;
}
const DeviceInfo kPocl =
    device("Portable Computing Language", "The pocl project", "pthread-skylake-avx512-AMD EPYC", DeviceKind::kCpu);
const DeviceInfo kRusticl = device("rusticl", "Mesa/X.org", "llvmpipe (LLVM 15.0.6, 256 bits)", DeviceKind::kCpu);
const DeviceInfo kClover = device("Clover", "Mesa", "llvmpipe (LLVM 15.0.6, 256 bits)", DeviceKind::kCpu);
const DeviceInfo kOtherCpu = device("Intel(R) OpenCL", "Intel(R) Corporation", "Intel(R) Xeon(R)", DeviceKind::kCpu);
const DeviceInfo kGpu = device("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA H100", DeviceKind::kGpu);

TEST(FaKernelConfig, VariantComesFromThePlatformNotTheDeviceType) {
  EXPECT_TRUE(kPocl.pocl);
  EXPECT_EQ(kPocl.loop_limit, 0u);
  EXPECT_EQ(kRusticl.loop_limit, 65535u);
  EXPECT_EQ(kClover.loop_limit, 65535u);
  EXPECT_EQ(kGpu.loop_limit, 0u);
  EXPECT_EQ(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {}).variant, KernelVariant::kCpu);
  for (const DeviceInfo* d : {&kRusticl, &kClover, &kOtherCpu, &kGpu}) {
    const KernelConfig c = choose_kernel_config(*d, DType::kFloat32, 64, 64, {});
    EXPECT_EQ(c.variant, KernelVariant::kGeneric) << d->name;
    EXPECT_LE(c.local_size(), 32u) << d->name;  // rusticl reports CL_KERNEL_WORK_GROUP_SIZE 32
    EXPECT_TRUE(use_cpu_kernels(*d) == false) << d->name;
  }
  EXPECT_TRUE(use_cpu_kernels(kPocl));
  DeviceInfo pocl_gpu = kPocl;
  pocl_gpu.kind = DeviceKind::kGpu;  // PoCL's CUDA or Level Zero devices are not what the CPU variant is tuned for
  EXPECT_EQ(choose_kernel_config(pocl_gpu, DType::kFloat32, 64, 64, {}).variant, KernelVariant::kGeneric);
  DeviceInfo small = kGpu;
  small.max_work_group_size = 16;
  EXPECT_EQ(choose_kernel_config(small, DType::kFloat32, 64, 64, {}).local_size(), 16u);
}

// llvmpipe silently ends every loop after 65535 back-edges per invocation: the cpu variant is refused there, and
// the generic one is refused for rows longer than its budget instead of leaving outputs unwritten.
TEST(FaKernelConfig, LoopLimitedDevicesRefuseWhatCannotRun) {
  EXPECT_THROW(choose_kernel_config(kRusticl, DType::kFloat32, 64, 64, {{"fa.VARIANT", 0}}), Error);
  const KernelConfig c = choose_kernel_config(kRusticl, DType::kFloat32, 128, 128, {});
  EXPECT_NO_THROW(check_loop_budget(kRusticl, fa_generic_loop_steps(c, 2048, false), "fa_fwd_generic", "S2"));
  try {
    check_loop_budget(kRusticl, fa_generic_loop_steps(c, 1 << 20, false), "fa_fwd_generic", "S2 = 1048576");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kUnimplemented);
    EXPECT_NE(std::string(e.what()).find("65535"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_loop_budget(kPocl, fa_generic_loop_steps(c, 1 << 20, false), "fa_fwd_generic", "S2"));
  // The scalar loops the generic kernel used to have: S2 = 600 at D = 64 already exceeded the limit.
  const KernelConfig d64 = choose_kernel_config(kRusticl, DType::kFloat32, 64, 64, {});
  EXPECT_LT(fa_generic_loop_steps(d64, 600, false), 65535u / 10);
}

TEST(FaKernelConfig, EveryHeadDimHasAUsableCpuDefault) {
  for (int d = 1; d <= 768; ++d) {
    KernelConfig c = choose_kernel_config(kPocl, DType::kBFloat16, d, d, {});
    EXPECT_EQ(c.variant, KernelVariant::kCpu) << d;
    EXPECT_EQ(c.local_size(), 1u) << d;
    EXPECT_EQ(c.block_n % 8, 0) << d;
  }
  KernelConfig c = choose_kernel_config(kPocl, DType::kFloat32, 192, 128, {});
  const std::string options = c.build_options().str(Config{});
  EXPECT_NE(options.find("-DDK=192 -DDV=128"), std::string::npos) << options;
}

TEST(FaKernelConfig, GpuUsesTheGenericVariant) {
  KernelConfig c = choose_kernel_config(kGpu, DType::kFloat16, 64, 64, {});
  EXPECT_EQ(c.variant, KernelVariant::kGeneric);
  EXPECT_EQ(c.local_size(), static_cast<std::size_t>(c.block_m));
  EXPECT_EQ(c.kernel_name("fa_fwd"), "fa_fwd_generic");
  EXPECT_NE(c.build_options().str(Config{}).find("-DDTYPE=1 "), std::string::npos);
  EXPECT_NE(c.build_options().str(Config{}).find(" -DGENERIC_ONLY"), std::string::npos);
}

TEST(FaKernelConfig, TuneOverridesDefaults) {
  KernelConfig c = choose_kernel_config(kPocl, DType::kFloat32, 64, 64,
                                        {{"fa.BLOCK_M", 32}, {"fa.BLOCK_N", 16}, {"fa.QK_KEYS", 2}, {"fa.PV_COLS", 8}});
  EXPECT_EQ(c.block_m, 32);
  EXPECT_EQ(c.block_n, 16);
  EXPECT_EQ(c.qk_keys, 2);
  EXPECT_EQ(c.pv_cols, 8);
  EXPECT_EQ(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {{"fa.VARIANT", 1}}).variant, KernelVariant::kGeneric);
}

// The mask prepass runs on the device; where loops are cut short it is off unless asked for.
TEST(FaKernelConfig, MaskPrepassDefaultsByLoopLimit) {
  EXPECT_TRUE(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {}).mask_prepass);
  EXPECT_TRUE(choose_kernel_config(kGpu, DType::kFloat32, 64, 64, {}).mask_prepass);
  EXPECT_FALSE(choose_kernel_config(kRusticl, DType::kFloat32, 64, 64, {}).mask_prepass);
  EXPECT_TRUE(choose_kernel_config(kRusticl, DType::kFloat32, 64, 64, {{"fa.MASK_PREPASS", 1}}).mask_prepass);
  EXPECT_FALSE(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {{"fa.MASK_PREPASS", 0}}).mask_prepass);
  const KernelConfig c = choose_kernel_config(kRusticl, DType::kFloat32, 64, 64, {});
  EXPECT_LT(fa_prepass_loop_steps(c, 512), 65535u);
  EXPECT_GT(fa_prepass_loop_steps(c, 1 << 16), 65535u);
}

TEST(FaKernelConfig, TuneRejectsBadValues) {
  const std::map<std::string, long> bad[] = {
      {{"fa.VARIANT", 2}}, {{"fa.BLOCK_M", 0}}, {{"fa.BLOCK_N", 12}}, {{"fa.PV_COLS", 3}}, {{"fa.QK_KEYS", 0}},
  };
  for (const auto& tune : bad) {
    EXPECT_THROW(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, tune), Error) << tune.begin()->first;
  }
  // Tiles that would not fit a thread stack at D = 768.
  try {
    choose_kernel_config(kPocl, DType::kFloat32, 768, 768, {{"fa.BLOCK_M", 256}, {"fa.BLOCK_N", 256}});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid);
    EXPECT_NE(std::string(e.what()).find("CANNON_TUNE"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cannon

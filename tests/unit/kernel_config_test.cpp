// Kernel config: defaults by device kind and head dims, CANNON_TUNE overrides, and the rejections that keep
// a tuning choice from overflowing a PoCL thread stack.
#include <gtest/gtest.h>

#include <string>

#include "cannon/error.hpp"
#include "host/ops/kernel_config.hpp"

namespace cannon {
namespace {

TEST(KernelConfig, EveryHeadDimHasAUsableCpuDefault) {
  for (int d = 1; d <= 768; ++d) {
    KernelConfig c = choose_kernel_config(DeviceKind::kCpu, DType::kBFloat16, d, d, {});
    EXPECT_EQ(c.variant, KernelVariant::kCpu) << d;
    EXPECT_EQ(c.local_size(), 1u) << d;
    EXPECT_EQ(c.block_n % 8, 0) << d;
  }
  KernelConfig c = choose_kernel_config(DeviceKind::kCpu, DType::kFloat32, 192, 128, {});
  EXPECT_NE(c.build_options().find("-DDK=192 -DDV=128"), std::string::npos) << c.build_options();
}

TEST(KernelConfig, GpuUsesTheGenericVariant) {
  KernelConfig c = choose_kernel_config(DeviceKind::kGpu, DType::kFloat16, 64, 64, {});
  EXPECT_EQ(c.variant, KernelVariant::kGeneric);
  EXPECT_EQ(c.local_size(), static_cast<std::size_t>(c.block_m));
  EXPECT_STREQ(c.kernel_name("fa_fwd"), "fa_fwd_generic");
  EXPECT_NE(c.build_options().find("-DDTYPE=1"), std::string::npos);
}

TEST(KernelConfig, TuneOverridesDefaults) {
  KernelConfig c = choose_kernel_config(DeviceKind::kCpu, DType::kFloat32, 64, 64,
                                        {{"BLOCK_M", 32}, {"BLOCK_N", 16}, {"QK_KEYS", 2}, {"PV_COLS", 8}});
  EXPECT_EQ(c.block_m, 32);
  EXPECT_EQ(c.block_n, 16);
  EXPECT_EQ(c.qk_keys, 2);
  EXPECT_EQ(c.pv_cols, 8);
  EXPECT_EQ(choose_kernel_config(DeviceKind::kCpu, DType::kFloat32, 64, 64, {{"VARIANT", 1}}).variant,
            KernelVariant::kGeneric);
}

TEST(KernelConfig, TuneRejectsBadValues) {
  const std::map<std::string, long> bad[] = {
      {{"VARIANT", 2}}, {{"BLOCK_M", 0}}, {{"BLOCK_N", 12}}, {{"PV_COLS", 3}}, {{"QK_KEYS", 0}},
  };
  for (const auto& tune : bad) {
    EXPECT_THROW(choose_kernel_config(DeviceKind::kCpu, DType::kFloat32, 64, 64, tune), Error) << tune.begin()->first;
  }
  // Tiles that would not fit a thread stack at D = 768.
  try {
    choose_kernel_config(DeviceKind::kCpu, DType::kFloat32, 768, 768, {{"BLOCK_M", 256}, {"BLOCK_N", 256}});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid);
    EXPECT_NE(std::string(e.what()).find("CANNON_TUNE"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cannon

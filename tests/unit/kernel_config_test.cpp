// Kernel config: defaults by device (platform and properties) and head dims, CANNON_TUNE overrides, and the
// rejections that keep a tuning choice from overflowing a PoCL thread stack or llvmpipe's loop limit.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>

#include "cannon/config.hpp"
#include "cannon/error.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/launch_check.hpp"
#include "tests/unit/test_devices.hpp"

namespace cannon {
namespace {

// Devices as query_device_info() describes them (names and vendors as the drivers report them).
using test::device;
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

// The lane width comes from PoCL's target in the device name or version, else from the OpenCL vector widths; never
// a fixed 16.
TEST(FaKernelConfig, VectorWidthComesFromTheTarget) {
  auto pocl = [](const char* name, const char* version = "") {
    DeviceInfo d = device("Portable Computing Language", "The pocl project", name, DeviceKind::kCpu);
    d.version = version;
    d.native_float_width = 0;  // only the names may decide in these cases
    return d;
  };
  struct Case {
    DeviceInfo d;
    int width, registers;
  };
  const Case cases[] = {
      {pocl("pthread-skylake-avx512-AMD EPYC"), 16, 32},
      {pocl("pthread-icelake-server-Intel(R) Xeon(R)"), 16, 32},
      {pocl("cpu-znver4-AMD Ryzen 9 7950X"), 16, 32},
      {pocl("pthread-haswell-AMD EPYC"), 8, 16},
      {pocl("pthread-skylake-Intel(R) Core(TM) i7-6700"), 8, 16},
      {pocl("pthread-znver3-AMD EPYC 7763"), 8, 16},
      {pocl("pthread-sandybridge-Intel(R) Xeon(R)"), 8, 16},
      {pocl("pthread-nehalem-Intel(R) Core(TM) i7"), 4, 16},
      {pocl("cpu-neoverse-n1-ARM"), 4, 32},
      {pocl("pthread-cortex-a72-ARM"), 4, 32},
      // the version's HSTR names the target where the device name does not
      {pocl("pthread-AMD EPYC", "OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-haswell"), 8, 16},
      {pocl("pthread-AMD EPYC", "OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-skylake-avx512"), 16, 32},
  };
  for (const Case& c : cases) {
    const CpuVectorUnit unit = cpu_vector_unit(c.d);
    EXPECT_EQ(unit.width, c.width) << c.d.name << " " << c.d.version;
    EXPECT_EQ(unit.registers, c.registers) << c.d.name << " " << c.d.version;
    EXPECT_EQ(cpu_vector_width(c.d), c.width) << c.d.name;
    EXPECT_EQ(choose_kernel_config(c.d, DType::kFloat32, 64, 64, {}).vw, c.width) << c.d.name;
  }
  // POCL_KERNELLIB_NAME=avx2 on an AVX-512 host (Debian's PoCL 3.1): the name says haswell, the widths still 16.
  DeviceInfo emulated = pocl("pthread-haswell-AMD EPYC", "OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-haswell");
  emulated.native_float_width = emulated.preferred_float_width = 16;
  EXPECT_EQ(cpu_vector_width(emulated), 8);
  EXPECT_EQ(cpu_vector_width(pocl("pthread-athlon64-AMD EPYC")), 4);  // POCL_KERNELLIB_NAME=sse2
  // Unknown names: the device's vector widths, clamped to 4..16.
  for (const auto& [native, preferred, width] :
       {std::tuple{16u, 16u, 16}, {8u, 4u, 8}, {4u, 8u, 8}, {32u, 1u, 16}, {1u, 1u, 4}, {2u, 0u, 4}}) {
    DeviceInfo d = pocl("pthread-riscv64-SiFive");
    d.native_float_width = native;
    d.preferred_float_width = preferred;
    EXPECT_EQ(cpu_vector_width(d), width) << native << "/" << preferred;
    EXPECT_EQ(cpu_vector_unit(d).registers, width == 16 ? 32 : 16) << native << "/" << preferred;
  }
}

// The default tiles are counted in row vectors of VW lanes and fit the register file: today's AVX-512 shapes at
// VW = 16 (their bits must not change), the AVX2 hand-sweep shapes at VW = 8 on a 16-register target.
TEST(FaKernelConfig, DefaultTilesFitTheRegisterFile) {
  const KernelConfig avx512 = choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {});
  EXPECT_EQ(avx512.vw, 16);
  EXPECT_EQ(avx512.block_m, 96);
  EXPECT_EQ(avx512.block_n, 64);
  EXPECT_EQ(avx512.qk_keys, 6);
  EXPECT_EQ(avx512.pv_cols, 8);
  EXPECT_EQ(avx512.qk_row_vecs, 3);
  EXPECT_EQ(avx512.pv_row_vecs, 3);
  EXPECT_NE(avx512.build_options().str(Config{}).find("-DVW=16"), std::string::npos);
  EXPECT_NE(avx512.build_options().str(Config{}).find("-DQK_ROW_VECS=3"), std::string::npos);
  EXPECT_EQ(choose_kernel_config(kPocl, DType::kFloat32, 128, 128, {}).block_m, 96);

  DeviceInfo avx2 = kPocl;
  avx2.name = "pthread-haswell-AMD EPYC";
  const KernelConfig d64 = choose_kernel_config(avx2, DType::kFloat32, 64, 64, {});
  EXPECT_EQ(d64.vw, 8);
  EXPECT_EQ(d64.block_m, 96);  // 12 row vectors of 8 lanes, in register tiles of 3
  EXPECT_EQ(d64.block_n, 64);
  EXPECT_EQ(d64.qk_keys, 4);
  EXPECT_EQ(d64.pv_cols, 4);
  EXPECT_EQ(d64.qk_row_vecs, 3);
  EXPECT_NE(d64.build_options().str(Config{}).find("-DVW=8"), std::string::npos);
  const KernelConfig d128 = choose_kernel_config(avx2, DType::kFloat32, 128, 128, {});
  EXPECT_EQ(d128.block_m, 96);
  EXPECT_EQ(d128.block_n, 32);
  EXPECT_EQ(d128.qk_keys, 4);
  EXPECT_EQ(d128.pv_row_vecs, 3);

  // Every default on every target: accumulators plus operands and a broadcast within the registers, the row count
  // a whole number of row vectors, and the private tiles accepted.
  for (const char* name : {"pthread-skylake-avx512-X", "pthread-haswell-X", "pthread-nehalem-X", "cpu-neoverse-n1-X"}) {
    DeviceInfo d = kPocl;
    d.name = name;
    for (int vw : {0, 4, 8, 16}) {
      const std::map<std::string, long> tune =
          vw ? std::map<std::string, long>{{"fa.VW", vw}} : std::map<std::string, long>{};
      for (int dim : {16, 64, 96, 128, 192, 256, 512, 768}) {
        const KernelConfig c = choose_kernel_config(d, DType::kFloat16, dim, dim, tune);
        const int row_vecs = c.block_m / c.vw;
        EXPECT_EQ(c.block_m % c.vw, 0) << name << " VW " << c.vw << " D " << dim;
        if (vw == 0 || vw <= cpu_vector_width(d)) {
          const int registers = cpu_vector_unit(d).registers;
          const int qk = row_group(row_vecs, c.qk_row_vecs), pv = row_group(row_vecs, c.pv_row_vecs);
          EXPECT_LE(qk * c.qk_keys + qk + 1, registers) << name << " VW " << c.vw << " D " << dim;
          EXPECT_LE(pv * c.pv_cols + pv + 1, registers) << name << " VW " << c.vw << " D " << dim;
        }
      }
    }
  }
}

TEST(FaKernelConfig, TuneVectorWidth) {
  for (long vw : {4, 8, 16}) {
    const KernelConfig c = choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {{"fa.VW", vw}});
    EXPECT_EQ(c.vw, vw);
    EXPECT_EQ(c.block_m % vw, 0);
    EXPECT_NE(c.build_options().str(Config{}).find("-DVW=" + std::to_string(vw)), std::string::npos);
  }
  for (long bad : {0L, 2L, 12L, 32L, -8L}) {
    EXPECT_THROW(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, {{"fa.VW", bad}}), Error) << bad;
  }
  // The generic variant has no lane vectors, so VW stays out of its build options.
  EXPECT_EQ(choose_kernel_config(kGpu, DType::kFloat32, 64, 64, {}).build_options().str(Config{}).find("-DVW"),
            std::string::npos);
  EXPECT_NO_THROW(Config::parse([](const char* n) { return std::string(n) == "CANNON_TUNE" ? "fa.VW=8" : nullptr; }));
}

TEST(FaKernelConfig, RegisterTileFit) {
  EXPECT_EQ(fit_register_tile(32, 1, 8), 8);
  EXPECT_EQ(fit_register_tile(32, 4, 8), 4);  // 8·4 + 5 = 37 > 32
  EXPECT_EQ(fit_register_tile(16, 2, 8), 4);  // 4·2 + 3 = 11; 8·2 + 3 = 19 > 16
  EXPECT_EQ(fit_register_tile(16, 8, 8), 1);
  EXPECT_EQ(fit_register_tile(8, 16, 16), 1);  // always at least one
}

TEST(FaKernelConfig, RowGroupsDivideTheEntry) {
  EXPECT_EQ(row_group(6, 0), 6);  // 0: the whole entry
  EXPECT_EQ(row_group(6, 3), 3);
  EXPECT_EQ(row_group(6, 4), 3);  // the largest divisor not above 4
  EXPECT_EQ(row_group(12, 5), 4);
  EXPECT_EQ(row_group(7, 3), 1);
  EXPECT_EQ(row_group(1, 3), 1);  // decode's one-vector entry
  EXPECT_EQ(row_group(2, 32), 2);
  // A grouping reaches the kernel only when it splits the entry, so the default keeps one binary per shape.
  KernelConfig c = choose_kernel_config(kPocl, DType::kFloat32, 128, 128,
                                        {{"fa.BLOCK_M", 96}, {"fa.QK_ROW_VECS", 4}, {"fa.PV_ROW_VECS", 8}});
  ASSERT_EQ(c.vw, 16);
  const std::string options = c.build_options().str(Config{});
  EXPECT_NE(options.find("-DQK_ROW_VECS=3"), std::string::npos) << options;
  EXPECT_EQ(options.find("PV_ROW_VECS"), std::string::npos) << options;
}

}  // namespace
}  // namespace cannon

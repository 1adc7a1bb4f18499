// Kernel config defaults per device kind, CANNON_TUNE overrides and -D options.
#include "host/ops/kernel_config.hpp"

#include <fmt/format.h>

#include "host/runtime/check.hpp"

namespace cannon {

const char* KernelConfig::kernel_name(const char* base) const {
  static thread_local std::string name;
  name = std::string(base) + (variant == KernelVariant::kCpu ? "_cpu" : "_generic");
  return name.c_str();
}

std::size_t KernelConfig::local_size() const {
  return variant == KernelVariant::kCpu ? 1 : static_cast<std::size_t>(block_m);
}

std::string KernelConfig::build_options() const {
  int dt = dtype == DType::kFloat32 ? 0 : dtype == DType::kFloat16 ? 1 : 2;
  return fmt::format("-cl-std=CL1.2 -DDTYPE={} -DDK={} -DDV={} -DBLOCK_M={} -DBLOCK_N={}", dt, dk, dv, block_m,
                     block_n);
}

KernelConfig choose_kernel_config(DeviceKind kind, DType dtype, int dk, int dv,
                                  const std::map<std::string, long>& tune) {
  KernelConfig c;
  c.dtype = dtype;
  c.dk = dk;
  c.dv = dv;
  if (kind == DeviceKind::kCpu) {
    // Private tiles are (BLOCK_M·DK + DK·BLOCK_N + BLOCK_M·DV) floats per work-item; keep them near L1/L2
    // for large head dims.
    c.variant = KernelVariant::kCpu;
    c.block_m = dk > 256 ? 8 : 16;
    c.block_n = dk > 256 ? 16 : 32;
  } else {
    c.variant = KernelVariant::kGeneric;
    c.block_m = 64;
    c.block_n = 16;
  }
  for (const auto& [key, value] : tune) {
    if (key == "VARIANT") {
      require(value == 0 || value == 1, "CANNON_TUNE: VARIANT={} (expected 0 = cpu or 1 = generic)", value);
      c.variant = value == 0 ? KernelVariant::kCpu : KernelVariant::kGeneric;
    } else if (key == "BLOCK_M") {
      require(value >= 1 && value <= 256, "CANNON_TUNE: BLOCK_M={} (expected 1..256)", value);
      c.block_m = static_cast<int>(value);
    } else if (key == "BLOCK_N") {
      require(value >= 16 && value <= 256 && value % 16 == 0,
              "CANNON_TUNE: BLOCK_N={} (expected a multiple of 16 in 16..256)", value);
      c.block_n = static_cast<int>(value);
    } else {
      fail(Status::kParamInvalid, "CANNON_TUNE: unknown name '{}' (known: VARIANT, BLOCK_M, BLOCK_N)", key);
    }
  }
  return c;
}

}  // namespace cannon

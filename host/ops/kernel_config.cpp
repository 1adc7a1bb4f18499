// Kernel config defaults per device (platform and properties, never the device type alone): these heuristics are
// the fallback below the tuning database and CANNON_TUNE (host/tune); and the -D options.
#include "host/ops/kernel_config.hpp"

#include <algorithm>
#include <climits>

#include "host/runtime/check.hpp"
#include "host/tune/resolve.hpp"

namespace cannon {
namespace {

// CPU variant tiles by max(DK, DV). Private tiles take about 4·(BLOCK_M·(DK + DV) + BLOCK_N·max(DK, DV) +
// BLOCK_N·BLOCK_M) bytes of a PoCL thread stack; every row keeps that at or below ~125 KB (D = 128 and
// D = 768). The register tiles (BLOCK_M/16)·QK_KEYS and (BLOCK_M/16)·PV_COLS hold 16–24 of AVX-512's 32
// vector registers. Measured on the 2-core box (fp32, N = 8, S = 2048): 96-row entries beat 64-row ones
// by 5–8% at D = 64 and 128, and 32-row entries with BLOCK_N = 32 are the largest that fit at D = 256.
struct CpuTiles {
  int max_d, block_m, block_n, qk_keys, pv_cols;
};
constexpr CpuTiles kCpuTiles[] = {
    {64, 96, 64, 4, 4}, {128, 96, 32, 4, 4}, {256, 32, 32, 8, 8}, {INT_MAX, 16, 8, 8, 16}};

}  // namespace

std::string KernelConfig::kernel_name(const std::string& base) const {
  return base + (variant == KernelVariant::kCpu ? "_cpu" : "_generic");
}

std::size_t KernelConfig::local_size() const {
  return variant == KernelVariant::kCpu ? 1 : static_cast<std::size_t>(block_m);
}

BuildOptions KernelConfig::build_options() const {
  BuildOptions options;
  options.define("DTYPE", dtype == DType::kFloat32   ? 0
                          : dtype == DType::kFloat16 ? 1
                                                     : 2)
      .define("DK", dk)
      .define("DV", dv)
      .define("BLOCK_M", block_m)
      .define("BLOCK_N", block_n)
      .define("QK_KEYS", qk_keys)
      .define("PV_COLS", pv_cols);
  if (variant == KernelVariant::kGeneric) options.define("GENERIC_ONLY");
  return options;
}

bool use_cpu_kernels(const DeviceInfo& device) { return device.pocl && device.kind == DeviceKind::kCpu; }

// Generic variant: 32 rows per work-group fits every device's CL_KERNEL_WORK_GROUP_SIZE seen so far (rusticl reports
// 32 for every kernel); smaller when the device allows less.
int generic_block_m(const DeviceInfo& device) {
  int m = 32;
  while (m > 1 && static_cast<std::size_t>(m) > device.max_work_group_size) m /= 2;
  return m;
}

uint64_t fa_generic_loop_steps(const KernelConfig& c, int64_t max_keys, bool dropout) {
  // Head-dim loops step 16 elements; the tails (D % 16) and the 16-lane partial load run element by element.
  const uint64_t dk = static_cast<uint64_t>(c.dk / 16 + c.dk % 16);
  const uint64_t dv = static_cast<uint64_t>(c.dv / 16 + c.dv % 16);
  // Per key: the key loop, Q·K, P·V; generated dropout runs Philox's round loops (about 30 steps).
  const uint64_t per_key = 1 + dk + dv + (dropout ? 32 : 0);
  const uint64_t n = static_cast<uint64_t>(c.block_n);
  const uint64_t tiles = (static_cast<uint64_t>(std::max<int64_t>(max_keys, 0)) + n - 1) / n;
  // Loading Q, zeroing O, storing the row (or the invalid line's scalar loop).
  const uint64_t fixed = static_cast<uint64_t>(c.dk / 16 + 16) + 2 * dv + static_cast<uint64_t>(c.dv);
  return fixed + tiles * (1 + n * per_key);
}

uint64_t fa_prepass_loop_steps(const KernelConfig& c, int64_t max_keys) {
  // Mask rows are scanned 16 bytes per step plus up to 15 single bytes: each row's prefix and band (up to two
  // scans of the row), then each tile's columns of every row.
  const uint64_t keys = static_cast<uint64_t>(std::max<int64_t>(max_keys, 0));
  const uint64_t m = static_cast<uint64_t>(c.block_m), n = static_cast<uint64_t>(c.block_n);
  const uint64_t tiles = (keys + n - 1) / n;
  return m * 2 * (keys / 16 + 16) + tiles * (1 + m * (n / 16 + 16));
}

KernelConfig choose_kernel_config(const DeviceInfo& device, DType dtype, int dk, int dv, const Config& config,
                                  tune::MaskClass mask, int64_t query_rows) {
  const tune::ProblemClass cls = tune::make_class(dtype, std::max(dk, dv), mask, query_rows);
  KernelConfig c;
  c.dtype = dtype;
  c.dk = dk;
  c.dv = dv;
  c.mask_prepass = device.loop_limit == 0;
  if (use_cpu_kernels(device)) {
    c.variant = KernelVariant::kCpu;
    const int d = std::max(dk, dv);
    for (const CpuTiles& t : kCpuTiles) {
      if (d > t.max_d) continue;
      c.block_m = t.block_m;
      c.block_n = t.block_n;
      c.qk_keys = t.qk_keys;
      c.pv_cols = t.pv_cols;
      break;
    }
  } else {
    c.variant = KernelVariant::kGeneric;
    c.block_m = generic_block_m(device);
    c.block_n = 16;
  }
  // Heuristics (above), then the tuning database, then CANNON_TUNE (host/tune/resolve.hpp, docs/tuning.md).
  // VW and SPLIT_KV are declared but not yet taken by the kernels: only 16 and 0 pass their constraints.
  const tune::Values heuristics = {{"VARIANT", c.variant == KernelVariant::kCpu ? 0 : 1},
                                   {"VW", 16},
                                   {"BLOCK_M", c.block_m},
                                   {"BLOCK_N", c.block_n},
                                   {"QK_KEYS", c.qk_keys},
                                   {"PV_COLS", c.pv_cols},
                                   {"MASK_PREPASS", c.mask_prepass ? 1 : 0},
                                   {"SPLIT_KV", 0}};
  const tune::Resolved r = tune::resolve("fa", device, cls, heuristics, config,
                                         {device.name, dk, dv, device.loop_limit, device.max_work_group_size});
  c.variant = r.values.at("VARIANT") == 0 ? KernelVariant::kCpu : KernelVariant::kGeneric;
  c.block_m = static_cast<int>(r.values.at("BLOCK_M"));
  c.block_n = static_cast<int>(r.values.at("BLOCK_N"));
  c.qk_keys = static_cast<int>(r.values.at("QK_KEYS"));
  c.pv_cols = static_cast<int>(r.values.at("PV_COLS"));
  c.mask_prepass = r.values.at("MASK_PREPASS") == 1;
  return c;
}

KernelConfig choose_kernel_config(const DeviceInfo& device, DType dtype, int dk, int dv,
                                  const std::map<std::string, long>& tune) {
  Config config;
  config.tune = tune;
  config.tune_shipped_db = false;
  return choose_kernel_config(device, dtype, dk, dv, config, tune::MaskClass::kDense, INT64_MAX);
}

}  // namespace cannon

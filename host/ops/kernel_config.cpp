// Kernel config defaults per device (platform and properties, never the device type alone), CANNON_TUNE
// overrides and -D options.
#include "host/ops/kernel_config.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <initializer_list>

#include "host/runtime/check.hpp"
#include "host/tune/resolve.hpp"

namespace cannon {
namespace {

// CPU variant tiles by max(DK, DV), in row vectors of one register (BLOCK_M = row_vecs·VW at the target's own
// width), for a register file of 32 vector registers (AVX-512, AArch64) or 16 (AVX2, SSE). Private tiles take about
// 4·(BLOCK_M·(DK + DV) + BLOCK_N·max(DK, DV) + BLOCK_N·BLOCK_M) bytes of a PoCL thread stack (at most 152 KiB here,
// D = 128 with 96 × 64). A register tile covers a group of qk_rv (pv_rv) of the entry's row vectors (0: all of them;
// row_group): its accumulators, the group's operands and one broadcast fit the register file (fit_register_tile's
// rule), while the entry stays tall enough that each K/V row it reads serves 96 query rows. Measured (cannon-bench,
// B=1 N=8 S=4096 BSND, GFLOP/s, 2 cores, medians of 5; two shared VMs whose timings drift ±15%):
// - 32 registers (AVX-512): 96 rows, BLOCK_N 64, Q·Kᵀ 8 keys × 3 row vectors and P·V 8 columns × 3 (24
//   accumulators): D=128 fp32 166–215, bf16 164–195 on a Xeon (Emerald Rapids, 2026-12-03), 172/178 on a Zen 4 EPYC
//   (2026-12-02), against 152–168 for the earlier whole-entry 6 × 4 tiles. At D=64, 6 keys × 3 is as fast.
// - 16 registers (AVX2 code, POCL_KERNELLIB_NAME=avx2): 96 rows of 12 row vectors, BLOCK_N 32, 4 keys × 3 and 4
//   columns × 3 (12 accumulators, no spill): D=128 fp32 107–131, bf16 103–128 on the Xeon, 165/172 on the EPYC,
//   against 90–96 for the earlier 32-row 2 × 2 tiles (whose whole-entry tiles were sized not to spill). At D=64,
//   BLOCK_N 64 gains a little.
// At D >= 256 the 32-row entries (96 would exceed the private budget) keep whole-entry tiles.
struct CpuTiles {
  int max_d, row_vecs, block_n, qk_keys, pv_cols, qk_rv, pv_rv;
};
constexpr CpuTiles kCpuTiles32[] = {
    {64, 6, 64, 6, 8, 3, 3}, {128, 6, 64, 8, 8, 3, 3}, {256, 2, 32, 8, 8, 0, 0}, {INT_MAX, 1, 8, 8, 16, 0, 0}};
constexpr CpuTiles kCpuTiles16[] = {
    {64, 12, 64, 4, 4, 3, 3}, {128, 12, 32, 4, 4, 3, 3}, {256, 4, 32, 2, 2, 0, 0}, {INT_MAX, 2, 8, 4, 4, 0, 0}};

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
  // The generic variant has no lane vectors: leaving VW out keeps its binary (and PoCL's cache entry) one.
  if (variant == KernelVariant::kCpu) options.define("VW", vw);
  if (variant == KernelVariant::kCpu) {
    // A grouping that is the whole entry is the kernel's default: leaving it out keeps one binary per shape.
    const int row_vecs = (block_m + vw - 1) / vw;
    if (const int g = row_group(row_vecs, qk_row_vecs); g != row_vecs) options.define("QK_ROW_VECS", g);
    if (const int g = row_group(row_vecs, pv_row_vecs); g != row_vecs) options.define("PV_ROW_VECS", g);
  }
  if (variant == KernelVariant::kGeneric) options.define("GENERIC_ONLY");
  return options;
}

bool use_cpu_kernels(const DeviceInfo& device) { return device.pocl && device.kind == DeviceKind::kCpu; }

bool cpu_has_bf16_pairs(const DeviceInfo& device) {
#if defined(__x86_64__) && defined(__GNUC__)
  // PoCL's CPU device runs kernels on the host's cores, so the host's features are the device's; its code target
  // must also have 512-bit registers (not POCL_KERNELLIB_NAME=avx2's haswell).
  return use_cpu_kernels(device) && cpu_vector_unit(device).width == 16 && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// LLVM CPU names (as PoCL puts them in the device name, "pthread-<cpu>-<model>", and in CL_DEVICE_VERSION's
// "HSTR: pthread-<triple>-<cpu>") by vector unit; the first list with a name found in the text wins, so the
// AVX-512 names come before "skylake" and "x86-64-v3" before "x86-64".
struct IsaNames {
  CpuVectorUnit unit;
  std::initializer_list<const char*> names;
};
const IsaNames kIsaNames[] = {
    {{16, 32},
     {"avx512", "cascadelake", "cooperlake", "cannonlake", "icelake", "tigerlake", "rocketlake", "sapphirerapids",
      "emeraldrapids", "graniterapids", "znver4", "znver5", "x86-64-v4", "knl", "knm"}},
    {{8, 16}, {"x86-64-v3", "haswell",   "broadwell",   "skylake",   "alderlake",    "raptorlake",  "meteorlake",
               "arrowlake", "lunarlake", "pantherlake", "gracemont", "sierraforest", "grandridge",  "clearwaterforest",
               "znver",     "bdver",     "btver2",      "core-avx",  "corei7-avx",   "sandybridge", "ivybridge"}},
    {{4, 16},
     {"x86-64", "athlon64", "nehalem", "westmere", "core2", "penryn", "silvermont", "goldmont", "tremont", "btver1"}},
    {{4, 32}, {"aarch64", "arm64", "neoverse", "cortex-a", "apple-", "armv8", "armv9"}},
    {{4, 16}, {"armv7"}},
};

}  // namespace

CpuVectorUnit cpu_vector_unit(const DeviceInfo& device) {
  // PoCL names the LLVM CPU it generates code for; its vector widths describe the host CPU even when
  // POCL_KERNELLIB_NAME picks an older target (docs/devices.md), so the name comes first.
  const std::string text = lower(device.name + " " + device.version);
  for (const IsaNames& isa : kIsaNames) {
    for (const char* name : isa.names) {
      if (text.find(name) != std::string::npos) return isa.unit;
    }
  }
  const unsigned w = std::max(device.native_float_width, device.preferred_float_width);
  CpuVectorUnit unit;
  unit.width = w >= 16 ? 16 : w >= 8 ? 8 : 4;
  unit.registers = unit.width == 16 ? 32 : 16;  // 512-bit vectors come with AVX-512's 32 registers
  return unit;
}

int cpu_vector_width(const DeviceInfo& device) { return cpu_vector_unit(device).width; }

int cpu_vector_registers(const DeviceInfo& device, int vw) {
  const CpuVectorUnit unit = cpu_vector_unit(device);
  return vw > unit.width ? unit.registers * unit.width / vw : unit.registers;
}

int row_group(int row_vecs, int most) {
  if (most <= 0 || most >= row_vecs) return row_vecs;
  int g = most;
  while (row_vecs % g != 0) --g;
  return g;
}

int fit_register_tile(int registers, int row_vecs, int most) {
  int n = 1;
  while (n * 2 <= most && (n * 2) * row_vecs + row_vecs + 1 <= registers) n *= 2;
  return n;
}

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

namespace {

// The heuristic defaults for the device, head dims and lane width vw: the tile tables above for PoCL's CPU
// device, the generic shapes elsewhere.
// Decode entries (every batch's S1 <= 16) hold one 16-row block (one row vector at 16 lanes, two at 8) instead of
// the table's BLOCK_M (96 at D <= 128), which would compute 96 lanes for 1 valid row.
constexpr int64_t kDecodeRows = 16;

KernelConfig heuristic_config(const DeviceInfo& device, DType dtype, int dk, int dv, int vw, int64_t query_rows) {
  KernelConfig c;
  c.dtype = dtype;
  c.dk = dk;
  c.dv = dv;
  c.vw = vw;
  c.mask_prepass = device.loop_limit == 0;
  if (use_cpu_kernels(device)) {
    c.variant = KernelVariant::kCpu;
    c.kv_panels = 1;
    // The tables count registers of the target's width: a narrower VW keeps their rows, a wider one (VW = 16 on
    // AVX2 takes two registers per row vector) keeps their registers.
    const CpuVectorUnit unit = cpu_vector_unit(device);
    const int d = std::max(dk, dv);
    for (const CpuTiles& t : unit.registers >= 32 ? kCpuTiles32 : kCpuTiles16) {
      if (d > t.max_d) continue;
      c.block_m = (t.row_vecs * std::min(c.vw, unit.width) + c.vw - 1) / c.vw * c.vw;
      c.block_n = t.block_n;
      c.qk_keys = t.qk_keys;
      c.pv_cols = t.pv_cols;
      c.qk_row_vecs = t.qk_rv;
      c.pv_row_vecs = t.pv_rv;
      break;
    }
    if (query_rows <= kDecodeRows) c.block_m = std::min(c.block_m, static_cast<int>((kDecodeRows + vw - 1) / vw * vw));
  } else {
    c.variant = KernelVariant::kGeneric;
    c.block_m = generic_block_m(device);
    c.block_n = 16;
  }
  return c;
}

tune::Values heuristic_values(const KernelConfig& c) {
  return {{"VARIANT", c.variant == KernelVariant::kCpu ? 0 : 1},
          {"VW", c.vw},
          {"BLOCK_M", c.block_m},
          {"BLOCK_N", c.block_n},
          {"QK_KEYS", c.qk_keys},
          {"PV_COLS", c.pv_cols},
          {"QK_ROW_VECS", c.qk_row_vecs},
          {"PV_ROW_VECS", c.pv_row_vecs},
          {"MASK_PREPASS", c.mask_prepass ? 1 : 0},
          {"SPLIT_KV", c.split_kv},
          {"KV_PANELS", c.kv_panels}};
}

}  // namespace

KernelConfig choose_kernel_config(const DeviceInfo& device, DType dtype, int dk, int dv, const Config& config,
                                  tune::MaskClass mask, int64_t query_rows) {
  const tune::ProblemClass cls = tune::make_class(dtype, std::max(dk, dv), mask, query_rows);
  const tune::ConstraintInput limits{device.name, dk, dv, device.loop_limit, device.max_work_group_size};
  // Heuristics, then the tuning database, then CANNON_TUNE (host/tune/resolve.hpp, docs/tuning.md). The default
  // tiles are counted in row vectors of VW lanes, so a VW from the database or CANNON_TUNE re-derives them.
  KernelConfig c = heuristic_config(device, dtype, dk, dv, cpu_vector_width(device), query_rows);
  tune::Resolved r = tune::resolve("fa", device, cls, heuristic_values(c), config, limits);
  if (r.values.at("VW") != c.vw) {
    c = heuristic_config(device, dtype, dk, dv, static_cast<int>(r.values.at("VW")), query_rows);
    r = tune::resolve("fa", device, cls, heuristic_values(c), config, limits);
  }
  c.variant = r.values.at("VARIANT") == 0 ? KernelVariant::kCpu : KernelVariant::kGeneric;
  c.vw = static_cast<int>(r.values.at("VW"));
  c.block_m = static_cast<int>(r.values.at("BLOCK_M"));
  c.block_n = static_cast<int>(r.values.at("BLOCK_N"));
  c.qk_keys = static_cast<int>(r.values.at("QK_KEYS"));
  c.pv_cols = static_cast<int>(r.values.at("PV_COLS"));
  c.qk_row_vecs = static_cast<int>(r.values.at("QK_ROW_VECS"));
  c.pv_row_vecs = static_cast<int>(r.values.at("PV_ROW_VECS"));
  c.mask_prepass = r.values.at("MASK_PREPASS") == 1;
  c.split_kv = static_cast<int>(r.values.at("SPLIT_KV"));
  c.kv_panels = static_cast<int>(r.values.at("KV_PANELS"));
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

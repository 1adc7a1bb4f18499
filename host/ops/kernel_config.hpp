// The typed kernel config of an attention kernel and its translation to -D build options
// (CLBlast's parameter database, FlashAttention's static switches). Defaults come from the device's platform and
// properties (docs/devices.md), then the tuning database, then CANNON_TUNE (docs/tuning.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "cannon/context.hpp"
#include "cannon/dtype.hpp"
#include "host/runtime/build_options.hpp"
#include "host/tune/problem_class.hpp"

namespace cannon {

enum class KernelVariant { kCpu, kGeneric };

struct KernelConfig {
  KernelVariant variant = KernelVariant::kCpu;
  DType dtype = DType::kFloat32;
  int dk = 64, dv = 64;
  int block_m = 32;     // query rows per work entry
  int block_n = 64;     // keys per inner step (CPU variant); multiple of 8
  int vw = 16;          // CPU variant lanes per row vector (4, 8 or 16; kernels/common/vec.clh)
  int qk_keys = 8;      // CPU variant Q·Kᵀ register tile: keys × ceil(block_m / vw) row vectors
  int pv_cols = 8;      // CPU variant P·V register tile: output columns × ceil(block_m / vw) row vectors; divides 16
  int qk_row_vecs = 0;  // CPU variant Q·Kᵀ register tile rows: at most this many row vectors (row_group); 0: all
  int pv_row_vecs = 0;  // the same for the P·V register tile
  int split_kv = 0;     // decode: key splits per work entry (0 = the plan chooses; not a -D)
  bool mask_prepass = true;  // refine the tiles with a dense atten_mask's contents before each run (not a -D)
  int kv_panels = 0;  // CPU variant: copy kv heads' K/V into contiguous fp32 panels first: 0 never, 1 where it pays,
                      // 2 wherever blocks are reused (host/ops/flash_attention_score.cpp; not a -D)

  std::string kernel_name(const std::string& base) const;  // e.g. "fa_fwd_cpu"
  std::size_t local_size() const;                          // work-items per work-group
  BuildOptions build_options() const;                      // every -D that changes the binary
};

// The CPU-shaped kernels (FA's cpu variant, NSA's cpu kernel, RAU's big tiles) are tuned for PoCL's CPU device
// only; every other device (rusticl or clover on llvmpipe, any GPU, anything unknown) gets the generic shapes.
bool use_cpu_kernels(const DeviceInfo& device);
// The cpu kernels may use AVX512_BF16's vdpbf16ps (kernels/cube/bf16_pair_cpu.clh): PoCL's CPU device, which runs on
// this process's CPU, generating 16-lane code, on a CPU with avx512_bf16.
bool cpu_has_bf16_pairs(const DeviceInfo& device);

// The vector unit the CPU-shaped kernels are sized for: the lane count of one float register (the kernels' VW) and
// how many such registers the ISA has. From PoCL's LLVM target in the device name or version ("pthread-haswell-…",
// "HSTR: pthread-x86_64-pc-linux-gnu-haswell"), else CL_DEVICE_NATIVE/PREFERRED_VECTOR_WIDTH_FLOAT, clamped to 4..16.
struct CpuVectorUnit {
  int width = 4;       // floats per register: AVX-512 16, AVX/AVX2 8, SSE/NEON 4
  int registers = 16;  // architectural vector registers: 32 for AVX-512 and AArch64, else 16
};
CpuVectorUnit cpu_vector_unit(const DeviceInfo& device);
int cpu_vector_width(const DeviceInfo& device);  // cpu_vector_unit(device).width
// Row vectors of vw lanes the register file holds: a row vector wider than a register takes several.
int cpu_vector_registers(const DeviceInfo& device, int vw);

// The largest power of two up to `most` keys (or columns) whose register tile of `row_vecs` accumulators per key,
// plus the row_vecs operands and one broadcast, fits `registers` registers (at least 1).
int fit_register_tile(int registers, int row_vecs, int most);

// The row vectors one CPU register tile covers: the largest divisor of the entry's row_vecs not above most (0: all).
// The kernels require a divisor; any tuned value maps to one, so one setting serves every BLOCK_M and decode's
// one-vector entries.
int row_group(int row_vecs, int most);

// Picks heuristic defaults for the device and head dims, then the tuning database's entry for the device and the
// problem class (dtype, max(dk, dv), mask class, decode when query_rows <= 16), then the config's CANNON_TUNE
// values fa.VARIANT (0 = cpu, 1 = generic), fa.VW (4, 8 or 16), fa.BLOCK_M, fa.BLOCK_N, fa.QK_KEYS, fa.PV_COLS,
// fa.QK_ROW_VECS, fa.PV_ROW_VECS,
// fa.MASK_PREPASS (0/1; off by default on devices with a loop limit), fa.SPLIT_KV, fa.KV_PANELS (0 never, 1 where it
// pays: the cpu variant's default, 2 wherever a head's blocks are reused); host/tune/params.cpp declares them.
// Throws Error(kParamInvalid) naming CANNON_TUNE for an unusable value, and for the cpu variant on a device with a loop
// limit (its loops exceed it), and naming the file for a malformed database.
KernelConfig choose_kernel_config(const DeviceInfo& device, DType dtype, int dk, int dv, const Config& config,
                                  tune::MaskClass mask, int64_t query_rows);
// Heuristics and `tune` ({"fa.BLOCK_M", 16}, ...) only, no database: what the tests of the heuristics call.
KernelConfig choose_kernel_config(const DeviceInfo& device, DType dtype, int dk, int dv,
                                  const std::map<std::string, long>& tune);

// Rows per work-group of the generic variants: 32, or less where the device allows less.
int generic_block_m(const DeviceInfo& device);

// Loop back-edges one invocation of fa_fwd_generic takes at most for rows that see up to max_keys keys
// (every loop of the kernel, as Mesa's llvmpipe counts them).
uint64_t fa_generic_loop_steps(const KernelConfig& c, int64_t max_keys, bool dropout);
// The same for one invocation of the mask prepass (kernels/prepass/fa_mask_prepass.clh) on rows of up to max_keys.
uint64_t fa_prepass_loop_steps(const KernelConfig& c, int64_t max_keys);

}  // namespace cannon

// The tunable parameters of every kernel, declared once (CLBlast's parameter lists): name, allowed values, what
// cannon-tune searches, and the constraints a full assignment must meet (a PoCL thread stack's private-memory
// budget, PV_COLS dividing the vector width, llvmpipe's loop limit). The heuristics (host/ops), the database
// (database.hpp), CANNON_TUNE (resolve.hpp) and cannon-tune all check values against these declarations.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cannon::tune {

// Parameter name (upper case, the kernel's -D macro or launch value) to value.
using Values = std::map<std::string, long>;

struct ProblemClass;

// What a kernel's constraints depend on besides its own parameters.
struct ConstraintInput {
  std::string device_name;
  int dk = 0, dv = 0;                   // head dims (fa)
  std::size_t loop_limit = 0;           // DeviceInfo::loop_limit
  std::size_t max_work_group_size = 0;  // 0: not checked
  // fag: fa's lanes per row vector and rows per block (fag.BLOCK_M's default), and the register tiles' keys (a key
  // block pads to them)
  int vw = 0, block_m = 0, qk_keys = 1, oa_keys = 1;
  bool bf16_pairs = false;  // fag: the bf16 pair tiles may be compiled in (fag_cpu_private_bytes)
};

struct ParamDecl {
  const char* name;
  long min, max, step;        // values min + k·step within [min, max]
  std::vector<long> allowed;  // when non-empty, the only values (min/max/step ignored)
  std::vector<long> search;   // what cannon-tune tries; empty: the heuristic default only
  const char* doc;

  bool accepts(long value) const;
  std::string range_text() const;  // "1..256", "a multiple of 8 in 8..256", "1, 2, 4, 8 or 16"
};

struct KernelDecl {
  const char* name;  // "fa": the namespace in CANNON_TUNE and the database
  const char* op;    // the operator it belongs to
  std::vector<ParamDecl> params;
  // Empty when `v` (every declared parameter set) can run, else why not (naming the parameters as kernel.NAME).
  std::string (*constraint)(const Values& v, const ConstraintInput& in);
  // Whether cannon-tune should vary `param` given the other values and the class (a parameter the chosen variant
  // ignores is not searched).
  bool (*relevant)(const std::string& param, const Values& v, const ProblemClass& cls);
  // Null, or adjusts the values that CANNON_TUNE did not set (`overridden` says which it did) so that together with
  // the set ones they meet the constraint where they can (rau: a default tile dimension gives way to an explicit
  // value of the other).
  void (*fit)(Values& v, const std::vector<std::string>& overridden);

  const ParamDecl* find(std::string_view param) const;
};

const std::vector<KernelDecl>& kernels();
// The declaration of "fa", "fag", "nsa" or "rau"; null for anything else.
const KernelDecl* find_kernel(std::string_view name);
// Every namespaced name, "fa.VARIANT, fa.VW, ..., rau.RAU_LOCAL".
std::string known_names();

// FlashAttentionScore's cpu variant: private tiles per work-item in bytes, about 4·(BLOCK_M·(DK + DV) +
// BLOCK_N·max(DK, DV) + BLOCK_N·BLOCK_M) with BLOCK_M padded to whole VW-lane row vectors. They live on a PoCL
// thread stack; past kMaxCpuPrivateBytes it would overflow.
std::size_t fa_cpu_private_bytes(long block_m, long block_n, long vw, int dk, int dv);
constexpr std::size_t kMaxCpuPrivateBytes = std::size_t{160} * 1024;

// FlashAttentionScoreGrad's cpu main kernel (fag_main_cpu): private memory per work-item in bytes, the dK and dV
// accumulators of a key block (BLOCK_N keys padded to the outer tiles' oa_keys, DK and DV padded to 16) and two score
// tiles of BLOCK_N keys (padded to the larger of both tiles' keys) × BLOCK_M rows (padded to whole VW-lane row
// vectors); with bf16_pairs (fag.BF16_DOT) also the bf16 pair tiles of Pd and dS (cube/bf16_pair_cpu.clh).
std::size_t fag_cpu_private_bytes(long block_m, long block_n, long vw, int dk, int dv, int qk_keys, int oa_keys,
                                  bool bf16_pairs = false);

// RingAttentionUpdate: the tile's weights live in private memory (64 B per item), so tiles are capped.
constexpr long kRauMaxTileItems = 1024;

}  // namespace cannon::tune

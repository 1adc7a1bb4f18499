// The parameter declarations of fa, fag, nsa and rau (params.hpp). Ranges are what the kernels compile and run with;
// search lists are what cannon-tune tries (its candidates are their product, filtered by the constraints).
#include "host/tune/params.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "host/tune/problem_class.hpp"

namespace cannon::tune {

bool ParamDecl::accepts(long value) const {
  if (!allowed.empty()) return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  return value >= min && value <= max && (value - min) % step == 0;
}

std::string ParamDecl::range_text() const {
  if (!allowed.empty()) {
    std::string s;
    for (std::size_t i = 0; i < allowed.size(); ++i) {
      s += i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ";
      s += std::to_string(allowed[i]);
    }
    return s;
  }
  if (step > 1) return fmt::format("a multiple of {} in {}..{}", step, min, max);
  return fmt::format("{}..{}", min, max);
}

const ParamDecl* KernelDecl::find(std::string_view param) const {
  for (const ParamDecl& p : params) {
    if (param == p.name) return &p;
  }
  return nullptr;
}

std::size_t fa_cpu_private_bytes(long block_m, long block_n, long vw, int dk, int dv) {
  const std::size_t lanes = static_cast<std::size_t>(std::max<long>(vw, 1));
  const std::size_t m = (static_cast<std::size_t>(block_m) + lanes - 1) / lanes * lanes;
  const std::size_t n = static_cast<std::size_t>(block_n);
  const std::size_t d = static_cast<std::size_t>(std::max(dk, dv));
  return 4 * (m * static_cast<std::size_t>(dk + dv) + n * d + n * m);
}

std::size_t fag_cpu_private_bytes(long block_m, long block_n, long vw, int dk, int dv, int qk_keys, int oa_keys,
                                  bool bf16_pairs) {
  auto pad = [](std::size_t n, long m) {
    return (n + static_cast<std::size_t>(std::max<long>(m, 1)) - 1) / static_cast<std::size_t>(std::max<long>(m, 1)) *
           static_cast<std::size_t>(std::max<long>(m, 1));
  };
  const std::size_t lanes = pad(static_cast<std::size_t>(std::max<long>(block_m, 1)), vw);
  const std::size_t n = static_cast<std::size_t>(std::max<long>(block_n, 0));
  const std::size_t d =
      pad(static_cast<std::size_t>(std::max(dk, 0)), 16) + pad(static_cast<std::size_t>(std::max(dv, 0)), 16);
  const std::size_t keys = std::max(pad(n, qk_keys), pad(n, oa_keys));
  // bf16 pairs: Pd and dS as bf16 [keys][lanes], and dS's key pairs as uints [keys / 2][lanes].
  const std::size_t pairs = bf16_pairs ? 2 * 2 * keys * lanes + 4 * ((keys + 1) / 2) * lanes : 0;
  return 4 * (pad(n, oa_keys) * d + 2 * keys * lanes) + pairs;
}

namespace {

long at(const Values& v, const char* name) {
  auto it = v.find(name);
  return it == v.end() ? 0 : it->second;
}

std::string loop_limit_problem(const char* kernel, const ConstraintInput& in) {
  return fmt::format(
      "{}.VARIANT=0 (cpu) cannot run on '{}': its loops take far more than the {} iterations per invocation "
      "after which this OpenCL implementation silently ends every loop (docs/devices.md)",
      kernel, in.device_name, in.loop_limit);
}

// Until the kernels take a vector width (issue 10 part 1) and split-KV decode, only today's values build.
std::string fa_constraint(const Values& v, const ConstraintInput& in) {
  const bool cpu = at(v, "VARIANT") == 0;
  if (cpu && in.loop_limit != 0) return loop_limit_problem("fa", in);
  if (cpu) {
    const std::size_t bytes = fa_cpu_private_bytes(at(v, "BLOCK_M"), at(v, "BLOCK_N"), at(v, "VW"), in.dk, in.dv);
    if (bytes > kMaxCpuPrivateBytes) {
      return fmt::format(
          "fa.BLOCK_M={} fa.BLOCK_N={} need {} KiB of private memory per work-item at DK={} DV={} (limit {} KiB)",
          at(v, "BLOCK_M"), at(v, "BLOCK_N"), bytes / 1024, in.dk, in.dv, kMaxCpuPrivateBytes / 1024);
    }
  } else if (in.max_work_group_size != 0 && static_cast<std::size_t>(at(v, "BLOCK_M")) > in.max_work_group_size) {
    return fmt::format("fa.BLOCK_M={} is the generic variant's work-group size; '{}' allows at most {}",
                       at(v, "BLOCK_M"), in.device_name, in.max_work_group_size);
  }
  return {};
}

bool fa_relevant(const std::string& param, const Values& v, const ProblemClass& cls) {
  const bool cpu = at(v, "VARIANT") == 0;
  if (param == "QK_KEYS" || param == "PV_COLS" || param == "VW" || param == "QK_ROW_VECS" || param == "PV_ROW_VECS") {
    return cpu;
  }
  if (param == "SPLIT_KV") return cls.phase == Phase::kDecode;
  if (param == "MASK_PREPASS") return cls.mask != MaskClass::kDense;
  if (param == "KV_PANELS") return cpu && cls.phase != Phase::kDecode;
  return true;
}

// The backward's cpu kernels run the forward's register tiles and lanes (fa.VW, ConstraintInput's vw); the rows per
// block are fag.BLOCK_M's.
std::string fag_constraint(const Values& v, const ConstraintInput& in) {
  if (at(v, "VARIANT") != 0) return {};
  if (in.loop_limit != 0) return loop_limit_problem("fag", in);
  const long block_m = at(v, "BLOCK_M") > 0 ? at(v, "BLOCK_M") : in.block_m;
  const std::size_t bytes =
      fag_cpu_private_bytes(block_m, at(v, "BLOCK_N"), in.vw, in.dk, in.dv, in.qk_keys, in.oa_keys, in.bf16_pairs);
  if (bytes > kMaxCpuPrivateBytes) {
    return fmt::format(
        "fag.BLOCK_N={} needs {} KiB of private memory per work-item at DK={} DV={} and fag.BLOCK_M={} (limit {} KiB)",
        at(v, "BLOCK_N"), bytes / 1024, in.dk, in.dv, block_m, kMaxCpuPrivateBytes / 1024);
  }
  return {};
}

bool fag_relevant(const std::string& param, const Values& v, const ProblemClass&) {
  return param != "VARIANT" && at(v, "VARIANT") == 0;
}

std::string nsa_constraint(const Values& v, const ConstraintInput& in) {
  const bool cpu = at(v, "VARIANT") == 0;
  if (cpu && in.loop_limit != 0) return loop_limit_problem("nsa", in);
  return {};
}

bool nsa_relevant(const std::string& param, const Values& v, const ProblemClass&) {
  if (param == "QK_KEYS" || param == "PV_COLS" || param == "VW") return at(v, "VARIANT") == 0;
  return true;
}

std::string rau_constraint(const Values& v, const ConstraintInput&) {
  const long rows = at(v, "RAU_ROWS"), heads = at(v, "RAU_HEADS");
  if (rows * heads > kRauMaxTileItems) {
    return fmt::format(
        "rau.RAU_ROWS={} × rau.RAU_HEADS={} = {} items per work-item (expected at most {}: the tile's weights live "
        "in private memory)",
        rows, heads, rows * heads, kRauMaxTileItems);
  }
  return {};
}

bool rau_relevant(const std::string&, const Values&, const ProblemClass&) { return true; }

void rau_fit(Values& v, const std::vector<std::string>& overridden) {
  auto given = [&](const char* name) {
    return std::find(overridden.begin(), overridden.end(), name) != overridden.end();
  };
  long& rows = v["RAU_ROWS"];
  long& heads = v["RAU_HEADS"];
  if (rows * heads <= kRauMaxTileItems) return;
  if (!given("RAU_HEADS")) {
    heads = std::max<long>(1, kRauMaxTileItems / rows);
  } else if (!given("RAU_ROWS")) {
    rows = std::max<long>(1, kRauMaxTileItems / heads);
  }
}

const std::vector<long> kVectorWidths = {4, 8, 16};
const std::vector<long> kDivisorsOf16 = {1, 2, 4, 8, 16};

}  // namespace

const std::vector<KernelDecl>& kernels() {
  static const std::vector<KernelDecl> list = {
      {"fa",
       "FlashAttentionScore",
       {
           {"VARIANT", 0, 1, 1, {}, {}, "0: cpu (PoCL CPU-shaped register tiles), 1: generic (any OpenCL 1.2 device)"},
           {"VW", 4, 16, 1, kVectorWidths, {}, "cpu lanes per row vector (the device's; not searched)"},
           {"BLOCK_M", 1, 256, 1, {}, {16, 32, 48, 64, 96, 128}, "query rows per work entry"},
           {"BLOCK_N", 8, 256, 8, {}, {16, 32, 64, 128}, "keys per inner step"},
           {"QK_KEYS", 1, 32, 1, {}, {2, 4, 6, 8}, "cpu Q·Kᵀ register tile: keys × (BLOCK_M / VW) row vectors"},
           {"PV_COLS", 1, 16, 1, kDivisorsOf16, {2, 4, 8}, "cpu P·V register tile: output columns; divides 16"},
           {"QK_ROW_VECS",
            0,
            32,
            1,
            {},
            {0, 2, 3},
            "cpu Q·Kᵀ register tile rows: at most this many row vectors, a divisor of the entry's (0: all)"},
           {"PV_ROW_VECS",
            0,
            32,
            1,
            {},
            {0, 2, 3},
            "cpu P·V register tile rows: at most this many row vectors, a divisor of the entry's (0: all)"},
           {"MASK_PREPASS", 0, 1, 1, {}, {}, "1: refine the tiles with a dense atten_mask's contents first"},
           {"SPLIT_KV", 0, 65536, 1, {}, {0, 1, 4, 16}, "decode: key splits merged by max/sum (0: automatic, 1: none)"},
           {"KV_PANELS", 0, 2, 1, {}, {}, "cpu prefill: per-head fp32 K/V panels (0 no, 1 large strided heads, 2 all)"},
       },
       fa_constraint,
       fa_relevant,
       nullptr},
      {"fag",
       "FlashAttentionScoreGrad",
       {
           {"VARIANT", 0, 1, 1, {}, {}, "0: cpu (key/value-outer register tiles), 1: generic (default: fa's choice)"},
           {"BLOCK_M",
            1,
            256,
            1,
            {},
            {32, 48, 96},
            "cpu query rows per row block (default fa's; 48 at head dims over 64 with 32 vector registers)"},
           {"BLOCK_N",
            8,
            256,
            8,
            {},
            {32, 64, 96, 128},
            "cpu keys per key block (default 64, less where it would not fit)"},
           {"PARTS", 0, 64, 1, {}, {0, 1, 2, 4}, "cpu key entries per kv head, each with a dQ copy (0: automatic)"},
           {"ROW_CHUNK",
            0,
            1 << 20,
            1,
            {},
            {},
            "cpu row blocks per chunk: the key blocks sweep one chunk's row records at a time, dK and dV carried in "
            "the workspace between chunks (0: automatic, from the device's memory cache)"},
           {"BF16_DOT",
            0,
            1,
            1,
            {},
            {},
            "cpu, bf16: the matmuls as bf16 pair dot products where the CPU has avx512_bf16 (1, default), or fp32 (0)"},
       },
       fag_constraint,
       fag_relevant,
       nullptr},
      {"nsa",
       "NsaSelectedAttention",
       {
           {"VARIANT", 0, 1, 1, {}, {}, "0: nsa_fwd_cpu, 1: nsa_fwd_generic"},
           {"VW", 4, 16, 1, kVectorWidths, {}, "cpu lanes per row vector (the device's; not searched)"},
           {"QK_KEYS", 1, 16, 1, kDivisorsOf16, {2, 4, 8, 16}, "cpu Q·Kᵀ register tile (keys)"},
           {"PV_COLS", 1, 16, 1, kDivisorsOf16, {2, 4, 8, 16}, "cpu P·V register tile (columns); divides 16"},
       },
       nsa_constraint,
       nsa_relevant,
       nullptr},
      {"rau",
       "RingAttentionUpdate",
       {
           {"RAU_ROWS", 1, kRauMaxTileItems, 1, {}, {1, 2, 4, 8, 16}, "rows per work-item"},
           {"RAU_HEADS", 1, kRauMaxTileItems, 1, {}, {1, 16, 32, 64, 128, 256}, "head slots per work-item"},
           {"RAU_LOCAL", 1, 1024, 1, {}, {1, 8, 32}, "work-items per work-group"},
       },
       rau_constraint,
       rau_relevant,
       rau_fit},
  };
  return list;
}

const KernelDecl* find_kernel(std::string_view name) {
  for (const KernelDecl& k : kernels()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

std::string known_names() {
  std::string s;
  for (const KernelDecl& k : kernels()) {
    for (const ParamDecl& p : k.params) s += fmt::format("{}{}.{}", s.empty() ? "" : ", ", k.name, p.name);
  }
  return s;
}

}  // namespace cannon::tune

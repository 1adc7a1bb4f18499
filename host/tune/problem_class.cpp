// Problem class keys and their fallback order (problem_class.hpp).
#include "host/tune/problem_class.hpp"

#include <fmt/format.h>

#include "cannon/error.hpp"

namespace cannon::tune {

int head_dim_bucket(int64_t d) { return d <= 64 ? 64 : d <= 128 ? 128 : d <= 256 ? 256 : 0; }

const char* mask_class_name(MaskClass m) {
  return m == MaskClass::kDense ? "dense" : m == MaskClass::kCausal ? "causal" : "band";
}
const char* phase_name(Phase p) { return p == Phase::kPrefill ? "prefill" : "decode"; }

std::string ProblemClass::key() const {
  const std::string d = bucket == 0 ? "dlarge" : fmt::format("d{}", bucket);
  return fmt::format("{}.{}.{}.{}", dtype_name(dtype), d, mask_class_name(mask), phase_name(phase));
}

ProblemClass make_class(DType dtype, int64_t head_dim, MaskClass mask, int64_t query_rows) {
  ProblemClass c;
  c.dtype = dtype;
  c.bucket = head_dim_bucket(head_dim);
  c.mask = mask;
  c.phase = query_rows <= kDecodeMaxRows ? Phase::kDecode : Phase::kPrefill;
  return c;
}

std::optional<ProblemClass> parse_class_key(std::string_view key, std::string* why) {
  auto bad = [&](std::string msg) -> std::optional<ProblemClass> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    const std::size_t dot = key.find('.', pos);
    parts.emplace_back(key.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (parts.size() != 4) return bad("expected DTYPE.DBUCKET.MASK.PHASE, e.g. fp32.d128.causal.prefill");
  ProblemClass c;
  if (parts[0] == "fp32")
    c.dtype = DType::kFloat32;
  else if (parts[0] == "fp16")
    c.dtype = DType::kFloat16;
  else if (parts[0] == "bf16")
    c.dtype = DType::kBFloat16;
  else
    return bad(fmt::format("dtype '{}' (expected fp32, fp16 or bf16)", parts[0]));
  if (parts[1] == "d64")
    c.bucket = 64;
  else if (parts[1] == "d128")
    c.bucket = 128;
  else if (parts[1] == "d256")
    c.bucket = 256;
  else if (parts[1] == "dlarge")
    c.bucket = 0;
  else
    return bad(fmt::format("head-dim bucket '{}' (expected d64, d128, d256 or dlarge)", parts[1]));
  if (parts[2] == "dense")
    c.mask = MaskClass::kDense;
  else if (parts[2] == "causal")
    c.mask = MaskClass::kCausal;
  else if (parts[2] == "band")
    c.mask = MaskClass::kBand;
  else
    return bad(fmt::format("mask class '{}' (expected dense, causal or band)", parts[2]));
  if (parts[3] == "prefill")
    c.phase = Phase::kPrefill;
  else if (parts[3] == "decode")
    c.phase = Phase::kDecode;
  else
    return bad(fmt::format("phase '{}' (expected prefill or decode)", parts[3]));
  return c;
}

std::vector<ProblemClass> fallback_classes(const ProblemClass& c) {
  auto masks = [](MaskClass m) -> std::vector<MaskClass> {
    switch (m) {
      case MaskClass::kDense:
        return {MaskClass::kDense, MaskClass::kCausal, MaskClass::kBand};
      case MaskClass::kCausal:
        return {MaskClass::kCausal, MaskClass::kDense, MaskClass::kBand};
      default:
        return {MaskClass::kBand, MaskClass::kCausal, MaskClass::kDense};
    }
  };
  // Never across phases: decode wants 16-row entries and split-KV, prefill the big row blocks, so a prefill entry
  // would undo decode's heuristics (and the other way round).
  std::vector<ProblemClass> out;
  for (MaskClass m : masks(c.mask)) {
    ProblemClass x = c;
    x.mask = m;
    out.push_back(x);
  }
  return out;
}

}  // namespace cannon::tune

// Ascend's CAST_ROUND (reference/ascend-semantics-backward.md §4.1): fp32 to fp16/bf16, round to nearest with
// ties away from zero, the cast that rounds FlashAttentionScore's P and outputs and the backward's P, dS, dq, dk
// and dv. The host's own conversions (convert.hpp) stay IEEE ties-to-even: they prepare inputs as a framework
// would. Values go through fp32 first, since the device holds every intermediate in fp32 and casts that.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cannon/dtype.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::reference {

// x rounded to the value of the nearest fp16/bf16 (ties away from zero); fp32 rounds to float (ties-to-even,
// as any fp32 result is). Infinities and NaN pass through; values beyond the 16-bit range become infinities.
inline double round_ties_away(DType dtype, double x) {
  const float f = static_cast<float>(x);
  if (dtype == DType::kFloat32 || !std::isfinite(f)) return f;
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if (dtype == DType::kBFloat16) {
    u = (u + 0x8000u) & 0xffff0000u;  // adding half an ulp to the magnitude bits rounds ties away, either sign
    float r;
    std::memcpy(&r, &u, sizeof r);
    return r;
  }
  // fp16: below 2^-14 the step is a fixed 2^-24 (subnormals); std::round rounds halves away from zero.
  if (std::fabs(f) < 0x1p-14f) return std::round(static_cast<double>(f) * 0x1p24) * 0x1p-24;
  u = (u + 0x1000u) & 0xffffe000u;  // 11 significant bits, ties away
  float r;
  std::memcpy(&r, &u, sizeof r);
  return std::fabs(r) > 65504.0f ? std::copysign(INFINITY, r) : r;
}

}  // namespace cannon::reference

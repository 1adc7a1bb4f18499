// Host-side conversions between fp32 and the 16-bit storage types (round-to-nearest-even).
// Used to prepare inputs, read outputs and by the reference; fp16 goes through the FP16 library so
// subnormals, infinities and NaN follow IEEE 754 exactly.
#pragma once

#include <cstdint>
#include <cstring>

#include <fp16.h>

namespace cannon {

inline float fp16_to_float(uint16_t bits) { return fp16_ieee_to_fp32_value(bits); }
inline uint16_t float_to_fp16(float value) { return fp16_ieee_from_fp32_value(value); }

inline float bf16_to_float(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// bf16 is the top half of an fp32; round-to-nearest-even on the dropped 16 bits, NaN kept quiet.
inline uint16_t float_to_bf16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace cannon

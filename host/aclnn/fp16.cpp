// aclFloatToFloat16 / aclFloat16ToFloat with CANN's runtime behaviour (include/acl/acl_base.h): IEEE round to
// nearest even from the FP16 library, then CANN's saturation of the values IEEE would make infinite or NaN.
// Source: docs/aclnn.md ("fp16 helpers"), after CANN's runtime fp16_impl.cpp and the notes in acl_base_rt.h.
#include <fp16.h>

#include <cmath>
#include <cstdint>

#include "acl/acl_base.h"

extern "C" {

aclFloat16 aclFloatToFloat16(float value) {
  if (std::isnan(value)) return 0x7BFF;  // CANN: NaN -> 65504
  const uint16_t bits = fp16_ieee_from_fp32_value(value);
  if ((bits & 0x7FFF) == 0x7C00) return (bits & 0x8000) ? 0xFBFF : 0x7BFF;  // infinite: saturate to ±65504
  return bits;
}

float aclFloat16ToFloat(aclFloat16 value) {
  if ((value & 0x7C00) != 0x7C00) return fp16_ieee_to_fp32_value(value);
  // CANN reads the all-ones exponent as 2^16 (Inf -> 65536, the canonical NaN 0x7E00 -> 98304).
  const float magnitude = std::ldexp(1.0f + static_cast<float>(value & 0x3FF) / 1024.0f, 16);
  return (value & 0x8000) ? -magnitude : magnitude;
}

}  // extern "C"

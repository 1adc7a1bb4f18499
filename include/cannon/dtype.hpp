// Element types cannon moves between host and device.
// fp32/fp16/bf16 carry data (arithmetic is always fp32 inside kernels); the integer and bool types carry
// masks, indices and sequence lengths.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <string_view>

namespace cannon {

enum class DType : int { kFloat32, kFloat16, kBFloat16, kBool, kUInt8, kInt32, kInt64 };

CANNON_API std::size_t dtype_size(DType dtype);
// Short names: fp32, fp16, bf16, bool, uint8, int32, int64.
CANNON_API const char* dtype_name(DType dtype);
// Accepts the short names and the numpy/torch spellings (float32, float16, bfloat16, f32, ...).
// Throws Error(kParamInvalid) naming `what` for anything else.
CANNON_API DType parse_dtype(std::string_view text, std::string_view what = "dtype");
CANNON_API bool is_floating(DType dtype);

}  // namespace cannon

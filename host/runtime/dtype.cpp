// DType sizes, names and parsing.
#include "cannon/dtype.hpp"

#include <string>

#include "host/runtime/check.hpp"

namespace cannon {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat16:
      return 2;
    case DType::kBFloat16:
      return 2;
    case DType::kBool:
      return 1;
    case DType::kUInt8:
      return 1;
    case DType::kInt32:
      return 4;
    case DType::kInt64:
      return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "fp32";
    case DType::kFloat16:
      return "fp16";
    case DType::kBFloat16:
      return "bf16";
    case DType::kBool:
      return "bool";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
  }
  return "?";
}

DType parse_dtype(std::string_view text, std::string_view what) {
  struct Alias {
    const char* name;
    DType dtype;
  };
  static constexpr Alias kAliases[] = {
      {"fp32", DType::kFloat32},  {"float32", DType::kFloat32},   {"f32", DType::kFloat32}, {"float", DType::kFloat32},
      {"fp16", DType::kFloat16},  {"float16", DType::kFloat16},   {"f16", DType::kFloat16}, {"half", DType::kFloat16},
      {"bf16", DType::kBFloat16}, {"bfloat16", DType::kBFloat16}, {"bool", DType::kBool},   {"uint8", DType::kUInt8},
      {"u8", DType::kUInt8},      {"int32", DType::kInt32},       {"i32", DType::kInt32},   {"int64", DType::kInt64},
      {"i64", DType::kInt64},
  };
  for (const Alias& a : kAliases) {
    if (text == a.name) return a.dtype;
  }
  fail(Status::kParamInvalid, "{}: unknown dtype '{}' (expected fp32, fp16, bf16, bool, uint8, int32 or int64)", what,
       text);
}

bool is_floating(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat16 || dtype == DType::kBFloat16;
}

}  // namespace cannon

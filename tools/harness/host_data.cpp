// Encoding and decoding host tensors between float64 values, device storage bytes and .npy arrays.
// fp16/bf16 conversions go through host/runtime/convert.hpp (round to nearest even), the same code the
// library uses, so a value rounded here is exactly the value the kernels load.
#include "tools/harness/host_data.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "cannon/error.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::tools {
namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

double decode_one(DType dtype, const uint8_t* p) {
  switch (dtype) {
    case DType::kFloat32:
      return load<float>(p);
    case DType::kFloat16:
      return fp16_to_float(load<uint16_t>(p));
    case DType::kBFloat16:
      return bf16_to_float(load<uint16_t>(p));
    case DType::kBool:
      return *p != 0 ? 1.0 : 0.0;
    case DType::kUInt8:
      return *p;
    case DType::kInt32:
      return load<int32_t>(p);
    case DType::kInt64:
      return static_cast<double>(load<int64_t>(p));
  }
  return 0;
}

void encode_one(DType dtype, double value, uint8_t* p) {
  // fp16/bf16 round from the float32 value: the inputs are generated as float32-representable numbers,
  // so the double -> float step is exact and there is no double rounding.
  switch (dtype) {
    case DType::kFloat32:
      store(p, static_cast<float>(value));
      break;
    case DType::kFloat16:
      store(p, float_to_fp16(static_cast<float>(value)));
      break;
    case DType::kBFloat16:
      store(p, float_to_bf16(static_cast<float>(value)));
      break;
    case DType::kBool:
      *p = value != 0 ? 1 : 0;
      break;
    case DType::kUInt8:
      *p = static_cast<uint8_t>(value);
      break;
    case DType::kInt32:
      store(p, static_cast<int32_t>(value));
      break;
    case DType::kInt64:
      store(p, static_cast<int64_t>(value));
      break;
  }
}

// The dtype an .npy type string holds natively; nullopt where the caller must declare one.
std::optional<DType> native_dtype(const std::string& descr) {
  if (descr == "<f4") return DType::kFloat32;
  if (descr == "<f2") return DType::kFloat16;
  if (descr == "|b1") return DType::kBool;
  if (descr == "|u1") return DType::kUInt8;
  if (descr == "<i4") return DType::kInt32;
  if (descr == "<i8") return DType::kInt64;
  return std::nullopt;
}

}  // namespace

void check_descs(std::initializer_list<std::pair<const char*, const TensorDesc*>> descs) {
  for (const auto& [name, desc] : descs) {
    // A negative dim is the operator's to reject (negative cases describe them on purpose).
    const bool negative = desc && std::any_of(desc->shape.begin(), desc->shape.end(), [](int64_t d) { return d < 0; });
    if (desc && !negative) checked_bytes(desc->shape, dtype_size(desc->dtype), name);
  }
}

HostData encode_values(DType dtype, const std::vector<int64_t>& shape, const std::vector<double>& values) {
  HostData data{TensorDesc{dtype, shape}, {}};
  if (static_cast<int64_t>(values.size()) != checked_numel(shape, "encode_values")) {
    throw Error(Status::kInnerError,
                "encode_values: " + std::to_string(values.size()) + " values for " + data.desc.to_string());
  }
  std::size_t item = dtype_size(dtype);
  data.bytes.resize(values.size() * item);
  for (std::size_t i = 0; i < values.size(); ++i) encode_one(dtype, values[i], data.bytes.data() + i * item);
  return data;
}

std::vector<double> decode_values(const HostData& data) {
  std::size_t item = dtype_size(data.desc.dtype);
  std::size_t n = data.bytes.size() / item;
  std::vector<double> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = decode_one(data.desc.dtype, data.bytes.data() + i * item);
  return values;
}

reference::HostTensor to_host_tensor(const HostData& data) {
  return reference::HostTensor{data.desc.dtype, data.desc.shape, decode_values(data)};
}

HostData from_npy(const NpyArray& array, std::optional<DType> declared, std::string_view what) {
  std::optional<DType> native = native_dtype(array.descr);
  if (!declared) {
    if (!native) {
      throw Error(Status::kParamInvalid,
                  std::string(what) + ": npy type " + array.descr +
                      " needs a dtype in case.json \"dtypes\" (e.g. \"bf16\" for uint16 raw bits)");
    }
    return HostData{TensorDesc{*native, array.shape}, array.data};
  }
  bool raw16 =
      (*declared == DType::kBFloat16 || *declared == DType::kFloat16) && (array.descr == "<u2" || array.descr == "<i2");
  if (raw16 || native == declared) return HostData{TensorDesc{*declared, array.shape}, array.data};
  if (array.descr == "<f4" && is_floating(*declared)) {
    return encode_values(*declared, array.shape, npy_values(array, std::nullopt, what));
  }
  throw Error(Status::kParamInvalid, std::string(what) + ": npy type " + array.descr +
                                         " cannot hold the declared dtype " + dtype_name(*declared));
}

NpyArray to_npy(const HostData& data) { return NpyArray{npy_descr(data.desc.dtype), data.desc.shape, data.bytes}; }

std::vector<double> npy_values(const NpyArray& array, std::optional<DType> raw16, std::string_view what) {
  DType dtype;
  if (array.descr == "<f8") {
    std::vector<double> values(array.data.size() / 8);
    if (!values.empty()) std::memcpy(values.data(), array.data.data(), values.size() * 8);  // empty: data() may be null
    return values;
  } else if (array.descr == "<u2" || array.descr == "<i2") {
    if (!raw16) {
      throw Error(Status::kParamInvalid,
                  std::string(what) + ": uint16 data needs \"bf16\" or \"fp16\" in case.json \"dtypes\"");
    }
    dtype = *raw16;
  } else if (auto native = native_dtype(array.descr)) {
    dtype = *native;
  } else {
    throw Error(Status::kParamInvalid, std::string(what) + ": npy type " + array.descr + " is not numeric");
  }
  return decode_values(HostData{TensorDesc{dtype, array.shape}, array.data});
}

}  // namespace cannon::tools

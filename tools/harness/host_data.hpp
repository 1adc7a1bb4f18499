// A tensor on the host in two forms: the exact bytes the device reads or wrote, and their float64 values.
// Inputs are generated (or loaded) as values, rounded to the storage dtype once, and both the device and the
// reference then see the same numbers; outputs are downloaded as bytes and decoded for comparison.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cannon/tensor.hpp"
#include "host/reference/host_tensor.hpp"
#include "tools/harness/npy.hpp"

namespace cannon::tools {

struct HostData {
  TensorDesc desc;
  std::vector<uint8_t> bytes;  // desc.bytes() bytes, C order, little-endian
};

// An operator input or output named as MindSpore names the argument (golden directories store it as <name>.npy).
struct NamedTensor {
  std::string name;
  HostData data;
};

// Each described tensor's byte size must fit in 64 bits (null descs and negative dims are skipped), else
// Error(kParamInvalid) naming it: problem strings can name any int64, and a wrapped size would describe a small tensor
// for a huge problem.
void check_descs(std::initializer_list<std::pair<const char*, const TensorDesc*>> descs);

// Stores `values` in `dtype` (round to nearest even for fp16/bf16/fp32; integers and bools truncate).
HostData encode_values(DType dtype, const std::vector<int64_t>& shape, const std::vector<double>& values);
// The exact values of the stored elements.
std::vector<double> decode_values(const HostData& data);
reference::HostTensor to_host_tensor(const HostData& data);

// Converts an .npy array into HostData of `declared` dtype when given (e.g. "bf16" for "<u2" raw bits,
// from case.json's "dtypes"), else of the array's own type. float32 data declared fp16/bf16 is rounded;
// other mismatches, and "<f8" or "<u2" without a declared dtype, throw Error(kParamInvalid) naming `what`.
HostData from_npy(const NpyArray& array, std::optional<DType> declared, std::string_view what);
NpyArray to_npy(const HostData& data);

// Decodes any float-ish .npy (expected outputs may be stored wider than the op's dtype): "<f4", "<f8",
// "<f2", or "<u2" read as `raw16` (fp16 or bf16 bits).
std::vector<double> npy_values(const NpyArray& array, std::optional<DType> raw16, std::string_view what);

}  // namespace cannon::tools

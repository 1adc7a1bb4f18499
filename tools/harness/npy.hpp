// Reading and writing NumPy .npy files (format versions 1.0-3.0, little-endian, C order).
// Golden case directories hold their tensors in this form, so cannon can be checked against tensors dumped
// from a real Ascend run or from another implementation; bf16 travels as uint16 raw bits ("<u2").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"

namespace cannon::tools {

// One array: its numpy type string, its shape and its raw little-endian bytes in C order.
struct NpyArray {
  std::string descr;  // "<f4", "<f2", "<f8", "|u1", "|b1", "<i4", "<i8", "<u2"
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  int64_t numel() const;  // checked: Error(kParamInvalid) if the product overflows
};

// Every reader error is cannon::Error(kParamInvalid) whose message starts with `what` (usually the path).
// Item size of a supported type string; throws naming `what` for any other.
std::size_t npy_item_size(std::string_view descr, std::string_view what);

// Parses a whole .npy file image. Throws naming `what` when the magic, the header, the type (big-endian,
// Fortran order, unsupported descr), a shape whose byte size overflows 64 bits or the payload size is wrong.
NpyArray parse_npy(const std::vector<uint8_t>& file, std::string_view what);
// The .npy image of `array`: version 1.0 when the header fits, else 2.0; header padded to 64 bytes.
std::vector<uint8_t> serialize_npy(const NpyArray& array);

NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const NpyArray& array);

// The type string cannon stores a dtype as: bf16 as raw bits "<u2", bool as "|b1", others their natural type.
std::string npy_descr(DType dtype);

}  // namespace cannon::tools

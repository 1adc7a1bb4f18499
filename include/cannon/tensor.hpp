// Tensor descriptions and views: what operators read and write.
// TensorView is non-owning (cl_mem + byte offset + dtype + shape + strides); DeviceTensor owns a buffer.
// Strides are in elements; an empty stride vector means contiguous row-major.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cannon/cl.hpp"
#include "cannon/context.hpp"
#include "cannon/dtype.hpp"

namespace cannon {

struct CANNON_API TensorDesc {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;

  // Both throw Error(kParamInvalid) for a negative dimension or a count that overflows 64 bits.
  int64_t numel() const;
  std::size_t bytes() const;
  std::string to_string() const;  // e.g. "bf16[2,113,8,64]"
  bool operator==(const TensorDesc& other) const { return dtype == other.dtype && shape == other.shape; }
};

CANNON_API std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

struct CANNON_API TensorView {
  cl_mem buffer = nullptr;
  std::size_t offset = 0;  // bytes from the start of buffer
  TensorDesc desc;
  std::vector<int64_t> strides;  // elements; empty = contiguous

  std::vector<int64_t> effective_strides() const;
  bool is_contiguous() const;
};

// Owns a cl_mem. Move-only.
class CANNON_API DeviceTensor {
 public:
  DeviceTensor() = default;
  DeviceTensor(cl_mem buffer, TensorDesc desc) : buffer_(buffer), desc_(std::move(desc)) {}
  DeviceTensor(DeviceTensor&& other) noexcept;
  DeviceTensor& operator=(DeviceTensor&& other) noexcept;
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;
  ~DeviceTensor();

  TensorView view() const { return TensorView{buffer_, 0, desc_, {}}; }
  const TensorDesc& desc() const { return desc_; }
  cl_mem buffer() const { return buffer_; }

 private:
  cl_mem buffer_ = nullptr;
  TensorDesc desc_;
};

// Allocates a device buffer for desc (at least one byte, so empty tensors still get a handle).
CANNON_API DeviceTensor allocate(const Context& ctx, const TensorDesc& desc);
// Blocking copies between host memory and a view's bytes (the view must be contiguous).
CANNON_API void upload(const Context& ctx, const TensorView& view, const void* host, std::size_t bytes);
CANNON_API void download(const Context& ctx, const TensorView& view, void* host, std::size_t bytes);

}  // namespace cannon

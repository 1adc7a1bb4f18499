// TensorDesc/TensorView helpers and the allocate/upload/download calls.
#include "cannon/tensor.hpp"

#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/sub_buffer.hpp"

namespace cannon {

int64_t TensorDesc::numel() const { return checked_numel(shape, to_string()); }

std::size_t TensorDesc::bytes() const { return checked_bytes(shape, dtype_size(dtype), to_string()); }

std::string TensorDesc::to_string() const {
  std::string s = std::string(dtype_name(dtype)) + "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

std::vector<int64_t> TensorView::effective_strides() const {
  return strides.empty() ? contiguous_strides(desc.shape) : strides;
}

bool TensorView::is_contiguous() const {
  if (strides.empty()) return true;
  if (strides.size() != desc.shape.size()) return false;
  auto c = contiguous_strides(desc.shape);
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (desc.shape[i] != 1 && strides[i] != c[i]) return false;
  }
  return true;
}

DeviceTensor::DeviceTensor(DeviceTensor&& other) noexcept : buffer_(other.buffer_), desc_(std::move(other.desc_)) {
  other.buffer_ = nullptr;
}

DeviceTensor& DeviceTensor::operator=(DeviceTensor&& other) noexcept {
  if (this != &other) {
    if (buffer_) clReleaseMemObject(buffer_);
    buffer_ = other.buffer_;
    desc_ = std::move(other.desc_);
    other.buffer_ = nullptr;
  }
  return *this;
}

DeviceTensor::~DeviceTensor() {
  if (buffer_) clReleaseMemObject(buffer_);
}

DeviceTensor allocate(const Context& ctx, const TensorDesc& desc) {
  for (int64_t d : desc.shape) require(d >= 0, "allocate: negative dimension in {}", desc.to_string());
  const uint64_t exact = checked_bytes(desc.shape, dtype_size(desc.dtype), "allocate");
  require(exact <= ctx.info().max_alloc_size,
          "allocate: {} needs {} bytes, more than the device's largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE = {})",
          desc.to_string(), exact, ctx.info().max_alloc_size);
  cl_int err = CL_SUCCESS;
  std::size_t bytes = std::max<std::size_t>(exact, 1);
  cl_mem mem = clCreateBuffer(ctx.cl_context_handle(), CL_MEM_READ_WRITE, bytes, nullptr, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateBuffer", __FILE__, __LINE__);
  return DeviceTensor(mem, desc);
}

void upload(const Context& ctx, const TensorView& view, const void* host, std::size_t bytes) {
  require(view.buffer != nullptr, "upload: view has no buffer");
  require(view.is_contiguous(), "upload: view {} must be contiguous", view.desc.to_string());
  require(bytes <= view.desc.bytes(), "upload: {} bytes exceed the view's {} bytes", bytes, view.desc.bytes());
  if (bytes == 0) return;
  require(checked_add_u64(view.offset, bytes, "upload") <= mem_size(view.buffer),
          "upload: bytes [{}, {}) lie outside the buffer's {} bytes", view.offset, view.offset + bytes,
          mem_size(view.buffer));
  CANNON_CL(
      clEnqueueWriteBuffer(ctx.cl_queue_handle(), view.buffer, CL_TRUE, view.offset, bytes, host, 0, nullptr, nullptr));
}

void download(const Context& ctx, const TensorView& view, void* host, std::size_t bytes) {
  require(view.buffer != nullptr, "download: view has no buffer");
  require(view.is_contiguous(), "download: view {} must be contiguous", view.desc.to_string());
  require(bytes <= view.desc.bytes(), "download: {} bytes exceed the view's {} bytes", bytes, view.desc.bytes());
  if (bytes == 0) return;
  require(checked_add_u64(view.offset, bytes, "download") <= mem_size(view.buffer),
          "download: bytes [{}, {}) lie outside the buffer's {} bytes", view.offset, view.offset + bytes,
          mem_size(view.buffer));
  CANNON_CL(
      clEnqueueReadBuffer(ctx.cl_queue_handle(), view.buffer, CL_TRUE, view.offset, bytes, host, 0, nullptr, nullptr));
}

}  // namespace cannon

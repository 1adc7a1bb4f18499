// check_buffers_fit() and check_index_limit(); see device_limits.hpp.
#include "host/runtime/device_limits.hpp"

#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"

namespace cannon {

DeviceBuffer buffer_of(std::string_view name, const TensorDesc& desc) {
  return {name, checked_bytes(desc.shape, dtype_size(desc.dtype), name)};
}

void check_buffers_fit(const DeviceLimits& limits, const std::vector<DeviceBuffer>& buffers) {
  uint64_t total = 0;
  for (const DeviceBuffer& b : buffers) {
    if (b.bytes > limits.max_alloc) {
      fail(Status::kParamInvalid,
           "{}: needs {} bytes, more than the device's largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE = {} bytes)",
           b.name, b.bytes, limits.max_alloc);
    }
    total = checked_add_u64(total, b.bytes, b.name);
  }
  if (total > limits.global_mem) {
    fail(Status::kParamInvalid,
         "the problem's tensors and workspace need {} bytes together, more than the device's memory "
         "(CL_DEVICE_GLOBAL_MEM_SIZE = {} bytes)",
         total, limits.global_mem);
  }
}

bool buffers_fit(const DeviceLimits& limits, const std::vector<DeviceBuffer>& buffers) {
  uint64_t total = 0;
  for (const DeviceBuffer& b : buffers) {
    if (b.bytes > limits.max_alloc || b.bytes > limits.global_mem - total) return false;
    total += b.bytes;
  }
  return true;
}

void check_index_limit(std::string_view what, uint64_t value, uint64_t limit, std::string_view limit_name) {
  if (value > limit) fail(Status::kParamInvalid, "{}: {} exceeds {} ({})", what, value, limit_name, limit);
}

}  // namespace cannon

// Bounded planning: every operator's planner checks a problem against the device before it allocates anything
// sized by it (host tables, workspace, outputs). Without this an absurd but well-formed problem (B = 10^9) would
// first grow host tables to gigabytes and fail much later with bad_alloc. Each check names the tensor or table
// and the limit it broke (CL_DEVICE_MAX_MEM_ALLOC_SIZE, CL_DEVICE_GLOBAL_MEM_SIZE, or a kernel index width).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "cannon/context.hpp"
#include "cannon/tensor.hpp"

namespace cannon {

// The limits a plan is checked against; from a DeviceInfo, or set by hand for host-only planning (fuzzing).
struct DeviceLimits {
  uint64_t max_alloc = 0;   // CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer
  uint64_t global_mem = 0;  // CL_DEVICE_GLOBAL_MEM_SIZE: everything at once
  static DeviceLimits of(const DeviceInfo& info) { return {info.max_alloc_size, info.global_mem_size}; }
};

// A tensor or table a run needs on the device, and its size in bytes (checked: no wrap).
struct DeviceBuffer {
  std::string_view name;
  uint64_t bytes;
};
DeviceBuffer buffer_of(std::string_view name, const TensorDesc& desc);

// Throws Error(kParamInvalid) when one buffer exceeds max_alloc or all of them together exceed global_mem.
void check_buffers_fit(const DeviceLimits& limits, const std::vector<DeviceBuffer>& buffers);
// The same test without throwing: for optional buffers a plan can do without.
bool buffers_fit(const DeviceLimits& limits, const std::vector<DeviceBuffer>& buffers);

// Throws Error(kParamInvalid) "<what>: <value> exceeds <limit_name> (<limit>)" when value > limit.
void check_index_limit(std::string_view what, uint64_t value, uint64_t limit, std::string_view limit_name);

}  // namespace cannon

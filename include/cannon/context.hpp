// cannon::Context: the OpenCL context, device and queue every operator runs on, plus their caches.
// It either owns them (device picked by CANNON_DEVICE) or adopts a caller's handles, so an application
// that already uses OpenCL can hand its own over.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "cannon/cl.hpp"

namespace cannon {

enum class DeviceKind : int { kCpu, kGpu, kOther };

struct DeviceInfo {
  std::string platform_name;
  std::string name;
  DeviceKind kind = DeviceKind::kOther;
  std::size_t base_addr_align = 128;  // CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes
  std::size_t max_work_group_size = 1;
  unsigned compute_units = 1;
  std::size_t global_mem_size = 0;
  std::size_t max_alloc_size = 0;
};

class Context {
 public:
  // Owns a context and an in-order queue on the device that `spec` selects (see README: CANNON_DEVICE).
  // An empty spec uses Config::global().device.
  static Context create(const std::string& spec = "");
  // Adopts the caller's handles; they are retained here and released when the last copy goes away.
  static Context adopt(cl_context context, cl_device_id device, cl_command_queue queue);

  cl_context cl_context_handle() const;
  cl_device_id cl_device_handle() const;
  cl_command_queue cl_queue_handle() const;
  const DeviceInfo& info() const;
  // Why this device was chosen (for cannon-info and CANNON_VERBOSE=dispatch).
  const std::string& selection_reason() const;

  // Blocks until all work queued by cannon on this context's queue has finished.
  void finish() const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Context(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cannon

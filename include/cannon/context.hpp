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

// The device properties kernel choices depend on (docs/devices.md): never the device type alone.
struct DeviceInfo {
  std::string platform_name;
  std::string platform_vendor;   // CL_PLATFORM_VENDOR
  std::string platform_version;  // CL_PLATFORM_VERSION
  std::string name;
  std::string version;  // CL_DEVICE_VERSION
  DeviceKind kind = DeviceKind::kOther;
  bool pocl = false;  // PoCL's platform: the CPU-shaped kernels are tuned for its CPU device
  // Loop back-edges one kernel invocation may take before the implementation silently ends every loop, 0 for no
  // known limit. Mesa's llvmpipe (rusticl, clover) stops at 65535, shared by all loops of an invocation.
  std::size_t loop_limit = 0;
  std::size_t local_mem_size = 0;     // CL_DEVICE_LOCAL_MEM_SIZE
  unsigned native_float_width = 1;    // CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT
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

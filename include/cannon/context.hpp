// cannon::Context: the OpenCL context, device and queue every operator runs on, plus their caches.
// It either owns them (device picked by CANNON_DEVICE) or adopts a caller's handles, so an application
// that already uses OpenCL can hand its own over.
#pragma once

#include "cannon/export.hpp"

#include <cstddef>
#include <memory>
#include <string>

#include "cannon/cl.hpp"
#include "cannon/config.hpp"

namespace cannon {

namespace detail {
struct ContextAccess;  // the library's internal view of a Context
}

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
  std::size_t local_mem_size = 0;      // CL_DEVICE_LOCAL_MEM_SIZE
  unsigned native_float_width = 1;     // CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT
  unsigned preferred_float_width = 1;  // CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
  std::size_t base_addr_align = 128;   // CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes
  std::size_t max_work_group_size = 1;
  unsigned compute_units = 1;
  std::size_t global_mem_size = 0;
  std::size_t max_alloc_size = 0;
  std::size_t global_mem_cache_size = 0;  // CL_DEVICE_GLOBAL_MEM_CACHE_SIZE (PoCL's CPU device: the last-level cache)
};

class CANNON_API Context {
 public:
  // Owns a context and an in-order queue on the device that `spec` selects (see README: CANNON_DEVICE), with
  // Config::global(). An empty spec uses the config's device.
  static Context create(const std::string& spec = "");
  // The same with this Context's own Config (kernel variant, tuning, strict checks, verbosity, kernel_defines).
  static Context create(const std::string& spec, const Config& config);
  // Adopts the caller's handles; they are retained here and released when the last copy goes away.
  static Context adopt(cl_context context, cl_device_id device, cl_command_queue queue);
  static Context adopt(cl_context context, cl_device_id device, cl_command_queue queue, const Config& config);

  cl_context cl_context_handle() const;
  cl_device_id cl_device_handle() const;
  cl_command_queue cl_queue_handle() const;
  const DeviceInfo& info() const;
  // Why this device was chosen (for cannon-info and CANNON_VERBOSE=dispatch).
  const std::string& selection_reason() const;
  // What every operator planned or run on this Context reads (never Config::global() directly).
  const Config& config() const;

  // Blocks until all work on `queue` (null: this Context's queue) has finished, then raises what a kernel found
  // wrong in device data since the last call (an actual_seq_qlen or topk_indices value; see the operators' docs):
  // Error(kParamInvalid, "<argument>: <rule>"). The record is per Context, so with several threads it goes to
  // whichever finish() reads it first.
  void finish(cl_command_queue queue = nullptr) const;

 private:
  struct Impl;
  friend struct detail::ContextAccess;
  explicit Context(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cannon

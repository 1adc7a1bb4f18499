// One OpenCL kernel of a built program (clCreateKernel/clReleaseKernel), its arguments set by index with their
// types checked at compile time (buffers, fixed-width scalars and the argument structs of kernels/interface.h),
// and enqueue(): the one place that launches a kernel and logs it for CANNON_VERBOSE (dispatch lines, and at
// profile level the kernel's time, which waits for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "cannon/config.hpp"
#include "cannon/stream.hpp"
#include "host/runtime/kernel_interface.hpp"

namespace cannon {

// What Kernel::enqueue adds to its log lines: extra dispatch text, and the work of one launch for the profile rate.
struct LaunchNote {
  std::string detail;
  double work = 0;
  const char* unit = nullptr;  // "GFLOP/s" (work in FLOPs) or "GB/s" (bytes)
};

class Kernel {
 public:
  Kernel() = default;
  // `options` is the program's build options string, shown on dispatch lines.
  Kernel(cl_program program, const std::string& name, Verbosity verbose, std::string options);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  Kernel(Kernel&& other) noexcept;
  Kernel& operator=(Kernel&& other) noexcept;
  ~Kernel();

  const std::string& name() const { return name_; }
  // Throws Error(kRuntimeError) when `local` work-items per group exceed the built kernel's
  // CL_KERNEL_WORK_GROUP_SIZE on `device` (an enqueue would fail, or on a lax implementation run outside the spec).
  void check_local_size(cl_device_id device, std::size_t local) const;
  // CL_KERNEL_WORK_GROUP_SIZE of the built kernel on `device`.
  std::size_t max_local_size(cl_device_id device) const;

  void set(cl_uint index, cl_mem buffer);
  template <typename T>
  void set(cl_uint index, const T& value) {
    static_assert(std::is_same_v<T, cl_int> || std::is_same_v<T, cl_uint> || std::is_same_v<T, cl_long> ||
                      std::is_same_v<T, cl_ulong> || std::is_same_v<T, cl_float> || IsKernelStruct<T>::value,
                  "kernel arguments are cl_mem, cl_int, cl_uint, cl_long, cl_ulong, cl_float or an interface struct");
    set_bytes(index, sizeof(T), &value);
  }
  // Sets arguments 0, 1, ... in order.
  template <typename... Args>
  void set_all(const Args&... args) {
    cl_uint index = 0;
    (set(index++, args), ...);
  }

  // Launches global work-items (a multiple of local) after `wait_for` and returns the launch's event; with
  // global 0 only a marker on `wait_for`. Throws Error(kInnerError) if an argument was never set.
  Event enqueue(cl_command_queue queue, std::size_t global, std::size_t local, const std::vector<cl_event>& wait_for,
                const LaunchNote& note = {}) const;

 private:
  void set_bytes(cl_uint index, std::size_t size, const void* value);

  cl_kernel kernel_ = nullptr;
  std::string name_, options_;
  Verbosity verbose_ = Verbosity::kError;
  cl_uint num_args_ = 0;
  uint64_t set_args_ = 0;  // bit i: argument i was set
};

}  // namespace cannon

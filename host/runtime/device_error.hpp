// The Context's device error record (kernels/interface.h, "Device error record"): kernels that check device data
// (actual_seq_qlen, topk_indices) report a bad value there instead of the host reading the data back during run;
// Context::finish reads the record, clears it and raises the error with the argument's name and the rule.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "cannon/cl.hpp"
#include "kernels/interface.h"

namespace cannon {

class DeviceErrors {
 public:
  DeviceErrors() = default;
  DeviceErrors(const DeviceErrors&) = delete;
  DeviceErrors& operator=(const DeviceErrors&) = delete;
  ~DeviceErrors();

  // Allocates the zeroed record in `context`.
  void create(cl_context context);
  // The record, for a kernel argument; from now on finish() reads it.
  cl_mem record();
  // Reads the record through `queue` (which must have finished), clears it and throws Error(kParamInvalid) if a
  // kernel filled it. Reads nothing while no checking kernel was ever given the record.
  void raise(cl_command_queue queue);

 private:
  cl_mem buffer_ = nullptr;
  std::atomic<bool> used_{false};
  std::mutex mutex_;
};

// The message of a filled record: "<argument>: <rule>" with the values the kernel wrote.
std::string describe_device_error(const int32_t (&record)[ERR_WORDS]);

}  // namespace cannon

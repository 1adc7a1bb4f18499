// What a Context holds behind its public handle: the retained OpenCL handles, the device's properties
// and the program cache. Host code (ops) includes this; users see only cannon/context.hpp.
#pragma once

#include <string>

#include "cannon/context.hpp"
#include "host/runtime/program_cache.hpp"

namespace cannon {

struct Context::Impl {
  cl_context context = nullptr;
  cl_device_id device = nullptr;
  cl_command_queue queue = nullptr;
  DeviceInfo info;
  std::string reason;
  ProgramCache programs;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
};

// Reads name, type, alignment and limits of a device.
DeviceInfo query_device_info(cl_device_id device);
// Sets the flags derived from the names (pocl, loop_limit); separate so tests can classify made-up devices.
void classify_device(DeviceInfo& info);

}  // namespace cannon

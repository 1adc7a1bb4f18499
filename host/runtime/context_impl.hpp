// What a Context holds behind its public handle: the retained OpenCL handles, the device's properties, its
// Config, the program cache and the device error record. Host code reaches it through detail::ContextAccess;
// users see only cannon/context.hpp.
#pragma once

#include <string>

#include "cannon/config.hpp"
#include "cannon/context.hpp"
#include "host/runtime/device_error.hpp"
#include "host/runtime/program_cache.hpp"

namespace cannon {

struct Context::Impl {
  cl_context context = nullptr;
  cl_device_id device = nullptr;
  cl_command_queue queue = nullptr;
  DeviceInfo info;
  std::string reason;
  Config config;
  ProgramCache programs;
  DeviceErrors errors;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
};

namespace detail {
// The library's (and its tests') access to a Context's internals.
struct ContextAccess {
  static Context::Impl& impl(const Context& ctx) { return *ctx.impl_; }
};
}  // namespace detail

// Reads name, type, alignment and limits of a device.
DeviceInfo query_device_info(cl_device_id device);
// Sets the flags derived from the names (pocl, loop_limit); separate so tests can classify made-up devices.
void classify_device(DeviceInfo& info);

}  // namespace cannon

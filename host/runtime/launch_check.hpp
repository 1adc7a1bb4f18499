// Checks that a kernel launch can do what is asked on this device before anything is enqueued, so a launch never
// "succeeds" with outputs left unwritten: the loop budget of implementations that cut loops short (Mesa's
// llvmpipe, docs/devices.md) and the built kernel's work-group size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cannon/cl.hpp"
#include "cannon/context.hpp"

namespace cannon {

// Throws Error(kUnimplemented) when device.loop_limit is set and one invocation of `kernel` would take more loop
// back-edges (`steps`, the kernel's own count) than it allows; `what` names the problem dimension that drives it.
void check_loop_budget(const DeviceInfo& device, uint64_t steps, std::string_view kernel, std::string_view what);

// Creates `kernel` from the built program and throws Error(kRuntimeError) when `local` work-items per group exceed
// its CL_KERNEL_WORK_GROUP_SIZE (an enqueue would fail, or on a lax implementation run outside the spec).
void check_work_group(cl_program program, cl_device_id device, const char* kernel, std::size_t local);

}  // namespace cannon

// Checks that a kernel launch can do what is asked on this device before anything is enqueued, so a launch never
// "succeeds" with outputs left unwritten: the loop budget of implementations that cut loops short (Mesa's
// llvmpipe, docs/devices.md). The built kernel's work-group size is Kernel::check_local_size (kernel.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cannon/context.hpp"

namespace cannon {

// Throws Error(kUnimplemented) when device.loop_limit is set and one invocation of `kernel` would take more loop
// back-edges (`steps`, the kernel's own count) than it allows; `what` names the problem dimension that drives it.
void check_loop_budget(const DeviceInfo& device, uint64_t steps, std::string_view kernel, std::string_view what);

}  // namespace cannon

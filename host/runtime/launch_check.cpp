// The loop budget check every operator's planner runs after it chose a kernel shape; see launch_check.hpp.
#include "host/runtime/launch_check.hpp"

#include "host/runtime/check.hpp"

namespace cannon {

void check_loop_budget(const DeviceInfo& device, uint64_t steps, std::string_view kernel, std::string_view what) {
  if (device.loop_limit == 0 || steps <= device.loop_limit) return;
  fail(Status::kUnimplemented,
       "{} on '{}' ({}): {} needs about {} loop iterations per work-item, but this OpenCL implementation silently "
       "ends every loop of a kernel after {} (Mesa llvmpipe's LP_MAX_TGSI_LOOP_ITERATIONS; docs/devices.md)",
       kernel, device.name, device.platform_name, what, steps, device.loop_limit);
}

}  // namespace cannon

// DeviceRun and the names of the work units.
#include "tools/harness/device_run.hpp"

namespace cannon::tools {

DeviceRun::DeviceRun(const Context& ctx, const OpCase& c) : planned_(c.plan(ctx)), guarded_(ctx) {}

void DeviceRun::prepare() { planned_->bind(guarded_); }

void DeviceRun::run() {
  guarded_.run([&] { planned_->enqueue(); });
}

double DeviceRun::timed_run() {
  return guarded_.timed_run([&] { planned_->enqueue(); });
}

std::vector<HostData> DeviceRun::read(std::vector<std::string>& problems) { return guarded_.read(problems); }

const char* rate_unit(WorkUnit unit) { return unit == WorkUnit::kFlop ? "GFLOP/s" : "GB/s"; }
const char* work_metric(WorkUnit unit) { return unit == WorkUnit::kFlop ? "flops" : "bytes"; }
const char* rate_metric(WorkUnit unit) { return unit == WorkUnit::kFlop ? "gflops" : "gbps"; }

}  // namespace cannon::tools

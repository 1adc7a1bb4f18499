// One case on the device, for any operator: the driver's plan bound to guarded tensors (guarded.hpp), so every run
// is poisoned before and checked after. cannon-conformance, cannon-bench and the operator tests run cases this way.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "tools/harness/driver.hpp"
#include "tools/harness/guarded.hpp"

namespace cannon::tools {

class DeviceRun {
 public:
  // Plans `c` (throws the operator's cannon::Error); allocates nothing yet. `c` must outlive the run.
  DeviceRun(const Context& ctx, const OpCase& c);
  const PlannedCase& planned() const { return *planned_; }

  // Allocates guarded buffers and uploads the case's inputs (generated or loaded by now).
  void prepare();
  // Poisons outputs and workspace, runs and waits.
  void run();
  // Runs and waits without poisoning (for timing); returns seconds of wall time.
  double timed_run();
  // Downloads the outputs in the driver's order. `problems` receives damaged guards, changed inputs and unwritten
  // output elements.
  std::vector<HostData> read(std::vector<std::string>& problems);

 private:
  std::unique_ptr<PlannedCase> planned_;
  GuardedRun guarded_;
};

}  // namespace cannon::tools

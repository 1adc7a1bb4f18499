// Running one conformance case in one mode and turning what happened into a status, for any operator driver. The
// statuses and the failure rule are benchdnn's: a case that the operator rejects is INVALID_ARGUMENTS (a pass when
// the batch file marked it '!'), a feature cannon lacks is UNIMPLEMENTED, a useless reference is MISTRUSTED.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cannon/context.hpp"
#include "tools/harness/driver.hpp"

namespace cannon::tools {

enum class CaseStatus { kPassed, kFailed, kSkipped, kUnimplemented, kInvalidArguments, kMistrusted };
enum class Mode { kList, kCorrectness, kBitwise, kPerformance };

const char* status_text(CaseStatus status);
const char* mode_name(Mode mode);
// FAILED, MISTRUSTED, and INVALID_ARGUMENTS of a case not marked '!', count as failures.
bool is_failure(CaseStatus status);
bool is_skip(CaseStatus status);

struct RunOptions {
  Mode mode = Mode::kCorrectness;
  uint64_t seed = 0;        // used by cases without their own :seed=
  int repeats = 5;          // performance: timed runs
  int warmup = 1;           // performance: untimed runs before them (the first compiles the kernels)
  std::string dump_dir;     // correctness/bitwise: write each case as a golden directory under this
  std::string device_spec;  // --device, for repro lines
};

// One case: a problem string (inputs generated from `seed`) or a golden directory (inputs and expected
// outputs loaded from disk; its operator is found by case.json's "op" when the case runs).
struct CaseInput {
  std::string name;  // canonical problem string, or the golden directory
  bool expect_invalid = false;
  std::shared_ptr<const Problem> problem;  // generated cases
  std::string golden_dir;
  uint64_t seed = 0;

  bool generated() const { return problem != nullptr; }
  // The problem string carries its own :seed= (repro lines then need no --seed).
  bool own_seed() const { return problem && problem->seed().has_value(); }
};

struct CaseResult {
  std::string name, repro;
  CaseStatus status = CaseStatus::kFailed;
  std::string message;  // key error numbers, timings, or the error text
  nlohmann::json metrics = nlohmann::json::object();
  double seconds = 0;
};

// The command line that re-runs exactly this case.
std::string repro_line(const CaseInput& input, const RunOptions& options);

// Never throws: every error becomes a status and a message. `dump_name` names the case's directory
// under options.dump_dir. A golden directory runs with the driver in `drivers` whose golden op its case.json names.
CaseResult run_case(const Context& ctx, const CaseInput& input, const RunOptions& options, const std::string& dump_name,
                    const std::vector<const Driver*>& drivers);

}  // namespace cannon::tools

// Golden case directories of any operator: how cannon is checked against tensors from a real Ascend run or another
// implementation, and how cannon's own results are handed to others. A directory holds
//   case.json            {"op": "<driver's golden op>", "attrs": {...MindSpore/torch_npu names...},
//                         "dtypes": {"query": "bf16", ...}}   (dtypes: tensors stored as raw bits)
//   <input>.npy ...      one per operator input present, named after the operator's arguments
//   expected/<output>.npy ...   any subset of the operator's outputs
// The driver names the attributes (its attribute table), inputs and outputs (its OpSpec); this file does the rest.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/harness/compare.hpp"
#include "tools/harness/driver.hpp"
#include "tools/harness/golden_dir.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {

struct GoldenCase {
  std::string dir;
  std::unique_ptr<OpCase> c;
  OutputValues expected;                       // in the driver's output order
  std::vector<ExpectedArray> expected_arrays;  // check_expected them against the plan's outputs
};

// The driver in `drivers` whose golden op the directory's case.json names; Error(kParamInvalid) naming the file when
// there is none.
const Driver& golden_driver(const std::vector<const Driver*>& drivers, const GoldenFiles& files);

// Reads a directory of `driver`'s operator. Throws Error(kParamInvalid) naming the file and the problem (missing
// file, wrong op, unknown attribute, wrong JSON type or a value out of its type's range, npy errors). Attributes
// missing from case.json take the operator's defaults (MindSpore's); expected outputs may be stored wider than the
// operator's dtype, and uint16 raw bits take the attention output's 16-bit dtype.
GoldenCase load_golden(const Driver& driver, const GoldenFiles& files);

// Writes `c`'s inputs and `outputs` (in the driver's order) as a golden directory (created if needed); `problem` is
// recorded in case.json for humans. Replaying the directory with --golden compares a run against these outputs.
void write_golden(const std::string& dir, const OpCase& c, const std::vector<HostData>& outputs,
                  const std::string& problem);

}  // namespace cannon::tools

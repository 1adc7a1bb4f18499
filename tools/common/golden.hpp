// Golden case directories: how cannon is checked against tensors from a real Ascend run or another
// implementation, and how cannon's own results are handed to others. A directory holds
//   case.json            {"op": "flash_attention_score", "attrs": {...MindSpore/torch_npu names...},
//                         "dtypes": {"query": "bf16", ...}}   (dtypes: tensors stored as raw bits)
//   query.npy key.npy value.npy [pse.npy atten_mask.npy drop_mask.npy]
//   expected/attention_out.npy expected/softmax_max.npy expected/softmax_sum.npy   (any subset)
#pragma once

#include <string>

#include "tools/common/compare.hpp"
#include "tools/common/device_run.hpp"
#include "tools/common/fa_case.hpp"
#include "tools/common/golden_dir.hpp"

namespace cannon::tools {

struct GoldenCase {
  std::string dir;
  FaCase fa;
  FaValues expected;
  std::vector<ExpectedArray> expected_arrays;  // check_expected them against the plan's outputs
};

// The expected/ names of flash_attention_score's outputs, in the order of FaDeviceOutputs.
extern const char* const kFaGoldenOutputs[3];

// Reads a directory. Throws Error(kParamInvalid) naming the file and the problem (missing file, unknown op or
// attribute, wrong JSON type or a value out of its type's range, npy errors). Attributes missing from case.json take
// MindSpore's defaults (scale 1.0, keep_prob 1.0, seed 0, offset 0, pre/next 2147483647, sparse_mode 0, pse_type 1,
// prefix none, inner_precise 0, ...); head_num and input_layout are required. atten_mask.npy may be uint8 or bool (1 =
// masked); pse.npy is in the query's dtype (fp32 slopes for pse_type 2/3); drop_mask.npy is bit-packed uint8. With
// keep_prob < 1 and no drop_mask.npy the operator's generator makes the mask from seed and offset.
GoldenCase load_golden(const std::string& dir);
GoldenCase load_golden(const GoldenFiles& files);

// Writes `fa`'s inputs and `outputs` as a golden directory (created if needed); `problem` is recorded in
// case.json for humans. Replaying the directory with --golden compares a run against these outputs.
void write_golden(const std::string& dir, const FaCase& fa, const FaDeviceOutputs& outputs, const std::string& problem);

}  // namespace cannon::tools

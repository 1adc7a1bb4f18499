// Golden directories of RingAttentionUpdate (op "ring_attention_update") and NsaSelectedAttention (op
// "nsa_select_attention"), laid out like FlashAttentionScore's (golden.hpp): case.json with MindSpore's
// attribute names, one .npy per input named after MindSpore's arguments, expected/*.npy for the outputs.
//   ring: prev_attn_out prev_softmax_max prev_softmax_sum cur_attn_out cur_softmax_max cur_softmax_sum
//         [actual_seq_qlen (int64)]; attrs layout, softmax_layout (input_layout / input_softmax_layout accepted);
//         expected/attn_out softmax_max softmax_sum
//   nsa:  query key value topk_indices [atten_mask]; attrs scale_value head_num select_block_size
//         select_block_count sparse_mode actual_seq_qlen actual_seq_kvlen (lists) [input_layout];
//         expected/attention_out softmax_max softmax_sum
#pragma once

#include <string>
#include <vector>

#include "tools/common/compare.hpp"
#include "tools/common/golden_dir.hpp"
#include "tools/common/op_case.hpp"

namespace cannon::tools {

struct RauGolden {
  RauCase c;
  FaValues expected;                           // attention_out holds attn_out
  std::vector<ExpectedArray> expected_arrays;  // check_expected them against the plan's outputs
};
struct NsaGolden {
  NsaCase c;
  FaValues expected;
  std::vector<ExpectedArray> expected_arrays;
};

// The expected/ names of each operator's outputs, in the order of the device runs' outputs.
extern const char* const kRauGoldenOutputs[3];
extern const char* const kNsaGoldenOutputs[3];

// Throw Error(kParamInvalid) naming the file and the problem; unknown attributes, and attribute values of the
// wrong JSON type or out of range, are errors.
RauGolden load_rau_golden(const std::string& dir);
RauGolden load_rau_golden(const GoldenFiles& files);
NsaGolden load_nsa_golden(const std::string& dir);
NsaGolden load_nsa_golden(const GoldenFiles& files);

// `outputs` in the device run's order (attn_out/attention_out, softmax_max, softmax_sum).
void write_rau_golden(const std::string& dir, const RauCase& c, const std::vector<HostData>& outputs,
                      const std::string& problem);
void write_nsa_golden(const std::string& dir, const NsaCase& c, const std::vector<HostData>& outputs,
                      const std::string& problem);

}  // namespace cannon::tools

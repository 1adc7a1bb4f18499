// A concrete RingAttentionUpdate case: attributes and host inputs, generated from a problem string (rau_problem.hpp)
// or loaded from a golden directory. It is the RAU driver's OpCase. Descriptions exist before data, so a case the
// operator rejects never allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cannon/ring_attention_update.hpp"
#include "host/reference/ring_attention_update_ref.hpp"
#include "tools/drivers/rau/rau_problem.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/op_spec.hpp"

namespace cannon::tools {

// prev_attn_out, prev_softmax_max, prev_softmax_sum, cur_attn_out, cur_softmax_max, cur_softmax_sum
struct RauInputs {
  HostData prev_out, prev_max, prev_sum, cur_out, cur_max, cur_sum;
  std::optional<HostData> actual_seq_qlen;  // TND: int64 [B+1]
};

struct RauCase final : SpecCase<RauCase> {
  RingAttentionUpdateAttrs attrs;
  RauInputs inputs;
  std::string invalid = "none";  // generation: which side gets invalid rows
  double invalid_frac = 0;
  std::vector<int64_t> cum_seq;  // generation, TND: batch boundaries with the leading 0
};

// The RAU driver's declaration of its operator (rau_driver.cpp).
using RauSpec =
    OpSpec<RauCase, RauProblem, RingAttentionUpdateDescs, RingAttentionUpdatePlan, RingAttentionUpdateTensors>;
const RauSpec& spec_of(const RauCase*);

RauCase describe_case(const RauProblem& problem);

// Attn outs uniform in [-1, 1] (prev) and [-0.9, 1] (cur); maxima uniform in [-4, 4]; sums in [1, 64]; max and sum
// replicated over the 8 lanes; then invalid rows planted on the chosen side(s). actual_seq_qlen is filled from the
// attributes' cumulative lengths when it is described.
void generate_inputs(RauCase& c, uint64_t seed);

// The [B+1] tensor of cumulative lengths (values as given; any dtype for negative cases).
HostData seq_tensor(DType dtype, const std::vector<int64_t>& cumulative);

}  // namespace cannon::tools

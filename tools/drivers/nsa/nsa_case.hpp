// A concrete NsaSelectedAttention case: attributes and host inputs, generated from a problem string (nsa_problem.hpp)
// or loaded from a golden directory. It is the NSA driver's OpCase. Descriptions exist before data, so a case the
// operator rejects never allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cannon/nsa_selected_attention.hpp"
#include "host/reference/nsa_selected_attention_ref.hpp"
#include "tools/drivers/nsa/nsa_problem.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/op_spec.hpp"

namespace cannon::tools {

struct NsaInputs {
  HostData query, key, value, topk_indices;
  std::optional<HostData> atten_mask;
};

struct NsaCase final : SpecCase<NsaCase> {
  NsaSelectedAttentionAttrs attrs;
  NsaInputs inputs;
  std::string idx = "random";  // generation: how topk_indices are drawn (NsaProblem::idx)
};

// The NSA driver's declaration of its operator (nsa_driver.cpp).
using NsaSpec =
    OpSpec<NsaCase, NsaProblem, NsaSelectedAttentionDescs, NsaSelectedAttentionPlan, NsaSelectedAttentionTensors>;
const NsaSpec& spec_of(const NsaCase*);

NsaCase describe_case(const NsaProblem& problem);

// q/k/v uniform (the FA ranges), topk_indices drawn per token within its batch's blocks as `c.idx` says, atten_mask
// filled with triu(1) (its contents are never read by the op, only its presence).
void generate_inputs(NsaCase& c, uint64_t seed);

}  // namespace cannon::tools

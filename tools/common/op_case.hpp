// Concrete RingAttentionUpdate and NsaSelectedAttention cases: attributes and host inputs, generated from a
// problem string (op_problem.hpp) or loaded from a golden directory (op_golden.hpp). Descriptions exist before
// data, so a case the operator rejects never allocates. The siblings of FaCase (fa_case.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cannon/nsa_selected_attention.hpp"
#include "cannon/ring_attention_update.hpp"
#include "host/reference/nsa_selected_attention_ref.hpp"
#include "host/reference/ring_attention_update_ref.hpp"
#include "tools/common/host_data.hpp"
#include "tools/common/op_problem.hpp"

namespace cannon::tools {

struct RauCase {
  RingAttentionUpdateAttrs attrs;
  // prev_attn_out, prev_softmax_max, prev_softmax_sum, cur_attn_out, cur_softmax_max, cur_softmax_sum
  HostData prev_out, prev_max, prev_sum, cur_out, cur_max, cur_sum;
  std::optional<HostData> actual_seq_qlen;  // TND: int64 [B+1]
  std::string invalid = "none";             // generation: which side gets invalid rows
  double invalid_frac = 0;
  std::vector<int64_t> cum_seq;  // generation, TND: batch boundaries with the leading 0

  RingAttentionUpdateDescs descs() const;
  reference::RingAttentionUpdateRefInputs ref_inputs() const;
  std::vector<NamedInput> named_inputs() const;
  DType output_dtype() const { return prev_out.desc.dtype; }
};

struct NsaCase {
  NsaSelectedAttentionAttrs attrs;
  HostData query, key, value, topk_indices;
  std::optional<HostData> atten_mask;
  std::string idx = "random";  // generation: how topk_indices are drawn (NsaProblem::idx)

  NsaSelectedAttentionDescs descs() const;
  reference::NsaSelectedAttentionRefInputs ref_inputs() const;
  std::vector<NamedInput> named_inputs() const;
  DType output_dtype() const { return query.desc.dtype; }
};

RauCase describe_case(const RauProblem& problem);
NsaCase describe_case(const NsaProblem& problem);

// RAU: attn outs uniform in [-1, 1] (prev) and [-0.9, 1] (cur); maxima uniform in [-4, 4]; sums in [1, 64];
// max and sum replicated over the 8 lanes; then invalid rows planted on the chosen side(s). actual_seq_qlen is
// filled from the attributes' cumulative lengths when it is described.
void generate_inputs(RauCase& c, uint64_t seed);
// NSA: q/k/v uniform (the FA ranges), topk_indices drawn per token within its batch's blocks as `c.idx` says,
// atten_mask filled with triu(1) (its contents are never read by the op, only its presence).
void generate_inputs(NsaCase& c, uint64_t seed);

// The int64 [B+1] tensor of cumulative lengths (values as given; any dtype for negative cases).
HostData seq_tensor(DType dtype, const std::vector<int64_t>& cumulative);

}  // namespace cannon::tools

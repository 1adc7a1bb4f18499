// NsaSelectedAttention as the harness runs it (its OpSpec): the inputs and outputs, the plan and run calls, the float64
// reference and, for fp16/bf16, the naive one of FlashAttention's rule.
#include "tools/drivers/nsa/nsa_driver.hpp"

#include "tools/drivers/nsa/nsa_case.hpp"

namespace cannon::tools {
namespace {

reference::NsaSelectedAttentionRefInputs ref_inputs(const NsaCase& c) {
  reference::NsaSelectedAttentionRefInputs r{to_host_tensor(c.inputs.query), to_host_tensor(c.inputs.key),
                                             to_host_tensor(c.inputs.value), to_host_tensor(c.inputs.topk_indices),
                                             std::nullopt};
  if (c.inputs.atten_mask) r.atten_mask = to_host_tensor(*c.inputs.atten_mask);
  return r;
}

using reference::Precision;

ReferenceValues float64_reference(const NsaCase& c) {
  auto r = reference::nsa_selected_attention(ref_inputs(c), c.attrs, Precision::kFloat64);
  return {{std::move(r.attention_out.values), std::move(r.softmax_max.values), std::move(r.softmax_sum.values)},
          r.stats};
}

std::optional<std::vector<double>> unrounded_p_reference(const NsaCase& c) {
  return reference::nsa_selected_attention(ref_inputs(c), c.attrs, Precision::kUnroundedP).attention_out.values;
}

std::optional<std::vector<double>> naive_reference(const NsaCase& c) {
  return reference::nsa_selected_attention(ref_inputs(c), c.attrs, Precision::kNaiveLowPrecision).attention_out.values;
}

}  // namespace

const NsaSpec& spec_of(const NsaCase*) {
  static const NsaSpec spec{
      {"nsa", "nsa_select_attention", WorkUnit::kFlop, parse_nsa_problem, nsa_attr_table},
      qkv_and<NsaSpec>({spec_input("topk_indices", &NsaInputs::topk_indices, &NsaSelectedAttentionDescs::topk_indices,
                                   &NsaSelectedAttentionTensors::topk_indices),
                        spec_input("atten_mask", &NsaInputs::atten_mask, &NsaSelectedAttentionDescs::atten_mask,
                                   &NsaSelectedAttentionTensors::atten_mask)}),
      attention_outputs<NsaSpec>("attention_out", &NsaSelectedAttentionPlan::attention_out,
                                 &NsaSelectedAttentionTensors::attention_out),
      {},
      {plan_nsa_selected_attention, run_nsa_selected_attention, &NsaSelectedAttentionPlan::flops},
      {float64_reference, naive_reference, nullptr, nullptr, unrounded_p_reference}};
  return spec;
}

const Driver& nsa_driver() { return driver_for<NsaCase>(); }

}  // namespace cannon::tools

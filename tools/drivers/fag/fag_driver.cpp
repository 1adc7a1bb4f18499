// FlashAttentionScoreGrad as the harness runs it (its OpSpec): the forward's inputs with dy, softmax_max, softmax_sum
// and attention_in under torch_npu's argument names, dq/dk/dv (and dpse where the plan has one: pse_type 0/1 with a
// pse, cannon's own output) judged as gradients, the plan and run calls and the
// float64 backward reference with the statistics its tolerance model reads.
#include "tools/drivers/fag/fag_driver.hpp"

#include <utility>

#include "host/reference/flash_attention_score_grad_ref.hpp"
#include "tools/drivers/fag/fag_case.hpp"

namespace cannon::tools {
namespace {

using Descs = FlashAttentionScoreGradDescs;
using Tensors = FlashAttentionScoreGradTensors;
using Plan = FlashAttentionScoreGradPlan;

// Ascend's precision (dS and the dropped P rounded to the input dtype with CAST_ROUND before their matmuls), the
// kernel's order: what the device must match.
ReferenceValues float64_reference(const FagCase& c) {
  auto r = reference::flash_attention_score_grad(c.ref_inputs(), c.attrs, reference::GradPrecision::kAscend);
  OutputValues out{std::move(r.dq.values), std::move(r.dk.values), std::move(r.dv.values), std::nullopt};
  if (r.dpse) out[3] = std::move(r.dpse->values);
  return {std::move(out), {}, r.stats};
}

}  // namespace

const FagSpec& spec_of(const FagCase*) {
  static const FagSpec spec{
      {"fag", "flash_attention_score_grad", WorkUnit::kFlop, parse_fag_problem, fag_attr_table},
      qkv_and<FagSpec>(
          {spec_input("dy", &FagInputs::dy, &Descs::dy, &Tensors::dy),
           spec_input("pse", &FagInputs::pse, &Descs::pse, &Tensors::pse),
           spec_input("drop_mask", &FagInputs::drop_mask, &Descs::drop_mask, &Tensors::drop_mask),
           spec_input("atten_mask", &FagInputs::atten_mask, &Descs::atten_mask, &Tensors::atten_mask),
           spec_input("softmax_max", &FagInputs::softmax_max, &Descs::softmax_max, &Tensors::softmax_max),
           spec_input("softmax_sum", &FagInputs::softmax_sum, &Descs::softmax_sum, &Tensors::softmax_sum),
           spec_input("attention_in", &FagInputs::attention_in, &Descs::attention_in, &Tensors::attention_in)}),
      {{"dq", Quantity::kGradient, &Plan::dq, &Tensors::dq},
       {"dk", Quantity::kGradient, &Plan::dk, &Tensors::dk},
       {"dv", Quantity::kGradient, &Plan::dv, &Tensors::dv},
       {"dpse", Quantity::kGradient, &Plan::dpse, nullptr, &Tensors::dpse}},
      {},
      {plan_flash_attention_score_grad, run_flash_attention_score_grad, &Plan::flops},
      {float64_reference}};
  return spec;
}

const Driver& fag_driver() { return driver_for<FagCase>(); }

}  // namespace cannon::tools

// RingAttentionUpdate as the harness runs it (its OpSpec): the inputs and outputs, the plan and run calls, bytes moved
// as the work of a run, and the float64 reference. The merge's attn_out is judged at the output dtype's tolerance
// row, softmax_max and softmax_sum at fp32's.
#include "tools/drivers/rau/rau_driver.hpp"

#include "tools/drivers/rau/rau_case.hpp"

namespace cannon::tools {
namespace {

reference::RingAttentionUpdateRefInputs ref_inputs(const RauCase& c) {
  const RauInputs& in = c.inputs;
  reference::RingAttentionUpdateRefInputs r{to_host_tensor(in.prev_out),
                                            to_host_tensor(in.prev_max),
                                            to_host_tensor(in.prev_sum),
                                            to_host_tensor(in.cur_out),
                                            to_host_tensor(in.cur_max),
                                            to_host_tensor(in.cur_sum),
                                            {}};
  if (in.actual_seq_qlen) {
    for (double v : decode_values(*in.actual_seq_qlen)) r.actual_seq_qlen.push_back(static_cast<int64_t>(v));
  }
  return r;
}

// No statistics: the merge's error does not grow with the problem (tolerance_model.hpp keeps the table for it).
ReferenceValues float64_reference(const RauCase& c) {
  auto r = reference::ring_attention_update(ref_inputs(c), c.attrs);
  return {{std::move(r.attn_out.values), std::move(r.softmax_max.values), std::move(r.softmax_sum.values)}, {}};
}

}  // namespace

const RauSpec& spec_of(const RauCase*) {
  // The merge takes the previous and the current attention output triple; its work is the bytes it moves.
  static const RauSpec spec{
      {"rau", "ring_attention_update", WorkUnit::kByte, parse_rau_problem, rau_attr_table},
      {spec_input("prev_attn_out", &RauInputs::prev_out, &RingAttentionUpdateDescs::prev_attn_out,
                  &RingAttentionUpdateTensors::prev_attn_out),
       spec_input("prev_softmax_max", &RauInputs::prev_max, &RingAttentionUpdateDescs::prev_softmax_max,
                  &RingAttentionUpdateTensors::prev_softmax_max),
       spec_input("prev_softmax_sum", &RauInputs::prev_sum, &RingAttentionUpdateDescs::prev_softmax_sum,
                  &RingAttentionUpdateTensors::prev_softmax_sum),
       spec_input("cur_attn_out", &RauInputs::cur_out, &RingAttentionUpdateDescs::cur_attn_out,
                  &RingAttentionUpdateTensors::cur_attn_out),
       spec_input("cur_softmax_max", &RauInputs::cur_max, &RingAttentionUpdateDescs::cur_softmax_max,
                  &RingAttentionUpdateTensors::cur_softmax_max),
       spec_input("cur_softmax_sum", &RauInputs::cur_sum, &RingAttentionUpdateDescs::cur_softmax_sum,
                  &RingAttentionUpdateTensors::cur_softmax_sum),
       spec_input("actual_seq_qlen", &RauInputs::actual_seq_qlen, &RingAttentionUpdateDescs::actual_seq_qlen,
                  &RingAttentionUpdateTensors::actual_seq_qlen)},
      attention_outputs<RauSpec>("attn_out", &RingAttentionUpdatePlan::attn_out, &RingAttentionUpdateTensors::attn_out),
      {},
      {plan_ring_attention_update, run_ring_attention_update, &RingAttentionUpdatePlan::bytes},
      {float64_reference}};
  return spec;
}

const Driver& rau_driver() { return driver_for<RauCase>(); }

}  // namespace cannon::tools

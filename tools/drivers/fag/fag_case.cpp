// Turning a "fag:" problem into a FagCase: the forward's case, the shapes of the backward's extra inputs, and a
// training step's data for them (the forward reference's outputs, a random dy).
#include "tools/drivers/fag/fag_case.hpp"

#include <random>
#include <utility>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/runtime/checked.hpp"
#include "tools/harness/random.hpp"

namespace cannon::tools {
namespace {

// dy's stream of the case seed: past the forward's six (fa_case.cpp), so q, k, v and the masks stay theirs.
constexpr uint32_t kDyStream = 16;

// attention_out's shape: the query's with the head dim `d` (H = N1·d for BSH and SBH).
std::vector<int64_t> out_shape(const FaProblem& p, std::vector<int64_t> query_shape, int64_t d) {
  if (query_shape.empty()) return query_shape;
  const bool packed_heads = p.layout == "BSH" || p.layout == "SBH";
  query_shape.back() = packed_heads ? checked_mul(p.n1, d, "H = N·D") : d;
  return query_shape;
}

// A reference output stored in the dtype of `like` (it has the operator's shape and memory order).
HostData stored(const HostData& like, const reference::HostTensor& values, const char* what) {
  if (static_cast<int64_t>(values.values.size()) != like.desc.numel()) {
    throw Error(Status::kInnerError, std::string("fag case: the forward reference's ") + what +
                                         " does not have the described element count");
  }
  return encode_values(like.desc.dtype, like.desc.shape, values.values);
}

// The forward's own inputs, which the backward takes unchanged.
void take_forward_inputs(const FaInputs& fwd, FagInputs& in) {
  in.query = fwd.query;
  in.key = fwd.key;
  in.value = fwd.value;
  in.pse = fwd.pse;
  in.drop_mask = fwd.drop_mask;
  in.atten_mask = fwd.atten_mask;
}

}  // namespace

reference::FlashAttentionScoreGradRefInputs FagCase::ref_inputs() const {
  reference::FlashAttentionScoreGradRefInputs r{to_host_tensor(inputs.query),
                                                to_host_tensor(inputs.key),
                                                to_host_tensor(inputs.value),
                                                to_host_tensor(inputs.dy),
                                                to_host_tensor(inputs.attention_in),
                                                to_host_tensor(inputs.softmax_max),
                                                to_host_tensor(inputs.softmax_sum),
                                                {},
                                                {},
                                                {}};
  if (inputs.pse) r.pse = to_host_tensor(*inputs.pse);
  if (inputs.drop_mask) r.drop_mask = to_host_tensor(*inputs.drop_mask);
  if (inputs.atten_mask) r.atten_mask = to_host_tensor(*inputs.atten_mask);
  return r;
}

FagCase describe_case(const FagProblem& p) {
  FagCase c;
  FaCase fwd = describe_case(static_cast<const FaProblem&>(p));
  c.attrs = fwd.attrs;
  FagInputs& in = c.inputs;
  take_forward_inputs(fwd.inputs, in);
  in.dy.desc = {p.dy_dt.value_or(p.dtype), out_shape(p, in.query.desc.shape, p.dy_d.value_or(p.dv))};
  in.attention_in.desc = {p.ain_dt.value_or(p.dtype), out_shape(p, in.query.desc.shape, p.dv)};
  const std::vector<int64_t>& q = in.query.desc.shape;
  const int64_t rows = q.empty() ? 0 : q[0];  // TND: T tokens
  const TensorDesc stats{
      p.stats_dt.value_or(DType::kFloat32),
      p.tnd() ? std::vector<int64_t>{rows, p.n1, p.stats_lanes} : std::vector<int64_t>{p.b, p.n1, p.s1, p.stats_lanes}};
  in.softmax_max.desc = stats;
  in.softmax_sum.desc = stats;
  check_descs({{"dy", &in.dy.desc},
               {"attention_in", &in.attention_in.desc},
               {"softmax_max", &in.softmax_max.desc},
               {"softmax_sum", &in.softmax_sum.desc}});
  c.forward = std::move(fwd);
  return c;
}

void generate_inputs(FagCase& c, uint64_t seed) {
  if (!c.forward) throw Error(Status::kInnerError, "fag case: only a described case can be generated");
  FaCase& f = *c.forward;
  generate_inputs(f, seed);
  FagInputs& in = c.inputs;
  take_forward_inputs(f.inputs, in);
  const auto fwd = reference::flash_attention_score(f.ref_inputs(), c.attrs, reference::Precision::kFloat64);
  in.attention_in = stored(in.attention_in, fwd.attention_out, "attention_out");
  in.softmax_max = stored(in.softmax_max, fwd.softmax_max, "softmax_max");
  in.softmax_sum = stored(in.softmax_sum, fwd.softmax_sum, "softmax_sum");
  std::mt19937_64 dy_rng = seeded_stream(seed, kDyStream);
  in.dy = random_tensor(in.dy.desc, dy_rng, -1.0, 1.0);
}

}  // namespace cannon::tools

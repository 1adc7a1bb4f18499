// One concrete FlashAttentionScoreGrad case: the forward's attributes and the backward's host inputs, generated from
// a "fag:" problem string or loaded from a flash_attention_score_grad golden directory. It is the FAG driver's
// OpCase. A generated case is a training step's: the forward's inputs drawn as "fa:" draws them, attention_in,
// softmax_max and softmax_sum the float64 forward reference's outputs on them, and dy drawn fresh.
#pragma once

#include <cstdint>
#include <optional>

#include "cannon/flash_attention_score_grad.hpp"
#include "host/reference/flash_attention_score_grad_ref.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/fag/fag_problem.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/op_spec.hpp"

namespace cannon::tools {

struct FagInputs {
  HostData query, key, value, dy, softmax_max, softmax_sum, attention_in;  // bytes empty until generated or loaded
  std::optional<HostData> pse, drop_mask, atten_mask;
};

struct FagCase final : SpecCase<FagCase> {
  FlashAttentionScoreAttrs attrs;
  FagInputs inputs;
  std::optional<FaCase> forward;  // generated cases: the forward whose inputs and outputs generate_inputs takes

  reference::FlashAttentionScoreGradRefInputs ref_inputs() const;
};

// The FAG driver's declaration of its operator (fag_driver.cpp).
using FagSpec = OpSpec<FagCase, FagProblem, FlashAttentionScoreGradDescs, FlashAttentionScoreGradPlan,
                       FlashAttentionScoreGradTensors>;
const FagSpec& spec_of(const FagCase*);

// Shapes, dtypes and attributes without data: the forward's (describe_case of the "fa:" problem), dy and
// attention_in in attention_out's shape, softmax_max/sum in the forward's ([B,N1,S1,8], TND [T,N1,8]), each as the
// problem's own keys change it.
FagCase describe_case(const FagProblem& problem);

// Draws the forward's inputs (generate_inputs of FaCase, same seed, so "fag:X" and "fa:X" share q, k, v, masks,
// pse and drop_mask), runs the float64 forward reference for attention_in (stored in its dtype) and the statistics,
// and draws dy uniform in [-1, 1] from a stream of its own.
void generate_inputs(FagCase& c, uint64_t seed);

}  // namespace cannon::tools

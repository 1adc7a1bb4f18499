// One concrete FlashAttentionScore case: the attributes and the host inputs, however they were made
// (generated from a problem string, or loaded from a golden directory). It is the FA driver's OpCase: the device
// run, the reference and the benchmark all start from this; descriptions exist before data, so invalid cases never
// allocate.
#pragma once

#include <cstdint>
#include <optional>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "tools/drivers/fa/fa_mask.hpp"
#include "tools/drivers/fa/fa_problem.hpp"
#include "tools/drivers/fa/fa_pse.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/op_spec.hpp"

namespace cannon::tools {

struct FaInputs {
  HostData query, key, value;  // bytes empty until generated or loaded
  std::optional<HostData> pse, drop_mask, atten_mask;
};

struct FaCase final : SpecCase<FaCase> {
  FlashAttentionScoreAttrs attrs;
  FaInputs inputs;
  std::optional<MaskRecipe> mask_recipe;  // how generate_inputs fills atten_mask (generated cases only)
  std::optional<PseRecipe> pse_recipe;    // how generate_inputs fills pse (generate_pse)
  bool drop_recipe = false;               // generate_inputs fills drop_mask: bits kept at keep_prob (0.5 at 1)
  FaDims dims;                            // batch sizes, for pse and drop_mask generation

  reference::FlashAttentionScoreRefInputs ref_inputs() const;
};

// The FA driver's declaration of its operator (fa_driver.cpp).
using FaSpec = OpSpec<FaCase, FaProblem, FlashAttentionScoreDescs, FlashAttentionScorePlan, FlashAttentionScoreTensors>;
const FaSpec& spec_of(const FaCase*);

// Shapes, dtypes and attributes of a problem, without data. Any layout string is passed through to the
// operator (a bad one is the operator's to reject); unknown layouts get BSND-shaped tensors.
FaCase describe_case(const FaProblem& problem);

// Fills query/key/value with uniform random values from `seed` (std::mt19937_64 with a portable
// double conversion), rounded to the storage dtype so the reference sees exactly the stored values, and
// atten_mask, pse and drop_mask (when described) from their recipes (generate_mask, generate_pse,
// generate_drop_mask), each with a stream of its own.
void generate_inputs(FaCase& c, uint64_t seed);

// Shape of one attention tensor in a layout (T = batch * seq is not assumed for TND: pass seq = T, batch 1).
std::vector<int64_t> fa_tensor_shape(const std::string& layout, int64_t batch, int64_t seq, int64_t heads, int64_t dim);

}  // namespace cannon::tools

// One concrete FlashAttentionScore case: the attributes and the host inputs, however they were made
// (generated from a problem string, or loaded from a golden directory). The device run, the reference and
// the benchmark all start from this; descriptions exist before data, so invalid cases never allocate.
#pragma once

#include <cstdint>
#include <optional>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "tools/common/fa_mask.hpp"
#include "tools/common/fa_pse.hpp"
#include "tools/common/host_data.hpp"
#include "tools/common/problem.hpp"

namespace cannon::tools {

struct FaInputs {
  HostData query, key, value;  // bytes empty until generated or loaded
  std::optional<HostData> pse, drop_mask, atten_mask;
};

struct FaCase {
  FlashAttentionScoreAttrs attrs;
  FaInputs inputs;
  std::optional<MaskRecipe> mask_recipe;  // how generate_inputs fills atten_mask (generated cases only)
  std::optional<std::string> pse_recipe;  // the pse form generate_inputs fills (generate_pse)
  bool drop_recipe = false;               // generate_inputs fills drop_mask: bits kept at keep_prob (0.5 at 1)
  FaDims dims;                            // batch sizes, for pse and drop_mask generation

  FlashAttentionScoreDescs descs() const;
  reference::FlashAttentionScoreRefInputs ref_inputs() const;
  DType output_dtype() const { return inputs.query.desc.dtype; }
};

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

// Magnitudes of one attention problem, gathered by the float64 references while they compute: the sizes that
// set how large fp32 rounding errors on that problem can be (scores, dot products, pse, values) and how many
// terms each sum accumulates. The conformance tolerance model turns them into bounds; the references' outputs
// do not depend on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cannon::reference {

struct AttentionStats {
  // Over every score that enters a softmax (computed under the band rule and not masked by atten_mask); rows
  // without such a score (fully masked or skipped) add nothing, since their outputs are exact constants.
  double max_abs_score = 0;    // |s| after scale and pse
  double max_abs_row_max = 0;  // |m|, the row max
  double max_dot_norm = 0;  // |scale|·‖q_i‖₂·max_j ‖k_j‖₂: bounds |scale·q·k| and scales its fp32 rounding
  double max_abs_pse = 0;    // |pse| as added to the score (times |scale| for pse_type 1), generated ALiBi too
  int64_t max_row_keys = 0;  // the most scores one row's softmax sums: the accumulation length of l and P·V
  double max_abs_value = 0;  // |v| over the value tensor
  int64_t head_dim_k = 0;    // Dk: the dot product's length
  int64_t head_dim_v = 0;
  double keep_prob = 1;  // dropout's keep probability (1 without dropout): kept p are scaled by 1/keep_prob

  // Folds in one row: its largest |s|, its max m, its dot-product bound and its number of entering scores.
  void add_row(double row_max_abs_score, double row_max, double dot_norm, int64_t keys) {
    if (keys <= 0) return;
    max_abs_score = std::max(max_abs_score, row_max_abs_score);
    max_abs_row_max = std::max(max_abs_row_max, std::fabs(row_max));
    max_dot_norm = std::max(max_dot_norm, dot_norm);
    max_row_keys = std::max(max_row_keys, keys);
  }
};

}  // namespace cannon::reference

// Magnitudes of one attention problem, forward or backward, gathered by the float64 references while they compute:
// the sizes that set how large fp32 rounding errors on that problem can be (scores, dot products, pse, values,
// gradient terms) and how many terms each sum accumulates. The conformance tolerance model turns them into bounds; the
// references' outputs do not depend on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cannon::reference {

// One softmax row, over the scores that enter it (computed under the band rule and not masked by atten_mask).
// A score's "terms" are the magnitudes whose fp32 roundings make up its error besides the dot product's:
// g = |s| without a pse, g = |scale·q·k| + |pse| + |s| with one (pse times scale for pse_type 1).
struct AttentionRowStats {
  int64_t keys = 0;            // scores that enter the softmax
  double max_abs_score = 0;    // largest |s|
  double row_max = 0;          // m
  double max_abs_pse = 0;      // largest |pse| as added to the score
  double terms_at_max = 0;     // g of the score that is the row's max
  double weighted_terms2 = 0;  // Σ_j p_j·g_j² with p_j = exp(s_j - m); divided by l in add_row
  double sum = 0;              // l = Σ_j p_j
  double kept_sum = 0;         // Σ_j p_j over the keys dropout keeps (all of them without dropout)
};

struct AttentionStats {
  // Maxima over the rows that have a score entering the softmax; fully masked or skipped rows add nothing,
  // since their outputs are exact constants.
  double max_abs_score = 0;    // |s|, after scale and pse
  double max_abs_row_max = 0;  // |m|
  double max_abs_pse = 0;      // |pse| as added to the score (times |scale| for pse_type 1), ALiBi included
  double max_dot_norm = 0;  // |scale|·‖q_i‖₂·max_j ‖k_j‖₂: bounds |scale·q·k|, sets its fp32 rounding
  double max_terms_at_row_max = 0;  // g of each row's largest score: the size of the max's own rounding
  // sqrt(Σ_j w_j·g_j²) with the softmax weights w = p/l: the size of the roundings that reach l and O. A score
  // far below the max has |s| large but weight exp(s - m), so ALiBi's distant keys barely count here.
  double max_weighted_terms = 0;
  int64_t max_row_keys = 0;  // the most scores one row's softmax sums: the accumulation length of l and P·V
  double max_abs_value = 0;  // |v| over the value tensor
  // Σ_j c_j·w_j with c_j = kept_j / keep_prob: the weight dropout leaves on a row (1 without dropout)
  double max_kept_share = 1;
  int64_t head_dim_k = 0;  // Dk: the dot product's length
  int64_t head_dim_v = 0;
  double keep_prob = 1;  // dropout's keep probability (1 without dropout): kept p are scaled by 1/keep_prob
  // P is normalised (p/l) before it is rounded to the input dtype (NsaSelectedAttention), so the row's max term
  // is rounded too; FlashAttentionScore rounds the unnormalised p, whose max term is exp(0) = 1, exact.
  bool normalized_p = false;

  void add_row(const AttentionRowStats& row, double dot_norm) {
    if (row.keys <= 0 || !(row.sum > 0)) return;
    max_abs_score = std::max(max_abs_score, row.max_abs_score);
    max_abs_row_max = std::max(max_abs_row_max, std::fabs(row.row_max));
    max_abs_pse = std::max(max_abs_pse, row.max_abs_pse);
    max_dot_norm = std::max(max_dot_norm, dot_norm);
    max_terms_at_row_max = std::max(max_terms_at_row_max, row.terms_at_max);
    max_weighted_terms = std::max(max_weighted_terms, std::sqrt(row.weighted_terms2 / row.sum));
    max_row_keys = std::max(max_row_keys, row.keys);
    if (keep_prob > 0 && keep_prob < 1) max_kept_share = std::max(max_kept_share, row.kept_sum / keep_prob / row.sum);
  }
};

// Magnitudes of one backward problem for the tolerance model, gathered while computing; the gradients never depend
// on them. "Terms" of an output element are the absolute values of the products its sum adds (Pd as the matmul
// takes it: rounded in kAscend; dS by its own terms P·(|dP'| + |Dr|), which bound both |dS| and its fp32 error:
// dP' − Dr may cancel, even to an exact 0 in float64 that fp32 misses), so that the fp32 error of an element is a
// multiple of them. Scores here are those the kernel computes: not skipped by the band rule.
struct AttentionGradStats {
  int64_t head_dim_k = 0, head_dim_v = 0;
  int64_t max_row_keys = 0;     // most scores one query row computes: the length of dq's sum over keys
  int64_t max_key_rows = 0;     // most (query head, row) pairs that compute one key row: dk's and dv's sum length
  double max_abs_score = 0;     // |x| = |score| after scale and pse, over unmasked computed scores
  double max_abs_row_max = 0;   // |softmax_max| of rows with an unmasked computed score
  double max_dot_norm = 0;      // |scale|·‖q_i‖·max_j ‖k_j‖ (bounds |scale·q·k|), as the forward's stats
  double max_abs_pse = 0;       // |pse| as added to the score (times |scale| for pse_type 1), ALiBi included
  double max_dp_norm = 0;       // ‖dy_i‖·max_j ‖v_j‖: bounds |dP|, the size of its fp32 rounding
  double max_abs_dr = 0;        // |Dr| = |rowsum(dy ∘ attention_in)|
  double max_dr_terms = 0;      // Σ_d |dy·attention_in| of a row: Dr's rounding
  double max_ds_terms = 0;      // max of P·(|dP'| + |Dr|): the size of dS's cancellation and rounding
  double max_abs_ds = 0;        // |dS| (before any rounding)
  double max_abs_pd = 0;        // |P·Z/keep_prob| (before any rounding)
  double max_dq_terms = 0;      // max over dq elements of |scale|·Σ_j T_ij·|k_j|, T = max(|dS|, P·(|dP'| + |Dr|))
  double max_dk_terms = 0;      // max over dk elements of |scale|·Σ_(g,i) T_ij·|q_i|
  double max_dv_terms = 0;      // max over dv elements of Σ_(g,i) |Pd_ij|·|dy_i|
  double max_dpse_terms = 0;    // max over dpse elements of Σ P·(|dP'| + |Dr|) (times |scale| for pse_type 1)
  int64_t max_dpse_scores = 0;  // most scores one dpse element sums (over rows, and batches sharing the pse)
  double keep_prob = 1;
};

}  // namespace cannon::reference

// The reference's own statement of FlashAttentionScore's position encoding: pse_type 0-3, every pse shape form
// (full, row-broadcast, batch-shared, ALiBi-compressed, TND packed) and the in-kernel ALiBi of types 2/3 with
// q_start_idx/kv_start_idx, written straight from docs/flash_attention_score.md ("pse (position encoding)"). Like
// the mask rules it shares no code with the kernels or the tools' pse generator, so each checks the other.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/flash_attention_score_ref_layout.hpp"

namespace cannon::reference::detail {

class PseRules {
 public:
  // Reads the pse form and attributes once. Throws Error(kParamInvalid) for what the reference cannot index
  // (a shape that is no pse form, a pse_type outside 0-3, a compressed pse whose rule is not causal, types 2/3
  // with S1 != S2); the rest of the operator's validation is left to its plan.
  PseRules(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs, const FaRefProblem& p);

  // False when there is no pse: the score is then qk·scale.
  bool active() const { return form_ != Form::kNone; }
  // pse_type 1: the pse joins before the scale, s = (qk + pse)·scale; otherwise s = qk·scale + pse.
  bool add_before_scale() const { return pse_type_ == 1; }

  // pse[0, S2_b) of row i (batch-local) of (b, n1). A compressed pse is only defined for j <= i; later columns
  // get NaN, which the causal rule it requires never lets into a score.
  void row(int64_t b, int64_t n1, int64_t i, int64_t s2, double* out) const;

  // A pse tensor read element by element (pse_type 0/1), not ALiBi slopes: element_index() applies.
  bool reads_elements() const { return active() && form_ != Form::kSlopes; }
  // Offset in the pse tensor of the element that score (b, n1, i, j) reads (batch-local i, j), when
  // reads_elements(); -1 where the compressed form holds nothing (j > i). The backward sums dpse through it.
  int64_t element_index(int64_t b, int64_t n1, int64_t i, int64_t j) const;

 private:
  enum class Form { kNone, kFull, kRowBroadcast, kCompressed, kTndPackedRows, kTndPackedFull, kSlopes };

  void set_external(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs,
                    const FaRefProblem& p);
  void set_slopes(const HostTensor& pse, const FlashAttentionScoreAttrs& attrs, const FaRefProblem& p);
  double compressed(int64_t b, int64_t n1, int64_t i, int64_t j) const;
  double alibi(int64_t b, int64_t n1, int64_t i, int64_t j) const;

  Form form_ = Form::kNone;
  int64_t pse_type_ = 1;
  const double* values_ = nullptr;
  const FaRefProblem* p_ = nullptr;
  bool shared_batch_ = false;           // dim0 == 1: every batch reads batch 0
  int64_t rows_ = 0, cols_ = 0;         // rows and columns of one (batch, head) matrix of the 4-D forms
  std::vector<int64_t> packed_base_;    // TND packed forms: first element of batch b
  int64_t q_start_ = 0, kv_start_ = 0;  // types 2/3
  bool starts_only_batch0_ = false;     // TND sparse_mode 8: batches b >= 1 use 0
};

}  // namespace cannon::reference::detail

// Per-batch band rules of sparse_mode 0-8 and the atten_mask indexing, from the table in
// docs/flash_attention_score.md. Each mode is written out on its own rather than derived from the planner's
// conversion (host/schedule), so that a mistake in one does not silently repeat in the other.
#include "host/reference/flash_attention_score_ref_mask.hpp"

#include <algorithm>
#include <string>

#include "cannon/error.hpp"

namespace cannon::reference::detail {
namespace {

// "∞" of the table. Far beyond any sequence length, yet small enough that pre − D, next + D and −pre cannot
// overflow, so the user's attributes are clamped into [−kInf, kInf] too.
constexpr int64_t kInf = int64_t{1} << 40;

int64_t clamp_inf(int64_t x) { return std::clamp(x, -kInf, kInf); }

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(Status::kParamInvalid, "flash_attention_score reference: " + what);
}

}  // namespace

MaskRules::MaskRules(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs,
                     const FaRefProblem& p) {
  // Invalid-line mode may be asked for explicitly even without a mask; it then only matters for rows that
  // see no key at all, which are written as invalid rows anyway.
  invalid_line_ = attrs.inner_precise == 2 || attrs.inner_precise == 3;
  if (!inputs.atten_mask) return;  // no atten_mask: no masking at all, whatever sparse_mode says
  const HostTensor& mask = *inputs.atten_mask;
  require(mask.dtype == DType::kBool || mask.dtype == DType::kUInt8, "atten_mask must be bool or uint8");
  require(static_cast<int64_t>(mask.values.size()) == mask.numel(), "atten_mask holds the wrong number of values");
  active_ = true;
  set_rules(attrs, p);
  // Only modes 0, 1 and 5 read the elements; the compressed masks of the others are the rule itself.
  reads_tensor_ = attrs.sparse_mode == 0 || attrs.sparse_mode == 1 || attrs.sparse_mode == 5;
  if (reads_tensor_) set_tensor(mask, p);
  if (some_row_without_visible_column(p)) invalid_line_ = true;
}

void MaskRules::set_rules(const FlashAttentionScoreAttrs& attrs, const FaRefProblem& p) {
  const int64_t mode = attrs.sparse_mode;
  require(mode >= 0 && mode <= 8, "sparse_mode must be in 0..8, got " + std::to_string(mode));
  const int64_t pre_tokens = clamp_inf(attrs.pre_tokens), next_tokens = clamp_inf(attrs.next_tokens);
  if (mode == 5 || mode == 6) {
    require(static_cast<int64_t>(attrs.prefix.size()) >= p.batch,
            "sparse_mode " + std::to_string(mode) + " needs one prefix per batch");
  }
  // Modes 7 and 8 give the band to one batch: the last (7) or first (8) one with query rows.
  int64_t last_with_rows = -1, first_with_rows = -1;
  for (int64_t b = 0; b < p.batch; ++b) {
    if (p.s1[b] == 0) continue;
    if (first_with_rows < 0) first_with_rows = b;
    last_with_rows = b;
  }
  pre_.assign(p.batch, kInf);
  next_.assign(p.batch, kInf);
  prefix_.assign(p.batch, 0);
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t s1 = p.s1[b], s2 = p.s2[b], d = s2 - s1;
    switch (mode) {
      case 0:  // default: the user's band, in left-up origin
        pre_[b] = pre_tokens;
        next_[b] = next_tokens;
        break;
      case 1:  // all: the tensor alone
        break;
      case 2:  // left-up causal
        next_[b] = 0;
        break;
      case 3:  // right-down causal
        next_[b] = d;
        break;
      case 4:  // band with right-down origin
        pre_[b] = pre_tokens - d;
        next_[b] = next_tokens + d;
        break;
      case 5:  // prefix: right-down causal, plus the first prefix[b] columns of every row
      case 6:
        next_[b] = d;
        prefix_[b] = clamp_inf(attrs.prefix[b]);
        break;
      case 7:  // varlen right-down causal, with the band on the last batch
        next_[b] = b == last_with_rows ? next_tokens + d : d;
        break;
      case 8:  // varlen left-up causal, with the band on the first batch
        next_[b] = b == first_with_rows ? s2 - std::max<int64_t>(s1 - next_tokens, 0) : 0;
        break;
    }
  }
}

void MaskRules::set_tensor(const HostTensor& mask, const FaRefProblem& p) {
  const auto& shape = mask.shape;
  mask_ = mask.values.data();
  if (p.tnd) {
    // TND: one [maxS1, maxS2] mask for every batch and head, indexed with batch-local (i, j).
    require(shape.size() == 2, "a TND atten_mask must be [maxS1, maxS2]");
    const int64_t s1 = p.s1.empty() ? 0 : *std::max_element(p.s1.begin(), p.s1.end());
    const int64_t s2 = p.s2.empty() ? 0 : *std::max_element(p.s2.begin(), p.s2.end());
    require(shape[0] >= s1 && shape[1] >= s2, "the TND atten_mask is smaller than the longest batch");
    mask_row_stride_ = shape[1];
    return;
  }
  const int64_t s1 = p.s1_dense, s2 = p.s2.empty() ? 0 : p.s2[0];
  if (shape.size() == 2) {  // [S1, S2], shared by every batch and head
    require(shape[0] == s1 && shape[1] == s2, "a rank-2 atten_mask must be [S1, S2]");
    mask_row_stride_ = s2;
    return;
  }
  require(shape.size() == 4, "atten_mask must be [B|1, N1|1, S1, S2] or [S1, S2]");
  require(shape[0] == p.batch || shape[0] == 1, "atten_mask dim 0 must be B or 1");
  require(shape[1] == p.n1 || shape[1] == 1, "atten_mask dim 1 must be N1 or 1");
  require(shape[2] == s1 && shape[3] == s2, "atten_mask's last two dims must be [S1, S2]");
  mask_row_stride_ = s2;
  mask_n_stride_ = shape[1] == 1 ? 0 : s1 * s2;  // size-1 dims broadcast
  mask_b_stride_ = shape[0] == 1 ? 0 : shape[1] * s1 * s2;
}

// The automatic switch of invalid-line mode: some row of a batch with queries and keys that the rule leaves
// with no visible column. The band's visible columns are [i − pre_b, i + next_b] ∩ [0, S2_b); if that
// intersection is not empty it holds its left end clamped into [0, S2_b), and the prefix, if any, holds j = 0.
bool MaskRules::some_row_without_visible_column(const FaRefProblem& p) const {
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t s2 = p.s2[b];
    if (s2 == 0) continue;
    for (int64_t i = 0; i < p.s1[b]; ++i) {
      const int64_t left = std::clamp<int64_t>(i - pre_[b], 0, s2 - 1);
      if (!rule_visible(b, i, left) && !rule_visible(b, i, 0)) return true;
    }
  }
  return false;
}

void MaskRules::row_states(int64_t b, int64_t n1, int64_t i, int64_t s2, Score* states) const {
  for (int64_t j = 0; j < s2; ++j) {
    if (!rule_visible(b, i, j)) {
      states[j] = Score::kSkipped;
    } else {
      states[j] = tensor_masked(b, n1, i, j) ? Score::kMasked : Score::kComputed;
    }
  }
}

}  // namespace cannon::reference::detail

// pse for the FlashAttentionScore reference, element by element from docs/flash_attention_score.md ("pse
// (position encoding)"): which shape form a pse is, where element (b, n1, i, j) of each form lives (including
// Ascend's ALiBi-compressed read-back), and the ALiBi of pse_type 2/3. Values are float64; the main file decides
// where the pse joins the score (before or after the scale) and what the precision mode rounds.
#include "host/reference/flash_attention_score_ref_pse.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cannon/error.hpp"

namespace cannon::reference::detail {
namespace {

constexpr int64_t kAlibiRows = 1024;  // rows of the ALiBi-compressed pse

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(Status::kParamInvalid, "flash_attention_score reference: " + what);
}

int64_t max_of(const std::vector<int64_t>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

bool all_equal_lengths(const FaRefProblem& p) {
  for (int64_t b = 0; b < p.batch; ++b) {
    if (p.s1[b] != p.s2[b]) return false;
  }
  return true;
}

// The rules that skip every j > i, which the compressed form needs: a mask with sparse_mode 2, 3 (S1 == S2 is
// checked separately) or 0 with pre_tokens >= S1 and next_tokens == 0.
bool causal_rule(const FlashAttentionScoreRefInputs& in, const FlashAttentionScoreAttrs& a, int64_t s1_max) {
  if (!in.atten_mask) return false;
  if (a.sparse_mode == 2 || a.sparse_mode == 3) return true;
  return a.sparse_mode == 0 && a.pre_tokens >= s1_max && a.next_tokens == 0;
}

}  // namespace

PseRules::PseRules(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs,
                   const FaRefProblem& p)
    : pse_type_(attrs.pse_type), p_(&p) {
  require(attrs.pse_type >= 0 && attrs.pse_type <= 3, "pse_type must be 0, 1, 2 or 3");
  if (!inputs.pse) {
    require(attrs.pse_type == 1, "pse_type " + std::to_string(attrs.pse_type) + " needs a pse");
    return;
  }
  const HostTensor& pse = *inputs.pse;
  require(static_cast<int64_t>(pse.values.size()) == pse.numel(), "pse holds the wrong number of values");
  values_ = pse.values.data();
  if (p.tnd) {
    require(attrs.sparse_mode != 7, "no pse with sparse_mode 7");
    for (int64_t b = 0; b < p.batch; ++b) require(p.s1[b] > 0 && p.s2[b] > 0, "no pse with a zero-length batch");
  }
  if (attrs.pse_type >= 2) {
    set_slopes(pse, attrs, p);
  } else {
    set_external(inputs, attrs, p);
  }
  if (p.tnd && attrs.sparse_mode == 8 && attrs.pse_type < 2) {
    require(all_equal_lengths(p), "a pse with sparse_mode 8 needs S1_b == S2_b in every batch");
  }
}

void PseRules::set_external(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs,
                            const FaRefProblem& p) {
  const HostTensor& pse = *inputs.pse;
  const auto& shape = pse.shape;
  const int64_t s1_max = max_of(p.s1), s2_max = max_of(p.s2);
  if (p.tnd) {
    // Packed forms first, by element count, BN1S before BNSS (the VarLen tiling's order).
    int64_t rows_count = 0, full_count = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      rows_count += p.n1 * p.s2[b];
      full_count += p.n1 * p.s1[b] * p.s2[b];
    }
    const bool flat = !shape.empty() && shape[0] == pse.numel();
    if (flat && (shape[0] == rows_count || shape[0] == full_count)) {
      form_ = shape[0] == rows_count ? Form::kTndPackedRows : Form::kTndPackedFull;
      packed_base_.assign(p.batch, 0);
      int64_t acc = 0;
      for (int64_t b = 0; b < p.batch; ++b) {
        packed_base_[b] = acc;
        acc += p.n1 * p.s2[b] * (form_ == Form::kTndPackedRows ? 1 : p.s1[b]);
      }
      return;
    }
    require(shape.size() == 4 && (shape[0] == 1 || shape[0] == p.batch) && shape[1] == p.n1 && shape[2] == kAlibiRows &&
                shape[3] == s2_max,
            "a TND pse must be [N1*sum(S2_b)], [N1*sum(S1_b*S2_b)] or [B|1, N1, 1024, max S2_b]");
    form_ = Form::kCompressed;
    require(all_equal_lengths(p), "an ALiBi-compressed TND pse needs S1_b == S2_b in every batch");
  } else {
    require(shape.size() == 4 && (shape[0] == 1 || shape[0] == p.batch) && shape[1] == p.n1 && shape[3] == s2_max,
            "a pse must be [B|1, N1, S1|1|1024, S2]");
    if (shape[2] == s1_max) {
      form_ = Form::kFull;
    } else if (shape[2] == 1) {
      form_ = Form::kRowBroadcast;
    } else {
      require(shape[2] == kAlibiRows && s1_max > kAlibiRows, "a pse must be [B|1, N1, S1|1|1024, S2]");
      require(s1_max == s2_max, "an ALiBi-compressed pse needs S1 == S2");
      form_ = Form::kCompressed;
    }
  }
  if (form_ == Form::kCompressed) {
    require(causal_rule(inputs, attrs, s1_max),
            "an ALiBi-compressed pse needs a causal rule: an atten_mask with sparse_mode 2, 3, or 0 with "
            "pre_tokens >= S1 and next_tokens == 0");
  }
  shared_batch_ = shape[0] == 1;
  rows_ = shape[2];
  cols_ = shape[3];
}

void PseRules::set_slopes(const HostTensor& pse, const FlashAttentionScoreAttrs& attrs, const FaRefProblem& p) {
  const bool per_batch = pse.shape.size() == 2 && pse.shape[0] == p.batch && pse.shape[1] == p.n1;
  require(per_batch || (pse.shape.size() == 1 && pse.shape[0] == p.n1),
          "the slopes of pse_type 2/3 must be [B, N1] or [N1]");
  form_ = Form::kSlopes;
  shared_batch_ = !per_batch;
  // Element [0] of each list, and only when both are given (Ascend's SetQKVStartIdx stores neither otherwise).
  if (!attrs.q_start_idx.empty() && !attrs.kv_start_idx.empty()) {
    q_start_ = attrs.q_start_idx[0];
    kv_start_ = attrs.kv_start_idx[0];
  }
  if (!p.tnd) {
    require(p.s1_dense == p.s2[0], "pse_type 2/3 needs S1 == S2");
    return;
  }
  starts_only_batch0_ = attrs.sparse_mode == 8;
  for (int64_t b = 0; b < p.batch; ++b) {
    if (starts_only_batch0_ && b == 0) {
      require(p.s1[0] + q_start_ - p.s2[0] - kv_start_ == 0,
              "pse_type 2/3 with sparse_mode 8 needs S1_0 + q_start_idx - S2_0 - kv_start_idx == 0");
    } else {
      require(p.s1[b] == p.s2[b], "pse_type 2/3 needs S1_b == S2_b in every batch");
    }
  }
}

double PseRules::compressed(int64_t b, int64_t n1, int64_t i, int64_t j) const {
  const int64_t e = element_index(b, n1, i, j);
  return e < 0 ? std::numeric_limits<double>::quiet_NaN() : values_[e];
}

// The dense forms by their shapes. The compressed form is Ascend's PseAlibiComputeOffset, per element. Non-TND:
// rows i >= S1 - 1024 are stored as they are, earlier rows are found on their diagonal in row i % 1024. TND: the
// diagonal e = i - j - (S2max - 1024), read at its first element, (max(e, 0), max(-e, 0)).
int64_t PseRules::element_index(int64_t b, int64_t n1, int64_t i, int64_t j) const {
  const int64_t bp = shared_batch_ ? 0 : b;
  switch (form_) {
    case Form::kFull:
      return ((bp * p_->n1 + n1) * rows_ + i) * cols_ + j;
    case Form::kRowBroadcast:
      return (bp * p_->n1 + n1) * cols_ + j;
    case Form::kTndPackedRows:
      return packed_base_[b] + n1 * p_->s2[b] + j;
    case Form::kTndPackedFull:
      return packed_base_[b] + (n1 * p_->s1[b] + i) * p_->s2[b] + j;
    case Form::kCompressed:
      break;
    default:
      return -1;
  }
  if (j > i) return -1;
  int64_t m = 0, k = 0;
  if (!p_->tnd) {
    const int64_t threshold = p_->s1_dense - kAlibiRows;
    if (i >= threshold) {
      m = i - threshold;
      k = j;
    } else {
      m = i % kAlibiRows;
      k = cols_ - (i - j) - (kAlibiRows - m);
    }
  } else {
    const int64_t e = i - j - (cols_ - kAlibiRows);
    m = std::max<int64_t>(e, 0);
    k = std::max<int64_t>(-e, 0);
  }
  return ((bp * p_->n1 + n1) * rows_ + m) * cols_ + k;
}

// pse_type 2: -slope·|d|, type 3: -slope·sqrt(|d|), d = (j + kv_start) - (i + q_start), batch-local i, j.
double PseRules::alibi(int64_t b, int64_t n1, int64_t i, int64_t j) const {
  const bool starts = !(starts_only_batch0_ && b != 0);
  const int64_t d = (j + (starts ? kv_start_ : 0)) - (i + (starts ? q_start_ : 0));
  const double distance = std::fabs(static_cast<double>(d));
  const double slope = values_[shared_batch_ ? n1 : b * p_->n1 + n1];
  return -slope * (pse_type_ == 3 ? std::sqrt(distance) : distance);
}

void PseRules::row(int64_t b, int64_t n1, int64_t i, int64_t s2, double* out) const {
  switch (form_) {
    case Form::kNone:
      std::fill(out, out + s2, 0.0);
      return;
    case Form::kFull:
    case Form::kRowBroadcast:
    case Form::kTndPackedRows:
    case Form::kTndPackedFull:
      std::copy_n(values_ + element_index(b, n1, i, 0), s2, out);  // a row is contiguous in these forms
      return;
    case Form::kCompressed:
      for (int64_t j = 0; j < s2; ++j) out[j] = compressed(b, n1, i, j);
      return;
    case Form::kSlopes:
      for (int64_t j = 0; j < s2; ++j) out[j] = alibi(b, n1, i, j);
      return;
  }
}

}  // namespace cannon::reference::detail

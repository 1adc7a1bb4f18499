// plan_masks(): turns (sparse_mode, pre/next_tokens, prefix, per-batch lengths) into one band rule per batch,
// rejects what Ascend's tiling rejects, and decides invalid-line mode. Every rejection cites the Ascend function
// it mirrors, all in cannmirror/ops-transformer @ 05c401f9ddeb,
// attention/flash_attention_score/op_host/arch32/flash_attention_score_tiling_general.cpp ("tiling_general").
#include "host/schedule/band_rule.hpp"

#include <algorithm>

#include "host/runtime/check.hpp"

namespace cannon::schedule {
namespace {

enum Mode : int64_t {
  kDefault = 0,
  kAll = 1,
  kLeftUpCausal = 2,
  kRightDownCausal = 3,
  kBand = 4,
  kPrefix = 5,
  kPrefixCompress = 6,
  kRightDownCausalBand = 7,
  kBandLeftUpCausal = 8,
};

// Attributes are int64 and may be anything; clamping to ±kUnbounded keeps every sum below exact without
// changing which elements are visible (sequence lengths are far below 2^60).
int64_t clamp_tokens(int64_t v) { return std::clamp(v, -kUnbounded, kUnbounded); }

// True iff some row of an s1 x s2 batch has no visible column. Row i sees [max(0, i - pre), min(s2 - 1, i + next)]
// plus [0, prefix), so with no prefix the worst rows are row 0 (next) and row s1 - 1 (pre).
bool has_empty_row(const BandRule& r, int64_t s1, int64_t s2) {
  if (s1 <= 0) return false;
  if (s2 <= 0) return true;
  if (r.prefix > 0) return false;
  return r.pre + r.next < 0 || r.next < 0 || s1 - r.pre > s2;
}

bool nonempty(int64_t s1, int64_t s2) { return s1 > 0 && s2 > 0; }

// Modes 7 and 8 band one batch: the last (7) or first (8) with S1_b != 0; Ascend falls back to the last/first
// batch when every S1_b is 0 (tiling_general, FlashAttentionScoreTilingBase::AnalyzeLayout, TND branch:
// firstValidIndex / lastValidIndex).
size_t band_batch(const std::vector<int64_t>& s1, bool last) {
  const size_t n = s1.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t b = last ? n - 1 - k : k;
    if (s1[b] != 0) return b;
  }
  return last ? n - 1 : 0;
}

void check_layout_and_prefix(const MaskAttrs& a, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2) {
  const int64_t mode = a.sparse_mode;
  // tiling_general FlashAttentionScoreTilingBase::SparseModeProcess: "Not support sparse mode" above 6 (non-TND).
  require(a.varlen || (mode != kRightDownCausalBand && mode != kBandLeftUpCausal),
          "sparse_mode {} is only supported with input_layout TND (Ascend rejects it for other layouts)", mode);
  // tiling_general FlashAttentionVarLenScoreTiling::VarLenSparseModeProcess: "Var len not support sparse mode 5".
  require(!(a.varlen && mode == kPrefix), "sparse_mode 5 is not supported with input_layout TND; use sparse_mode 6");
  if (mode != kPrefix && mode != kPrefixCompress) return;
  // tiling_general GetPrefixNList / VarLenGetPrefixNList: prefix must exist with exactly B entries. For mode 5
  // Ascend only warns and falls back to sparse_mode 1; cannon rejects (docs/flash_attention_score.md).
  require(a.prefix.size() == s1.size(), "prefix must have B = {} entries for sparse_mode {}, got {}", s1.size(), mode,
          a.prefix.size());
  for (size_t b = 0; b < s1.size(); ++b) {
    // Mode 6: GetPrefixNList / VarLenGetPrefixNList accept [max(0, S2 - S1), S2] per batch. Mode 5: a prefix
    // below S2 - S1 adds nothing to the causal part, so cannon accepts [0, S2] (Ascend falls back to mode 1).
    const int64_t lo = mode == kPrefixCompress ? std::max<int64_t>(0, s2[b] - s1[b]) : 0;
    require(a.prefix[b] >= lo && a.prefix[b] <= s2[b], "prefix[{}] = {} must be in [{}, {}] for sparse_mode {}", b,
            a.prefix[b], lo, s2[b], mode);
  }
}

// Modes 0 and 4 outside TND, on the band in left-up origin (mode 4 already converted): tiling_general
// FlashAttentionScoreTilingBase::SparseBandModeCheck rejects an empty band and a band that misses the matrix.
void check_band_dense(int64_t mode, const BandRule& r, int64_t s1, int64_t s2) {
  require(r.pre + r.next >= 0,
          "pre_tokens and next_tokens leave an empty band for sparse_mode {} (pre {} + next {} < 0 in left-up "
          "origin)",
          mode, r.pre, r.next);
  if (!nonempty(s1, s2)) return;
  require(r.pre >= 0 || -r.pre < s2, "pre_tokens puts the sparse_mode {} band right of every key (pre {}, S2 {})", mode,
          r.pre, s2);
  require(r.next >= 0 || -r.next < s1, "next_tokens puts the sparse_mode {} band below every query (next {}, S1 {})",
          mode, r.next, s1);
}

// Mode 0 in TND: tiling_general FlashAttentionVarLenScoreTiling::SparseNoMaskModeCheck (band branch only; the
// causal and all-visible shortcuts of its GetSparseInfo are not checked).
void check_default_varlen(const MaskAttrs& a, int64_t pre, int64_t next, const std::vector<int64_t>& s1,
                          const std::vector<int64_t>& s2) {
  const int64_t max_s1 = s1.empty() ? 0 : *std::max_element(s1.begin(), s1.end());
  const int64_t max_s2 = s2.empty() ? 0 : *std::max_element(s2.begin(), s2.end());
  if (pre >= max_s1 && (next == 0 || next >= max_s2)) return;
  require(next >= 0, "next_tokens = {} < 0 leaves row 0 with no key in sparse_mode 0 with TND (has invalid row)",
          a.next_tokens);
  for (size_t b = 0; b < s1.size(); ++b) {
    require(!nonempty(s1[b], s2[b]) || s2[b] + pre >= s1[b],
            "pre_tokens = {} leaves batch {} (S1 {}, S2 {}) with a row with no key in sparse_mode 0 with TND (has "
            "invalid row)",
            a.pre_tokens, b, s1[b], s2[b]);
  }
  require(pre + next >= 0, "pre_tokens + next_tokens = {} < 0 leaves an empty band in sparse_mode 0", pre + next);
}

// Modes 3, 4, 7 and 8 in TND: tiling_general FlashAttentionVarLenScoreTiling::CheckPretokenAndNexttoken.
// pre/next are the raw attributes here (right-down origin for 4 and 7).
void check_varlen_mode(int64_t mode, int64_t pre, int64_t next, const std::vector<int64_t>& s1,
                       const std::vector<int64_t>& s2) {
  const size_t n = s1.size();
  if (mode == kRightDownCausal) {
    for (size_t b = 0; b < n; ++b) {  // Ascend checks every batch here, empty ones included
      require(s1[b] <= s2[b], "sparse_mode 3 with TND: batch {} has S1 {} > S2 {} (has invalid row)", b, s1[b], s2[b]);
    }
  } else if (mode == kBand) {
    require(pre >= 0, "pre_tokens = {} < 0 leaves the last row with no key in sparse_mode 4 with TND", pre);
    require(pre + next >= 0, "pre_tokens + next_tokens = {} < 0 leaves an empty band in sparse_mode 4", pre + next);
    for (size_t b = 0; b < n; ++b) {
      require(!nonempty(s1[b], s2[b]) || s1[b] - next <= s2[b],
              "next_tokens = {} leaves batch {} (S1 {}, S2 {}) with a row with no key in sparse_mode 4 with TND (has "
              "invalid row)",
              next, b, s1[b], s2[b]);
    }
  } else if (mode == kRightDownCausalBand && n > 0) {
    const size_t band = band_batch(s1, true);
    require(pre >= s2[band] && next <= 0,
            "sparse_mode 7 needs pre_tokens >= S2 of the last non-empty batch ({}) and next_tokens <= 0; got "
            "pre_tokens {}, next_tokens {}",
            s2[band], pre, next);
    for (size_t b = 0; b < n; ++b) {
      if (!nonempty(s1[b], s2[b])) continue;
      require(s1[b] <= s2[b], "sparse_mode 7: batch {} has S1 {} > S2 {} (has invalid row)", b, s1[b], s2[b]);
      require(b != band || s1[b] - next <= s2[b],
              "sparse_mode 7: next_tokens = {} < S1 - S2 = {} of the band batch {} (has invalid row)", next,
              s1[b] - s2[b], b);
    }
  } else if (mode == kBandLeftUpCausal && n > 0) {
    const size_t band = band_batch(s1, false);  // only the band batch is checked; Ascend does not skip it if S2 = 0
    require(s1[band] - next <= s2[band],
            "sparse_mode 8: next_tokens = {} < S1 - S2 = {} of the band batch {} (has invalid row)", next,
            s1[band] - s2[band], band);
    require(pre >= s2[band], "sparse_mode 8 needs pre_tokens >= S2 of the first non-empty batch ({}); got {}", s2[band],
            pre);
  }
}

// The rule of batch b, straight from the docs table. pre/next are clamped attributes.
BandRule rule_for(int64_t mode, int64_t pre, int64_t next, int64_t s1, int64_t s2, int64_t prefix, bool is_band) {
  const int64_t d = s2 - s1;
  // Unbounded by default: mode 1 (Ascend's PretokenAndNexttokenAdjustment resets pre/next to INT32_MAX for 1, 5
  // and 6, and to S1 or S2 for the causal modes, i.e. never binding) and the pre side of modes 2, 3 and 5-8 (7 and
  // 8 require pre_tokens >= the band batch's S2, which makes it non-binding too).
  BandRule r;
  switch (mode) {
    case kDefault:
      r.pre = pre;
      r.next = next;
      break;
    case kLeftUpCausal:
      r.next = 0;
      break;
    case kRightDownCausal:
      r.next = d;
      break;
    case kBand:  // right-down origin -> left-up, as Ascend's PretokenAndNexttokenAdjustment converts
      r.pre = pre - d;
      r.next = next + d;
      break;
    case kPrefix:
    case kPrefixCompress:
      r.next = d;
      r.prefix = prefix;
      break;
    case kRightDownCausalBand:
      r.next = is_band ? next + d : d;
      break;
    case kBandLeftUpCausal:  // the kernel's transNext = S2 - max(S1 - next, 0) for the band batch
      r.next = is_band ? s2 - std::max<int64_t>(s1 - next, 0) : 0;
      break;
    default:
      break;
  }
  return r;
}

}  // namespace

MaskPlan plan_masks(const MaskAttrs& attrs, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2) {
  require(s1.size() == s2.size(), "per-batch S1 ({} batches) and S2 ({} batches) lengths differ", s1.size(), s2.size());
  MaskPlan plan;
  plan.rules.assign(s1.size(), BandRule{});
  plan.invalid_line = attrs.inner_precise == 2 || attrs.inner_precise == 3;
  // No atten_mask: Ascend's GetSparseInfo returns before reading sparse_mode, pre/next or prefix.
  if (!attrs.has_atten_mask) return plan;

  const int64_t mode = attrs.sparse_mode;
  const int64_t pre = clamp_tokens(attrs.pre_tokens);
  const int64_t next = clamp_tokens(attrs.next_tokens);
  plan.masked = true;
  plan.reads_mask_tensor = mode == kDefault || mode == kAll || mode == kPrefix;
  check_layout_and_prefix(attrs, s1, s2);

  const bool banded = mode == kRightDownCausalBand || mode == kBandLeftUpCausal;
  const size_t band = banded && !s1.empty() ? band_batch(s1, mode == kRightDownCausalBand) : s1.size();
  for (size_t b = 0; b < s1.size(); ++b) {
    const int64_t prefix = (mode == kPrefix || mode == kPrefixCompress) ? attrs.prefix[b] : 0;
    plan.rules[b] = rule_for(mode, pre, next, s1[b], s2[b], prefix, b == band);
  }

  if (attrs.varlen) {
    if (mode == kDefault) check_default_varlen(attrs, pre, next, s1, s2);
    check_varlen_mode(mode, pre, next, s1, s2);
  } else if (mode == kDefault || mode == kBand) {
    // Mode 0's causal and all-visible shortcuts skip the band check (tiling_general GetSparseInfo); neither can
    // fail it anyway. Non-TND batches share S1 and S2, so checking each batch checks the one shape.
    for (size_t b = 0; b < s1.size(); ++b) check_band_dense(mode, plan.rules[b], s1[b], s2[b]);
  }

  // Automatic invalid-line mode: a row of a batch with keys and queries has no rule-visible key. (Ascend derives
  // the same from its left-up pre/next, EnableBandInvalidLineImplMode, and from prefix == 0, GetPrefixNList.)
  for (size_t b = 0; b < s1.size() && !plan.invalid_line; ++b) {
    plan.invalid_line = nonempty(s1[b], s2[b]) && has_empty_row(plan.rules[b], s1[b], s2[b]);
  }
  return plan;
}

}  // namespace cannon::schedule

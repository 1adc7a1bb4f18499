// Sparse modes as per-batch band rules (DESIGN principle 6): each sparse_mode maps to, per batch, a band
// `-pre <= j - i <= next` plus `j < prefix` columns (docs/flash_attention_score.md has the table), and the
// mode's Ascend rejections and invalid-line switch are decided here. Pure C++: no OpenCL.
#pragma once

#include <cstdint>
#include <vector>

namespace cannon::schedule {

// "Unbounded" pre/next: far beyond any sequence length, yet safe to add two of them to an int64.
constexpr int64_t kUnbounded = int64_t{1} << 60;

struct BandRule {
  int64_t pre = kUnbounded;
  int64_t next = kUnbounded;
  int64_t prefix = 0;  // columns j < prefix are visible whatever the band says

  // Element rule: batch-local query row i, key column j.
  bool visible(int64_t i, int64_t j) const { return (j - i <= next && i - j <= pre) || j < prefix; }
};

// The attributes that decide masking, as the operator received them.
struct MaskAttrs {
  bool has_atten_mask = false;
  bool varlen = false;  // input_layout TND
  int64_t sparse_mode = 0;
  int64_t pre_tokens = 2147483647;
  int64_t next_tokens = 2147483647;
  int64_t inner_precise = 0;
  std::vector<int64_t> prefix;
};

struct MaskPlan {
  bool masked = false;             // false: no atten_mask, so no masking at all (Ascend ignores the mode)
  bool reads_mask_tensor = false;  // modes 0, 1 and 5 read atten_mask elements; the others use the rule only
  bool invalid_line = false;       // invalid-line mode, explicit (inner_precise 2/3) or automatic
  std::vector<BandRule> rules;     // one per batch; unbounded when !masked
};

// Per-batch rules for batches of s1[b] query rows and s2[b] key rows. Throws Error(kParamInvalid) naming the
// attribute for everything Ascend rejects (see the docs' list).
MaskPlan plan_masks(const MaskAttrs& attrs, const std::vector<int64_t>& s1, const std::vector<int64_t>& s2);

}  // namespace cannon::schedule

// The GQA decode fold (flash_attention_score_problem.hpp): one query row per head and G heads per K/V head become G
// rows of N2 heads, so the kernel streams each K/V head once per group instead of once per query head, and the
// lanes of a work entry hold G rows instead of one. Each row is still computed by one lane over the same keys in
// the same order; only the split-KV chunking (group 1 instead of G) may differ from an unfolded plan's.
#include <algorithm>

#include "host/ops/flash_attention_score_problem.hpp"
#include "host/schedule/tile_plan.hpp"

namespace cannon {

FaProblem fold_gqa_decode(FaProblem p) {
  const int64_t g = p.group();
  if (g <= 1 || p.layout == Layout::kTND || p.s1 != 1 || p.pse.mode != PseMode::kNone ||
      p.dropout.mode != DropoutMode::kNone || p.masks.reads_mask_tensor) {
    return p;
  }
  // Row 0 sees every key unfolded; rows 1..G-1 must see the same keys once they stand in for the other heads.
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t s2 = p.seqs.kv_len[b];
    if (s2 > 0 && schedule::classify_tile(p.masks.rules[b], 0, g, 0, s2) != schedule::TileClass::kFull) return p;
  }
  p.fold = g;
  p.n1 = p.n2;
  p.s1 = g;
  std::fill(p.seqs.q_len.begin(), p.seqs.q_len.end(), g);
  return p;
}

}  // namespace cannon

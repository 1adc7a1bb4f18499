// Dropout for FlashAttentionScore on the host (docs/flash_attention_score.md, "Dropout"): keep_prob and
// drop_mask rules, the generator's key/counter/threshold, and where each batch starts in the explicit mask's
// element numbering or in the generator's padded stream.
#include <cmath>

#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/philox.hpp"

namespace cannon {

DropoutPlan plan_dropout(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a, const FaProblem& p) {
  DropoutPlan plan;
  require(std::isfinite(a.keep_prob) && a.keep_prob > 0.0 && a.keep_prob <= 1.0, "keep_prob: {} must be in (0, 1]",
          a.keep_prob);
  require(a.offset >= 0, "offset: {} must be >= 0 (the generator's counter start)", a.offset);
  // numels and the generator's padded stream index go to the kernels as 64-bit counters; both are checked here so
  // the per-batch bases below cannot wrap either (the padded count bounds every partial sum).
  int64_t padded = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t rows = checked_mul(p.n1, p.seqs.q_len[b], "dropout: element count N1·S1");
    plan.numels = checked_add(plan.numels, checked_mul(rows, p.seqs.kv_len[b], "dropout: element count N1·S1·S2"),
                              "dropout: element count N1·ΣS1·S2");
    padded = checked_add(padded, checked_mul(rows, (p.seqs.kv_len[b] + 15) / 16 * 16, "dropout: stream length"),
                         "dropout: stream length N1·ΣS1·S2 (rows padded to 16)");
  }
  // The kernels' Philox counter is ceil(offset / 16) + stream index / 16: both terms are below 2^59 now, so their
  // 64-bit sum cannot carry.
  plan.batch_base.assign(static_cast<std::size_t>(p.batch), 0);
  // keep_prob == 1 is no dropout, and a given drop_mask is ignored (the tiling's hasDropOut = keepProb < 1).
  if (a.keep_prob == 1.0) return plan;
  plan.keep_scale = static_cast<float>(1.0 / static_cast<double>(static_cast<float>(a.keep_prob)));
  int64_t base = 0;
  if (d.drop_mask) {
    const TensorDesc& m = *d.drop_mask;
    require(m.dtype == DType::kUInt8 && m.shape.size() == 1,
            "drop_mask: must be a 1-D uint8 tensor of packed bits, got {}", m.to_string());
    require(m.shape[0] >= (plan.numels + 7) / 8, "drop_mask: {} bytes hold fewer than numels = {} bits (need {})",
            m.shape[0], plan.numels, (plan.numels + 7) / 8);
    plan.mode = DropoutMode::kExplicit;
    for (int64_t b = 0; b < p.batch; ++b) {
      plan.batch_base[b] = base;
      base += p.n1 * p.seqs.q_len[b] * p.seqs.kv_len[b];
    }
    return plan;
  }
  const philox::DropoutGenerator gen(a.seed, a.offset, a.keep_prob);
  plan.mode = DropoutMode::kGenerator;
  plan.key_lo = gen.key[0];
  plan.key_hi = gen.key[1];
  plan.offset_groups = gen.offset_groups;
  plan.threshold = gen.threshold;
  // The generator's stream pads each row to a multiple of 16 (ComputeDropOffset).
  for (int64_t b = 0; b < p.batch; ++b) {
    plan.batch_base[b] = base;
    base += p.n1 * p.seqs.q_len[b] * ((p.seqs.kv_len[b] + 15) / 16 * 16);
  }
  return plan;
}

}  // namespace cannon

// Float64 reference of FlashAttentionScoreGrad, the backward pass of FlashAttentionScore, written straight from
// the kernel order in reference/ascend-semantics-backward.md §3.1 and its recipe §8. Like the forward reference it
// shares no code with the planner, the layout code or the kernels: it reuses only the forward reference's own
// statements of layouts, masks, pse and dropout (flash_attention_score_ref_*.hpp), so the device backward is
// checked against an independent reading of the same rules.
#pragma once

#include <cstdint>
#include <optional>

#include "cannon/flash_attention_score.hpp"
#include "host/reference/attention_stats.hpp"
#include "host/reference/host_tensor.hpp"

namespace cannon::reference {

enum class GradPrecision {
  // float64 everywhere, except the dropped P (fed to dV's matmul) and dS (fed to dQ's and dK's) rounded to the
  // input dtype with Ascend's CAST_ROUND (ties away from zero), as the kernel does (§3.1, §4.1). fp32 inputs
  // round nothing.
  kAscend,
  // float64 everywhere, no rounding: the analytic gradient of the forward's float64 (unrounded-P) output.
  kExact,
};

// The backward's inputs, as the operator takes them: the forward's inputs, dy (the gradient of attention_out,
// shape of attention_out), attention_in (the forward's attention_out) and the forward's softmax_max/softmax_sum in
// the forward's shape and memory order (lane 0 of each ×8 record is read). A dropout mask is the forward's:
// drop_mask, or keep_prob < 1 with the forward's seed/offset (regenerated element by element).
struct FlashAttentionScoreGradRefInputs {
  HostTensor query, key, value, dy, attention_in, softmax_max, softmax_sum;
  std::optional<HostTensor> pse, drop_mask, atten_mask;
};

struct FlashAttentionScoreGradRefOutputs {
  HostTensor dq, dk, dv;           // float64 values in the shapes of query, key and value (not rounded to the dtype)
  std::optional<HostTensor> dpse;  // shape of pse, for pse_type 0/1 with a pse; absent otherwise
  AttentionGradStats stats;
};

// Inputs are assumed valid (the tools validate through the operator's plan first); shapes the reference cannot
// index throw Error(kParamInvalid). Per (b, n1), kv head n2 = n1 / G, over the scores the band rule computes:
//   Dr = rowsum(dy ∘ attention_in); x = score with pse (type 1: (qk + pse)·scale, else qk·scale + pse), −FLT_MAX
//   where atten_mask masks; P = exp(x − softmax_max) / softmax_sum; Pd = P·Z/keep_prob, dP' = (dy·vᵀ)·Z/keep_prob
//   (Z the keep flags; both without dropout are P and dy·vᵀ); dS = P ∘ (dP' − Dr);
//   dq = scale·Σ dS·k, dk = scale·Σ_g dSᵀ·q, dv = Σ_g Pdᵀ·dy, dpse = Σ dS over the scores reading each pse element
//   (times scale for pse_type 1). Band-skipped scores contribute nothing (P = 0).
// Like the kernel, masked scores are not special beyond x = −FLT_MAX: in a partially masked row their P is 0, but
// in a fully masked row the forward's softmax_max/sum decide: with invalid-line mode (max −FLT_MAX, sum FLT_MAX)
// P ≈ 2.9e−39 and every gradient of the row is ≈ 0; without it (innerPrecise 0, sum = number of computed columns)
// P = 1/n gives the true dv, but dS ≠ 0 also reaches dq, dk and dpse although the masked scores are constants
// (§4.3). dpse is cannon's own output (Ascend never writes it, §3.6); it sums the same dS the kernel feeds dq/dk
// (unrounded).
FlashAttentionScoreGradRefOutputs flash_attention_score_grad(const FlashAttentionScoreGradRefInputs& inputs,
                                                             const FlashAttentionScoreAttrs& attrs,
                                                             GradPrecision precision = GradPrecision::kAscend);

}  // namespace cannon::reference

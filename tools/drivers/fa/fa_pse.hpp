// The pse input of generated FlashAttentionScore cases. Problem strings name a pse form (a tensor shape of
// pse_type 0/1, Ascend's ALiBi-compressed tensor, or the fp32 slopes of types 2/3); this gives its shape and
// contents. Random forms test every index path; the ALiBi forms hold real ALiBi values, because the
// compressed tensor is only meaningful when the full pse is Toeplitz (Ascend rebuilds rows from it).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tools/harness/host_data.hpp"

namespace cannon::tools {

// Batch sizes of a case, as pse and drop_mask generation need them: non-TND B x (S1, S2), or TND's
// per-batch lengths (q_lens/kv_lens, from the cumulative ends; a decreasing end is a batch of length 0).
struct FaDims {
  int64_t b = 1, n1 = 1, s1 = 0, s2 = 0;
  bool tnd = false;
  std::vector<int64_t> q_lens, kv_lens;  // TND only

  int64_t max_s1() const;
  int64_t max_s2() const;
  // Elements of the score tensor: B·N1·S1·S2, or N1·Σ S1_b·S2_b in TND (drop_mask's numels); Error(kParamInvalid)
  // when it overflows int64.
  int64_t score_numel() const;
};

// Per-batch lengths from TND cumulative ends.
std::vector<int64_t> batch_lengths(const std::vector<int64_t>& cumulative);

// Rows of Ascend's ALiBi-compressed pse ([B|1, N1, 1024, S2]).
constexpr int64_t kAlibiRows = 1024;

// The shape of a pse form (kind as in problem strings, not "none"):
//   bnss [B,N1,S1,S2]  1nss [1,N1,S1,S2]  bn1s [B,N1,1,S2]  1n1s [1,N1,1,S2]  alibi [B,N1,1024,S2]
//   alibi1 [1,N1,1024,S2]
//   slopes_bn [B,N1]  slopes_n [N1]
// TND (docs/flash_attention_score.md, "pse_type 0 and 1"): bnss is packed [Σ_b N1·S1_b·S2_b] (BNSS per batch),
// bn1s [Σ_b N1·S2_b]; the others with S1 = maxS1, S2 = maxS2 (1nss and 1n1s are not TND forms: negative tests).
std::vector<int64_t> pse_shape(const std::string& kind, const FaDims& dims);
bool pse_is_slopes(const std::string& kind);

// The ALiBi slope of (batch b, head n): 2^(-8(n+1)/N1), divided by (b+1) so that a kernel reading another
// batch's slopes or rows fails.
double alibi_slope(int64_t b, int64_t n, int64_t heads);

// How a problem string asks for the pse contents (the shape and dtype are in the pse's TensorDesc).
struct PseRecipe {
  std::string kind;            // as in problem strings, not "none"
  bool normal_slopes = false;  // slopes=normal: slopes drawn from N(0, 1) instead of alibi_slope
};

// The pse of `desc` (any dtype, values rounded to it): uniform random in [-1, 1] for bnss/1nss/bn1s/1n1s; for
// alibi/alibi1 the last 1024 rows of the full ALiBi pse slope·−|i − j − (S1 − S2)| (Huawei's golden
// generate_pse), i.e. row r, column j holds −slope·|S2 − 1024 + r − j| (TND: S2 = maxS2). Slopes (of slopes_bn,
// slopes_n and the alibi forms) come from alibi_slope, or with normal_slopes one N(0, 1) draw each, rounded to
// float, in (b, n) order. Unknown kinds (negative cases) get random values.
HostData generate_pse(const PseRecipe& recipe, const TensorDesc& desc, const FaDims& dims, std::mt19937_64& rng);

}  // namespace cannon::tools

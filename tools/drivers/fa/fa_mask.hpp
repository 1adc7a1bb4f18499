// The atten_mask of generated FlashAttentionScore cases. Problem strings name a mask kind (a tensor shape,
// or one of Ascend's compressed masks) and how to fill it; this turns that into the tensor. Random masks
// exercise every element path of the operator; the compressed masks are exactly the tensors Ascend's
// documentation tells users to pass, so a case here is a case a user can write.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {

// How a problem string asks for the mask contents (the shape and dtype are in the mask's TensorDesc).
struct MaskRecipe {
  std::string kind;       // bnss, b1ss, 11ss, ss (random 0/1), comp, comp6 (Ascend's compressed masks)
  double density = 0.3;   // fraction of random 1s (masked) in bnss/b1ss/11ss/ss
  int64_t full_rows = 0;  // rows of the tensor (one (b, n, i) each) set to all 1, chosen at random
  bool causal = false;    // also 1 where j > i (a dense left-up causal mask)
};

// Rows of Ascend's compressed masks: 2048 for modes 2, 3, 4, 7, 8; 3072 for mode 6.
constexpr int64_t kCompressedRows = 2048, kCompressedRows6 = 3072, kCompressedCols = 2048;

// The shape of a mask kind. `batch`, `heads` are B and N1; s1, s2 the query/key lengths (TND: the largest
// per-batch lengths, maxS1 and maxS2, as Ascend requires [maxS1, maxS2]).
std::vector<int64_t> mask_shape(const std::string& kind, int64_t batch, int64_t heads, int64_t s1, int64_t s2);

// Ascend's compressed mask as 0/1 bytes, row-major, 2048 columns: rows=2048 is triu(ones(2048, 2048), 1)
// (M[x][y] = 1 iff y > x); rows=3072 adds 1024 rows of [zeros(1024, 1024) | ones(1024, 1024)] (mode 6).
std::vector<uint8_t> compressed_mask(int64_t rows);

// The mask of `desc` (any dtype: 0/1 encoded in it, so negative cases can pass fp32). Random kinds draw each
// element as 1 with probability recipe.density. In sparse_mode 5 the prefix pattern Ascend expects, 1 iff
// j - i > S2 - S1 and j >= prefix[b] (b from the mask's batch dim, batch 0 for 11ss/ss), is OR-ed in, so the
// random extra 1s test the tensor on top of the rule. Then recipe.full_rows distinct rows become all 1.
HostData generate_mask(const MaskRecipe& recipe, const TensorDesc& desc, const FlashAttentionScoreAttrs& attrs,
                       std::mt19937_64& rng);

}  // namespace cannon::tools

// The explicit drop_mask of generated FlashAttentionScore cases: the bit-packed uint8 tensor users feed when
// they recorded a mask (Ascend A2's hardware generator cannot be reproduced, see
// reference/ascend-semantics.md §1.6). Element k of the score tensor (B·N1·S1·S2 order; TND per-batch blocks)
// is byte k >> 3, bit k & 7, LSB first; bit 1 keeps the element.
#pragma once

#include <cstdint>
#include <random>

#include "tools/harness/host_data.hpp"

namespace cannon::tools {

// Bytes of a mask holding `numel` bits: ceil(numel / 8), without the overflow of numel + 7 near INT64_MAX.
constexpr int64_t drop_mask_bytes(int64_t numel) { return numel <= 0 ? 0 : numel / 8 + (numel % 8 != 0); }

// The mask of `desc` (normally uint8 [ceil(numel/8)]; any dtype and size, for negative cases): every bit of
// the payload, the padding bits after the last element included, is 1 with probability keep_prob.
HostData generate_drop_mask(const TensorDesc& desc, double keep_prob, std::mt19937_64& rng);

// Bit k of a bit-packed mask (LSB first); false past the end.
bool drop_bit(const HostData& mask, int64_t k);

}  // namespace cannon::tools

// Host Philox4x32 and Ascend 950's dropout stream (docs/flash_attention_score.md, "Dropout"). Used by the
// float64 reference and by the host side of the mask API; the device twin is kernels/common/philox.clh.
#include "host/runtime/philox.hpp"

#include <cstddef>

namespace cannon::philox {
namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // Random123's multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments (golden ratio, sqrt(3) - 1)

void round(Counter& c, const Key& k) {
  const uint64_t p0 = uint64_t{kM0} * c[0];
  const uint64_t p1 = uint64_t{kM1} * c[2];
  c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
       static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
}

}  // namespace

Counter philox4x32(Counter counter, Key key, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) key = {key[0] + kW0, key[1] + kW1};
    round(counter, key);
  }
  return counter;
}

uint32_t dropout_threshold(double keep_prob) {
  // fp32 product, then truncation, as the tiling's static_cast<int64_t>(keepProb * UINT8_MAX) on a float attr.
  const float t = static_cast<float>(keep_prob) * 255.0f;
  return t <= 0.0f ? 0u : static_cast<uint32_t>(t);
}

DropoutGenerator::DropoutGenerator(int64_t seed, int64_t offset, double keep_prob)
    : key{static_cast<uint32_t>(static_cast<uint64_t>(seed)), static_cast<uint32_t>(static_cast<uint64_t>(seed) >> 32)},
      offset_groups((static_cast<uint64_t>(offset) + kGroupElements - 1) / kGroupElements),
      threshold(dropout_threshold(keep_prob)) {}

uint32_t DropoutGenerator::keep_bits16(uint64_t group) const {
  // The 128-bit counter offset_groups + group never carries past word 1: both terms are below 2^60.
  const uint64_t c = offset_groups + group;
  const Counter x = philox4x32({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0u, 0u}, key, kDropoutRounds);
  uint32_t bits = 0;
  for (int t = 0; t < 16; ++t) {
    // Words in order, bytes little-endian within a word: Ascend's Interleave + uint8 view, the golden's
    // uint32_to_uint8_array.
    const uint32_t byte = (x[t >> 2] >> (8 * (t & 3))) & 0xFFu;
    bits |= static_cast<uint32_t>(byte <= threshold) << t;
  }
  return bits;
}

int64_t DropoutShape::numels() const {
  int64_t total = 0;
  for (std::size_t b = 0; b < s1.size(); ++b) total += s1[b] * s2[b];
  return n1 * total;
}

std::vector<uint8_t> generate_drop_mask(const DropoutGenerator& gen, const DropoutShape& shape) {
  const int64_t numels = shape.numels();
  std::vector<uint8_t> mask((numels + 7) / 8, 0);
  int64_t k = 0;     // explicit-mask element index
  uint64_t pad = 0;  // padded stream index of the current row's first element
  for (std::size_t b = 0; b < shape.s1.size(); ++b) {
    const int64_t s2 = shape.s2[b];
    const int64_t s2p = (s2 + kGroupElements - 1) / kGroupElements * kGroupElements;
    for (int64_t row = 0; row < shape.n1 * shape.s1[b]; ++row, pad += s2p) {
      for (int64_t j0 = 0; j0 < s2; j0 += kGroupElements) {
        const uint32_t bits = gen.keep_bits16((pad + j0) / kGroupElements);
        for (int64_t j = j0; j < s2 && j < j0 + kGroupElements; ++j, ++k) {
          if ((bits >> (j - j0)) & 1u) mask[k >> 3] |= static_cast<uint8_t>(1u << (k & 7));
        }
      }
    }
  }
  return mask;
}

}  // namespace cannon::philox

// Explicit drop_mask generation. Each bit is one raw mt19937_64 draw compared with keep_prob (no
// std::*_distribution, whose output the standard leaves open), so a problem string gives the same mask on
// every platform.
#include "tools/drivers/fa/fa_dropout.hpp"

#include "tools/harness/random.hpp"

namespace cannon::tools {

HostData generate_drop_mask(const TensorDesc& desc, double keep_prob, std::mt19937_64& rng) {
  HostData mask{desc, std::vector<uint8_t>(desc.bytes(), 0)};
  for (uint8_t& byte : mask.bytes) {
    for (int bit = 0; bit < 8; ++bit) {
      if (uniform01(rng) < keep_prob) byte = static_cast<uint8_t>(byte | (1u << bit));
    }
  }
  return mask;
}

bool drop_bit(const HostData& mask, int64_t k) {
  if (k < 0 || static_cast<std::size_t>(k >> 3) >= mask.bytes.size()) return false;
  return (mask.bytes[static_cast<std::size_t>(k >> 3)] >> (k & 7)) & 1u;
}

}  // namespace cannon::tools

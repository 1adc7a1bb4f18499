// Random draws of the input generators (random.hpp).
#include "tools/harness/random.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cannon::tools {

std::mt19937_64 seeded_stream(uint64_t seed, uint32_t which) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), which};
  return std::mt19937_64(seq);
}

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double uniform_float(std::mt19937_64& rng, double lo, double hi) {
  return static_cast<float>(lo + (hi - lo) * uniform01(rng));
}

double standard_normal(std::mt19937_64& rng) {
  const double u1 = uniform01(rng), u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2);
}

HostData random_tensor(const TensorDesc& desc, std::mt19937_64& rng, double lo, double hi) {
  std::vector<double> values(static_cast<std::size_t>(std::max<int64_t>(desc.numel(), 0)));
  for (double& v : values) v = uniform_float(rng, lo, hi);
  return encode_values(desc.dtype, desc.shape, values);
}

}  // namespace cannon::tools

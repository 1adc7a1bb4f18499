// The portable random draws of every driver's input generator. Each draw takes the raw 64-bit mt19937_64 output
// (specified by the standard) rather than a std::*_distribution (whose output the standard leaves open), so a
// problem string gives the same inputs on every platform and the same bits from one release to the next.
#pragma once

#include <cstdint>
#include <random>

#include "cannon/tensor.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {

// Stream `which` of a case seed: mt19937_64 seeded by seed_seq{low word, high word, which} (seed_seq takes 32-bit
// words, and its mixing is specified by the standard). One stream per tensor, so a tensor's values do not depend
// on the sizes of the others.
std::mt19937_64 seeded_stream(uint64_t seed, uint32_t which);

// Uniform in [0, 1) from the top 53 bits of one draw.
double uniform01(std::mt19937_64& rng);

// lo + (hi - lo)·uniform01, rounded to float so that an fp32 store is exact and fp16/bf16 round only once.
double uniform_float(std::mt19937_64& rng, double lo, double hi);

// A standard normal value from two uniform01 draws (Box-Muller: sqrt(-2 ln(1 - u1))·cos(2π u2)).
double standard_normal(std::mt19937_64& rng);

// A tensor of `desc` filled with uniform_float(lo, hi) draws in C order, stored in desc.dtype.
HostData random_tensor(const TensorDesc& desc, std::mt19937_64& rng, double lo, double hi);

}  // namespace cannon::tools

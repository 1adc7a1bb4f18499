// Shared pieces of the reference's unit tests: values rounded to a storage dtype (so the reference sees what a
// device would) and random host tensors of them.
#pragma once

#include <random>
#include <vector>

#include "host/reference/host_tensor.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::reference {

// x as stored in `dtype` (through fp32, as the device casts fp32 values).
inline double round_to(DType dtype, double x) {
  const float f = static_cast<float>(x);
  if (dtype == DType::kFloat16) return fp16_to_float(float_to_fp16(f));
  if (dtype == DType::kBFloat16) return bf16_to_float(float_to_bf16(f));
  return f;
}

// Uniform values in [lo, hi), stored in `dtype`.
inline HostTensor random_tensor(DType dtype, std::vector<int64_t> shape, std::mt19937& gen, double lo = -1.0,
                                double hi = 1.0) {
  HostTensor t{dtype, std::move(shape), {}};
  std::uniform_real_distribution<double> dist(lo, hi);
  t.values.resize(t.numel());
  for (double& x : t.values) x = round_to(dtype, dist(gen));
  return t;
}

}  // namespace cannon::reference

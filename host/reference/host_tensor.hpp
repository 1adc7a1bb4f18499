// A host tensor of float64 values, in the tensor's own row-major shape.
// The reference and the tools exchange data in this form; values of fp16/bf16 tensors are the exact
// values of the stored 16-bit numbers, so the reference sees what the device sees.
#pragma once

#include <cstdint>
#include <vector>

#include "cannon/dtype.hpp"

namespace cannon::reference {

struct HostTensor {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<double> values;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

}  // namespace cannon::reference

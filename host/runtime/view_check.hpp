// The run-time check every operator makes of each tensor view it is handed: a buffer is present, the view
// matches the planned description, its offset is element-aligned and it lies inside its buffer, so no kernel
// reads or writes out of bounds.
#pragma once

#include <cstdint>

#include "cannon/tensor.hpp"

namespace cannon {

// Returns the view's element offset. Throws Error(kParamNullptr) for a null buffer and Error(kParamInvalid),
// naming `what`, for every other violation; `contiguous` also requires contiguous strides (outputs, and inputs a
// kernel reads as dense rows).
int64_t check_view(const TensorView& view, const TensorDesc& expected, const char* what, bool contiguous);

}  // namespace cannon

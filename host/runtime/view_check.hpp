// The run-time checks every operator makes of the tensor views it is handed: a buffer is present, the view
// matches the planned description, its offset is element-aligned and it lies inside its buffer (with
// overflow-proof arithmetic), so no kernel reads or writes out of bounds; and no output overlaps an input, another
// output or the workspace, so no kernel reads what it is writing.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cannon/tensor.hpp"

namespace cannon {

// Returns the view's element offset. Throws Error(kParamNullptr) for a null buffer and Error(kParamInvalid),
// naming `what`, for every other violation; `contiguous` also requires contiguous strides (outputs, and inputs a
// kernel reads as dense rows). Strides must be >= 0.
int64_t check_view(const TensorView& view, const TensorDesc& expected, const char* what, bool contiguous);

// One tensor of a run for check_disjoint: its name, its view (null = absent), whether the run writes it, and for
// an output an operator documents as in-place, the input it may replace exactly (same bytes, same strides).
struct ViewUse {
  const char* name;
  const TensorView* view;
  bool written;
  const char* in_place_of = nullptr;
};

// The workspace's first `bytes` bytes as a view, for check_disjoint (null workspace: no view).
std::optional<TensorView> workspace_view(cl_mem workspace, std::size_t bytes);

// Throws Error(kParamInvalid) naming both tensors when a written view shares a byte with any other view of the
// same allocation (sub-buffers are mapped onto their parent). Views must have passed check_view.
void check_disjoint(const std::vector<ViewUse>& uses);

}  // namespace cannon

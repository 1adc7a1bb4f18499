// check_view(); see view_check.hpp.
#include "host/runtime/view_check.hpp"

#include "host/runtime/check.hpp"
#include "host/runtime/sub_buffer.hpp"

namespace cannon {

int64_t check_view(const TensorView& view, const TensorDesc& expected, const char* what, bool contiguous) {
  if (!view.buffer) fail(Status::kParamNullptr, "{}: buffer is null", what);
  require(view.desc == expected, "{}: is {} but the plan expects {}", what, view.desc.to_string(),
          expected.to_string());
  const std::size_t elem = dtype_size(view.desc.dtype);
  require(view.offset % elem == 0, "{}: byte offset {} is not a multiple of the element size {}", what, view.offset,
          elem);
  require(!contiguous || view.is_contiguous(), "{}: the view must be contiguous", what);
  const std::vector<int64_t> strides = view.effective_strides();
  require(strides.size() == view.desc.shape.size(), "{}: {} strides for a rank-{} shape", what, strides.size(),
          view.desc.shape.size());
  int64_t last = 0;
  for (std::size_t i = 0; i < strides.size(); ++i) {
    require(strides[i] >= 0, "{}: stride {} of dimension {} is negative", what, strides[i], i);
    if (view.desc.shape[i] > 0) last += (view.desc.shape[i] - 1) * strides[i];
  }
  const std::size_t end = view.offset + (view.desc.numel() > 0 ? static_cast<std::size_t>(last + 1) * elem : 0);
  const std::size_t size = mem_size(view.buffer);
  require(end <= size, "{}: the view ends at byte {} but its buffer holds {} bytes", what, end, size);
  return static_cast<int64_t>(view.offset / elem);
}

}  // namespace cannon

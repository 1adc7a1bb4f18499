// check_view() and check_disjoint(); see view_check.hpp.
#include "host/runtime/view_check.hpp"

#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/sub_buffer.hpp"

namespace cannon {
namespace {

// The buffer a view's bytes really live in and where they lie there: a sub-buffer is mapped onto its parent, so
// two views through different sub-buffers of one allocation are compared on the same byte axis.
struct Placement {
  cl_mem root = nullptr;
  ByteRange bytes;
};

Placement place(const TensorView& view, const char* what) {
  Placement p{view.buffer, view_byte_range(view.offset, view.desc.shape, view.effective_strides(),
                                           dtype_size(view.desc.dtype), what)};
  cl_mem parent = nullptr;
  CANNON_CL(clGetMemObjectInfo(view.buffer, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, nullptr));
  if (parent) {
    std::size_t base = 0;
    CANNON_CL(clGetMemObjectInfo(view.buffer, CL_MEM_OFFSET, sizeof base, &base, nullptr));
    p.root = parent;
    p.bytes = {checked_add_u64(p.bytes.lo, base, what), checked_add_u64(p.bytes.hi, base, what)};
  }
  return p;
}

}  // namespace

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
  // The kernels walk rows with non-negative element strides; negative ones are not part of the API.
  for (std::size_t i = 0; i < strides.size(); ++i) {
    require(strides[i] >= 0, "{}: stride {} of dimension {} is negative (strides must be >= 0)", what, strides[i], i);
  }
  const ByteRange range = view_byte_range(view.offset, view.desc.shape, strides, elem, what);
  const std::size_t size = mem_size(view.buffer);
  require(range.hi <= size, "{}: the view ends at byte {} but its buffer holds {} bytes", what, range.hi, size);
  // Kernels address elements with 64-bit signed offsets: everything above is below 2^63 once it fits the buffer.
  return static_cast<int64_t>(view.offset / elem);
}

std::optional<TensorView> workspace_view(cl_mem workspace, std::size_t bytes) {
  if (!workspace || bytes == 0) return std::nullopt;
  return TensorView{workspace, 0, {DType::kUInt8, {static_cast<int64_t>(bytes)}}, {}};
}

void check_disjoint(const std::vector<ViewUse>& uses) {
  std::vector<Placement> placed;
  placed.reserve(uses.size());
  for (const ViewUse& u : uses) placed.push_back(u.view && u.view->buffer ? place(*u.view, u.name) : Placement{});
  for (std::size_t a = 0; a < uses.size(); ++a) {
    if (!uses[a].written || !placed[a].root) continue;
    for (std::size_t b = 0; b < uses.size(); ++b) {
      if (a == b || !placed[b].root || placed[a].root != placed[b].root) continue;
      if (!placed[a].bytes.overlaps(placed[b].bytes)) continue;
      if (b < a && uses[b].written) continue;  // this pair of outputs was reported from the other side
      const bool in_place = uses[a].in_place_of && std::string_view(uses[a].in_place_of) == uses[b].name &&
                            placed[a].bytes.lo == placed[b].bytes.lo && placed[a].bytes.hi == placed[b].bytes.hi &&
                            uses[a].view->effective_strides() == uses[b].view->effective_strides();
      if (in_place) continue;
      fail(Status::kParamInvalid,
           "{}: bytes [{}, {}) of its buffer overlap {} (bytes [{}, {})); an output must not share memory with {}",
           uses[a].name, placed[a].bytes.lo, placed[a].bytes.hi, uses[b].name, placed[b].bytes.lo, placed[b].bytes.hi,
           uses[b].written ? "another output or the workspace" : "an input");
    }
  }
}

}  // namespace cannon

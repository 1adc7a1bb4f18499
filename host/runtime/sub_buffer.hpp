// Pieces of a caller's workspace as OpenCL sub-buffers (the ledger's entries at run time), buffer sizes for
// bounds checks, and the workspace's own check. Shared by every operator's run(). OpenCL forbids sub-buffers of
// sub-buffers, so a workspace that is itself a sub-buffer (a slice of the caller's pool, as aclnn callers pass) is cut
// from its parent at the combined offset; both offsets are multiples of the device's base alignment, so the result is
// still legal.
#pragma once

#include <algorithm>
#include <cstddef>

#include "host/runtime/check.hpp"

namespace cannon {

inline std::size_t mem_size(cl_mem mem) {
  std::size_t size = 0;
  CANNON_CL(clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, nullptr));
  return size;
}

// Throws Error(kParamNullptr) for a null workspace and Error(kParamInvalid) for a short one, when `needed` > 0.
inline void check_workspace(cl_mem workspace, std::size_t needed) {
  if (needed == 0) return;
  if (!workspace) fail(Status::kParamNullptr, "workspace: null, but the plan needs {} bytes", needed);
  require(mem_size(workspace) >= needed, "workspace: {} bytes, but the plan needs {}", mem_size(workspace), needed);
}

// Owns a sub-buffer over [offset, offset + bytes) of `workspace` (at least one byte); the queue keeps its own
// reference to it while commands use it.
class SubBuffer {
 public:
  SubBuffer(cl_mem workspace, std::size_t offset, std::size_t bytes) {
    cl_mem parent = nullptr;
    CANNON_CL(clGetMemObjectInfo(workspace, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, nullptr));
    if (parent) {
      std::size_t base = 0;
      CANNON_CL(clGetMemObjectInfo(workspace, CL_MEM_OFFSET, sizeof base, &base, nullptr));
      offset += base;
      workspace = parent;
    }
    cl_buffer_region region{offset, std::max<std::size_t>(bytes, 1)};
    cl_int err = CL_SUCCESS;
    mem_ = clCreateSubBuffer(workspace, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) throw_cl_error(err, "clCreateSubBuffer", __FILE__, __LINE__);
  }
  SubBuffer(const SubBuffer&) = delete;
  SubBuffer& operator=(const SubBuffer&) = delete;
  ~SubBuffer() { clReleaseMemObject(mem_); }
  cl_mem mem() const { return mem_; }

 private:
  cl_mem mem_ = nullptr;
};

}  // namespace cannon

// The objects behind aclnn's opaque handles (aclTensor, aclIntArray, aclOpExecutor) and the conversions every
// operator entry point shares: a device tensor to a cannon TensorView (its address resolved to an aclrtMalloc
// buffer and checked against it), host arrays and strings to attributes, and the two phases' executor handling.
// No operator logic lives here or in the entry points: they fill cannon's C++ plan/run arguments.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aclnn/acl_meta.h"
#include "cannon/stream.hpp"
#include "cannon/tensor.hpp"
#include "host/aclnn/state.hpp"

struct aclTensor {
  std::vector<int64_t> view, strides, storage;  // strides in elements, as given
  int64_t offset = 0;                           // elements from tensorData
  aclDataType dtype = ACL_DT_UNDEFINED;
  aclFormat format = ACL_FORMAT_ND;
  void* data = nullptr;
};

struct aclIntArray {
  std::vector<int64_t> values;
};

// Made by a GetWorkspaceSize call, consumed by its run call (or kept when repeatable).
struct aclOpExecutor {
  std::string op;  // the run call it belongs to, e.g. "aclnnFlashAttentionScore"
  int32_t device = 0;
  uint64_t workspace_size = 0;
  bool repeatable = false;
  std::vector<cl_mem> retained;  // the tensors' buffers, kept alive until the executor goes
  std::function<void(cl_mem workspace, const cannon::Stream& stream)> run;
  ~aclOpExecutor();
};

namespace cannon::aclnn {

// Reads tensors and arrays for one GetWorkspaceSize call on the current context's device.
class Inputs {
 public:
  Inputs();  // the current context's device, or ACL_ERROR_RT_CONTEXT_NULL
  const Context& context() const { return *ctx_; }
  int32_t device() const { return device_; }

  // A required tensor: Error(kParamNullptr) when null, Error(kParamInvalid) naming `what` for a dtype cannon does
  // not take, an address outside every allocation or of another device, or a view that leaves its allocation.
  TensorView tensor(const aclTensor* t, const char* what);
  std::optional<TensorView> optional(const aclTensor* t, const char* what);
  // As tensor(), for a tensor CANN also documents in `alias`, another shape of the same elements: a contiguous view
  // of that shape is read as `shape` instead.
  TensorView tensor_as(const aclTensor* t, const char* what, const std::vector<int64_t>& shape,
                       const std::vector<int64_t>& alias);
  // An output: as tensor(), and it must have exactly the planned dtype and shape (or `alias`, another contiguous
  // shape of the same elements that CANN documents for it) and be contiguous.
  TensorView output(const aclTensor* t, const TensorDesc& expected, const char* what,
                    const std::vector<int64_t>& alias = {});
  static std::vector<int64_t> ints(const aclIntArray* a) { return a ? a->values : std::vector<int64_t>{}; }
  // A required string attribute (Error(kParamNullptr) when null) or an optional one ("" when null).
  static std::string text(const char* s, const char* what);
  static std::string optional_text(const char* s) { return s ? s : ""; }

  // Makes the executor: checks the two out-pointers, records the plan's workspace size and the run.
  void finish(const char* op, uint64_t workspace_bytes, uint64_t* workspace_size, aclOpExecutor** executor,
              std::function<void(cl_mem, const Stream&)> run);

 private:
  State& state_;
  int32_t device_ = 0;
  const Context* ctx_ = nullptr;
  std::vector<cl_mem> buffers_;
};

// The run call: checks the executor, its stream and the workspace, enqueues, and consumes the executor unless it
// is repeatable (also when the run fails, as CANN does).
aclnnStatus run_executor(const char* op, void* workspace, uint64_t workspace_size, aclOpExecutor* executor,
                         aclrtStream stream) noexcept;

}  // namespace cannon::aclnn

// aclTensor, aclIntArray and aclOpExecutor (objects.hpp): creation and destruction through the C API, the
// conversions the operator entry points share, and the run phase common to every operator.
#include "host/aclnn/objects.hpp"

#include <algorithm>

#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/sub_buffer.hpp"
#include "host/runtime/view_check.hpp"

namespace cannon::aclnn {
namespace {

// The dtypes cannon's operators take; every other aclDataType is rejected by the operator that receives it.
std::optional<DType> dtype_of(aclDataType t) {
  switch (t) {
    case ACL_FLOAT:
      return DType::kFloat32;
    case ACL_FLOAT16:
      return DType::kFloat16;
    case ACL_BF16:
      return DType::kBFloat16;
    case ACL_BOOL:
      return DType::kBool;
    case ACL_UINT8:
      return DType::kUInt8;
    case ACL_INT32:
      return DType::kInt32;
    case ACL_INT64:
      return DType::kInt64;
    default:
      return std::nullopt;
  }
}

}  // namespace

Inputs::Inputs() : state_(State::get()) {
  std::lock_guard<std::mutex> lock(state_.mu);
  device_ = state_.current("an aclnn call").device;
  ctx_ = &state_.device(device_);
}

TensorView Inputs::tensor(const aclTensor* t, const char* what) {
  if (!t) fail(Status::kParamNullptr, "{}: null", what);
  const std::optional<DType> dtype = dtype_of(t->dtype);
  require(dtype.has_value(),
          "{}: aclDataType {} is not one cannon takes (ACL_FLOAT, ACL_FLOAT16, ACL_BF16, ACL_BOOL, "
          "ACL_UINT8, ACL_INT32, ACL_INT64)",
          what, static_cast<int>(t->dtype));
  TensorView v;
  v.desc = TensorDesc{*dtype, t->view};
  v.strides = t->strides;
  DeviceRange r;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    if (!t->data) fail(Status::kParamNullptr, "{}: tensorData is null", what);
    require(state_.find(t->data, 0, r, what), "{}: tensorData {} is not inside any live aclrtMalloc allocation", what,
            t->data);
  }
  require(r.device == device_, "{}: memory of device {}, but the current context is on device {}", what, r.device,
          device_);
  const uint64_t shift = checked_mul_u64(static_cast<uint64_t>(t->offset), dtype_size(*dtype), what);
  v.buffer = r.mem;
  v.offset = static_cast<std::size_t>(checked_add_u64(r.offset, shift, what));
  check_view(v, v.desc, what, false);  // inside its allocation (each allocation is its own buffer)
  if (std::find(buffers_.begin(), buffers_.end(), r.mem) == buffers_.end()) buffers_.push_back(r.mem);
  return v;
}

std::optional<TensorView> Inputs::optional(const aclTensor* t, const char* what) {
  if (!t) return std::nullopt;
  return tensor(t, what);
}

TensorView Inputs::tensor_as(const aclTensor* t, const char* what, const std::vector<int64_t>& shape,
                             const std::vector<int64_t>& alias) {
  TensorView v = tensor(t, what);
  if (!alias.empty() && v.desc.shape == alias && alias != shape &&
      TensorDesc{v.desc.dtype, shape}.numel() == v.desc.numel()) {
    check_view(v, v.desc, what, true);
    v.desc.shape = shape;  // the same contiguous elements under the planned shape
    v.strides.clear();
  }
  return v;
}

TensorView Inputs::output(const aclTensor* t, const TensorDesc& expected, const char* what,
                          const std::vector<int64_t>& alias) {
  TensorView v = tensor_as(t, what, expected.shape, alias);
  require(v.desc == expected, "{}: {}, but the operator writes {}", what, v.desc.to_string(), expected.to_string());
  check_view(v, expected, what, true);
  return v;
}

std::string Inputs::text(const char* s, const char* what) {
  if (!s) fail(Status::kParamNullptr, "{}: null", what);
  return s;
}

void Inputs::finish(const char* op, uint64_t workspace_bytes, uint64_t* workspace_size, aclOpExecutor** executor,
                    std::function<void(cl_mem, const Stream&)> run) {
  if (!workspace_size) fail(Status::kParamNullptr, "workspaceSize: null");
  if (!executor) fail(Status::kParamNullptr, "executor: null");
  auto ex = std::make_unique<aclOpExecutor>();
  ex->op = op;
  ex->device = device_;
  ex->workspace_size = workspace_bytes;
  for (cl_mem m : buffers_) {
    CANNON_CL(clRetainMemObject(m));
    ex->retained.push_back(m);
  }
  ex->run = std::move(run);
  *workspace_size = workspace_bytes;
  *executor = ex.release();
}

aclnnStatus run_executor(const char* op, void* workspace, uint64_t workspace_size, aclOpExecutor* executor,
                         aclrtStream stream) noexcept {
  aclOpExecutor* consumed = nullptr;
  const aclnnStatus status = aclnn_call(op, [&] {
    if (!executor) fail(Status::kParamNullptr, "executor: null");
    if (!executor->repeatable) consumed = executor;
    require(executor->op == op, "executor: made by {}GetWorkspaceSize, run with {}", executor->op, op);
    require(workspace_size >= executor->workspace_size, "workspaceSize: {} bytes, but the plan needs {}",
            workspace_size, executor->workspace_size);
    State& s = State::get();
    cl_mem ws = nullptr;
    std::unique_ptr<SubBuffer> slice;
    Stream where;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      const StreamHandle h = s.stream(stream);
      require(h.device == executor->device, "stream: on device {}, but the executor was made on device {}", h.device,
              executor->device);
      where.queue = h.queue;
      if (executor->workspace_size > 0) {
        if (!workspace)
          fail(Status::kParamNullptr, "workspace: null, but the plan needs {} bytes", executor->workspace_size);
        DeviceRange r;
        require(s.find(workspace, workspace_size, r, "workspace"),
                "workspace: {} is not inside any live aclrtMalloc allocation", workspace);
        require(r.device == executor->device, "workspace: memory of device {}, executor of device {}", r.device,
                executor->device);
        if (r.offset == 0) {
          ws = r.mem;
        } else {
          const std::size_t align = s.device(r.device).info().base_addr_align;
          require(r.offset % align == 0,
                  "workspace: {} bytes into its allocation; an offset workspace must be a multiple of the device's "
                  "{}-byte base alignment",
                  r.offset, align);
          slice = std::make_unique<SubBuffer>(r.mem, r.offset, static_cast<std::size_t>(workspace_size));
          ws = slice->mem();
        }
      }
    }
    executor->run(ws, where);
  });
  delete consumed;
  return status;
}

}  // namespace cannon::aclnn

aclOpExecutor::~aclOpExecutor() {
  for (cl_mem m : retained) clReleaseMemObject(m);
}

using cannon::aclnn::aclnn_call;
using cannon::aclnn::record;

extern "C" {

aclTensor* aclCreateTensor(const int64_t* viewDims, uint64_t viewDimsNum, aclDataType dataType, const int64_t* stride,
                           int64_t offset, aclFormat format, const int64_t* storageDims, uint64_t storageDimsNum,
                           void* tensorData) {
  aclTensor* made = nullptr;
  const aclnnStatus status = aclnn_call("aclCreateTensor", [&] {
    constexpr uint64_t kMaxRank = 64;
    cannon::require(viewDimsNum <= kMaxRank && storageDimsNum <= kMaxRank,
                    "viewDimsNum {} / storageDimsNum {}: at most {}", viewDimsNum, storageDimsNum, kMaxRank);
    if (viewDimsNum > 0 && !viewDims)
      cannon::fail(cannon::Status::kParamNullptr, "viewDims: null with viewDimsNum {}", viewDimsNum);
    if (storageDimsNum > 0 && !storageDims) {
      cannon::fail(cannon::Status::kParamNullptr, "storageDims: null with storageDimsNum {}", storageDimsNum);
    }
    cannon::require(offset >= 0, "offset: {} is negative", offset);
    auto t = std::make_unique<aclTensor>();
    t->view.assign(viewDims, viewDims + viewDimsNum);
    t->storage.assign(storageDims, storageDims + storageDimsNum);
    for (uint64_t i = 0; i < viewDimsNum; ++i)
      cannon::require(viewDims[i] >= 0, "viewDims[{}]: {} is negative", i, viewDims[i]);
    if (stride) {
      t->strides.assign(stride, stride + viewDimsNum);
      for (uint64_t i = 0; i < viewDimsNum; ++i)
        cannon::require(stride[i] >= 0, "stride[{}]: {} is negative", i, stride[i]);
    }
    t->offset = offset;
    t->dtype = dataType;
    t->format = format;
    t->data = tensorData;
    made = t.release();
  });
  (void)status;
  return made;
}

aclnnStatus aclDestroyTensor(const aclTensor* tensor) {
  delete tensor;
  return ACLNN_SUCCESS;
}

aclIntArray* aclCreateIntArray(const int64_t* value, uint64_t size) {
  aclIntArray* made = nullptr;
  aclnn_call("aclCreateIntArray", [&] {
    if (size > 0 && !value) cannon::fail(cannon::Status::kParamNullptr, "value: null with size {}", size);
    cannon::require(size <= (uint64_t{1} << 32), "size: {} values is more than cannon accepts", size);
    made = new aclIntArray{std::vector<int64_t>(value, value + size)};
  });
  return made;
}

aclnnStatus aclDestroyIntArray(const aclIntArray* array) {
  delete array;
  return ACLNN_SUCCESS;
}

aclnnStatus aclSetAclOpExecutorRepeatable(aclOpExecutor* executor) {
  if (!executor) {
    record("aclSetAclOpExecutorRepeatable", "executor: null");
    return ACLNN_ERR_INNER_NULLPTR;
  }
  executor->repeatable = true;
  return ACLNN_SUCCESS;
}

aclnnStatus aclDestroyAclOpExecutor(aclOpExecutor* executor) {
  if (!executor) {
    record("aclDestroyAclOpExecutor", "executor: null");
    return ACLNN_ERR_INNER_NULLPTR;
  }
  delete executor;
  return ACLNN_SUCCESS;
}

}  // extern "C"

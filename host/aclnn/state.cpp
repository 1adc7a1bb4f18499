// The acl runtime's process-wide state and error plumbing (state.hpp): device ids over the OpenCL devices, the
// current context per thread, and address lookup for aclrtMalloc memory.
#include "host/aclnn/state.hpp"

#include <sys/mman.h>

#include <algorithm>

#include "host/runtime/check.hpp"
#include "host/runtime/device_select.hpp"

namespace cannon::aclnn {
namespace {

thread_local std::string pending_error;  // set by a failed call, handed out (and cleared) by aclGetRecentErrMsg
thread_local std::string handed_error;   // what aclGetRecentErrMsg last returned; its pointer stays valid

}  // namespace

void set_error(std::string message) { pending_error = std::move(message); }

void record(const char* fn, const char* what) { set_error(fmt::format("{}: {}", fn, what)); }

aclError acl_code(const Error& e) {
  switch (e.status()) {
    case Status::kParamNullptr:
    case Status::kParamInvalid:
      return ACL_ERROR_INVALID_PARAM;
    case Status::kUnimplemented:
      return ACL_ERROR_FEATURE_UNSUPPORTED;
    case Status::kRuntimeError:
      return ACL_ERROR_RT_FAILURE;
    default:
      return ACL_ERROR_INTERNAL_ERROR;
  }
}

ContextHandle*& current_context() {
  thread_local ContextHandle* current = nullptr;
  return current;
}

State& State::get() {
  static State* state = new State();
  return *state;
}

int32_t State::device_count() {
  if (!enumerated_) {
    const std::vector<DeviceEntry> entries = enumerate_devices();
    if (!entries.empty()) {
      const int chosen = static_cast<int>(select_device(entries, Config::global().device).index);
      order_.push_back(chosen);
      for (int i = 0; i < static_cast<int>(entries.size()); ++i) {
        if (i != chosen) order_.push_back(i);
      }
    }
    enumerated_ = true;
  }
  return static_cast<int32_t>(order_.size());
}

const Context& State::device(int32_t id) {
  const int32_t count = device_count();
  if (id < 0 || id >= count) {
    acl_fail(ACL_ERROR_RT_INVALID_DEVICEID, "deviceId {}: cannon sees {} OpenCL device(s), ids 0..{}", id, count,
             count - 1);
  }
  std::unique_ptr<Context>& slot = contexts[id];
  if (!slot) slot = std::make_unique<Context>(Context::create(std::to_string(order_[static_cast<std::size_t>(id)])));
  return *slot;
}

ContextHandle& State::current(const char* need) {
  ContextHandle* c = current_context();
  if (!c)
    acl_fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread: call aclrtSetDevice first ({})", need);
  return *c;
}

StreamHandle State::stream(aclrtStream stream) {
  if (!stream) {
    const ContextHandle& c = current("the default stream");
    return StreamHandle{c.device, device(c.device).cl_queue_handle()};
  }
  auto it = streams.find(static_cast<StreamHandle*>(stream));
  if (it == streams.end())
    acl_fail(ACL_ERROR_RT_INVALID_HANDLE, "stream {}: not a live aclrtCreateStream stream", stream);
  return *it->second;
}

bool State::find(const void* address, std::size_t bytes, DeviceRange& out, const char* what) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  auto it = allocations.upper_bound(at);
  if (it == allocations.begin()) return false;
  --it;
  const Allocation& a = it->second;
  const std::uintptr_t offset = at - it->first;
  if (offset >= std::max<std::size_t>(a.size, 1)) return false;
  if (bytes > a.size - offset) {
    acl_fail(ACL_ERROR_INVALID_PARAM, "{}: {} bytes at offset {} of a {}-byte aclrtMalloc allocation run past its end",
             what, bytes, offset, a.size);
  }
  out = DeviceRange{a.device, a.mem, static_cast<std::size_t>(offset), a.size - static_cast<std::size_t>(offset)};
  return true;
}

void State::finish_device(int32_t id) {
  auto it = contexts.find(id);
  if (it == contexts.end()) return;
  CANNON_CL(clFinish(it->second->cl_queue_handle()));
  for (const auto& [handle, s] : streams) {
    if (s->device == id) CANNON_CL(clFinish(s->queue));
  }
}

void State::release_all() {
  for (auto& [handle, s] : streams) {
    clFinish(s->queue);
    clReleaseCommandQueue(s->queue);
  }
  streams.clear();
  for (auto& [base, a] : allocations) {
    clReleaseMemObject(a.mem);
    munmap(reinterpret_cast<void*>(base), std::max<std::size_t>(a.size, 1));
  }
  allocations.clear();
  user_contexts.clear();
  defaults.clear();
  set_counts.clear();
  for (auto& [id, ctx] : contexts) clFinish(ctx->cl_queue_handle());
  contexts.clear();
  current_context() = nullptr;
}

}  // namespace cannon::aclnn

extern "C" const char* aclGetRecentErrMsg(void) {
  using namespace cannon::aclnn;
  if (pending_error.empty()) return nullptr;
  handed_error = std::move(pending_error);
  pending_error.clear();
  return handed_error.c_str();
}

// acl runtime calls over OpenCL: lifecycle, devices, contexts and streams (include/acl/acl_rt.h). Every call
// takes the state's lock; waits on queues happen after the handles are looked up.
#include <cstring>

#include "aclnn/aclnn_base.h"
#include "host/aclnn/state.hpp"
#include "host/runtime/check.hpp"

using cannon::aclnn::acl_call;
using cannon::aclnn::acl_fail;
using cannon::aclnn::ContextHandle;
using cannon::aclnn::current_context;
using cannon::aclnn::State;
using cannon::aclnn::StreamHandle;

namespace {

// aclrtSetDevice and aclrtCreateContext need a device that works: building its Context proves it.
ContextHandle* default_context(State& s, int32_t id) {
  s.device(id);
  std::unique_ptr<ContextHandle>& slot = s.defaults[id];
  if (!slot) slot = std::make_unique<ContextHandle>(ContextHandle{id, true});
  return slot.get();
}

}  // namespace

extern "C" {

aclError aclInit(const char* configPath) {
  return acl_call("aclInit", [&] {
    (void)configPath;  // cannon is configured by CANNON_* variables, not by CANN's JSON file
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.initialized) acl_fail(ACL_ERROR_REPEAT_INITIALIZE, "already initialized (call aclFinalize first)");
    s.initialized = true;
  });
}

aclError aclFinalize(void) {
  return acl_call("aclFinalize", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.initialized)
      acl_fail(ACL_ERROR_REPEAT_FINALIZE, "not initialized (aclInit was not called, or aclFinalize was)");
    s.release_all();
    s.initialized = false;
  });
}

aclError aclrtGetDeviceCount(uint32_t* count) {
  return acl_call("aclrtGetDeviceCount", [&] {
    if (!count) acl_fail(ACL_ERROR_INVALID_PARAM, "count: null");
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    *count = static_cast<uint32_t>(s.device_count());
  });
}

aclError aclrtSetDevice(int32_t deviceId) {
  return acl_call("aclrtSetDevice", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    current_context() = default_context(s, deviceId);
    ++s.set_counts[deviceId];
  });
}

// Streams made on the device are destroyed with its last reset; its OpenCL context, and the memory allocated on
// it, live until aclFinalize (a later aclrtSetDevice finds them again).
aclError aclrtResetDevice(int32_t deviceId) {
  return acl_call("aclrtResetDevice", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    s.device(deviceId);
    int& count = s.set_counts[deviceId];
    if (count == 0)
      acl_fail(ACL_ERROR_RT_INVALID_DEVICEID, "deviceId {}: not set (aclrtSetDevice) on this process", deviceId);
    if (--count > 0) return;
    s.finish_device(deviceId);
    for (auto it = s.streams.begin(); it != s.streams.end();) {
      if (it->second->device == deviceId) {
        clReleaseCommandQueue(it->second->queue);
        it = s.streams.erase(it);
      } else {
        ++it;
      }
    }
    if (current_context() && current_context()->device == deviceId) current_context() = nullptr;
  });
}

aclError aclrtGetDevice(int32_t* deviceId) {
  return acl_call("aclrtGetDevice", [&] {
    if (!deviceId) acl_fail(ACL_ERROR_INVALID_PARAM, "deviceId: null");
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    *deviceId = s.current("aclrtGetDevice").device;
  });
}

aclError aclrtCreateContext(aclrtContext* context, int32_t deviceId) {
  return acl_call("aclrtCreateContext", [&] {
    if (!context) acl_fail(ACL_ERROR_INVALID_PARAM, "context: null");
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    s.device(deviceId);
    auto handle = std::make_unique<ContextHandle>(ContextHandle{deviceId, false});
    ContextHandle* raw = handle.get();
    s.user_contexts.emplace(raw, std::move(handle));
    current_context() = raw;  // as on Ascend, a new context becomes the thread's current one
    *context = raw;
  });
}

aclError aclrtDestroyContext(aclrtContext context) {
  return acl_call("aclrtDestroyContext", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.user_contexts.find(static_cast<ContextHandle*>(context));
    if (it == s.user_contexts.end()) {
      acl_fail(ACL_ERROR_INVALID_PARAM, "context {}: not a live aclrtCreateContext context", context);
    }
    if (current_context() == it->first) current_context() = nullptr;
    s.user_contexts.erase(it);
  });
}

aclError aclrtSetCurrentContext(aclrtContext context) {
  return acl_call("aclrtSetCurrentContext", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    auto* handle = static_cast<ContextHandle*>(context);
    bool live = s.user_contexts.count(handle) > 0;
    for (const auto& [id, d] : s.defaults) live = live || d.get() == handle;
    if (!live) acl_fail(ACL_ERROR_INVALID_PARAM, "context {}: not a live context", context);
    current_context() = handle;
  });
}

aclError aclrtGetCurrentContext(aclrtContext* context) {
  return acl_call("aclrtGetCurrentContext", [&] {
    if (!context) acl_fail(ACL_ERROR_INVALID_PARAM, "context: null");
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    *context = &s.current("aclrtGetCurrentContext");
  });
}

aclError aclrtCreateStream(aclrtStream* stream) {
  return acl_call("aclrtCreateStream", [&] {
    if (!stream) acl_fail(ACL_ERROR_INVALID_PARAM, "stream: null");
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    const int32_t id = s.current("aclrtCreateStream").device;
    const cannon::Context& ctx = s.device(id);
    cl_int err = CL_SUCCESS;
    cl_command_queue queue = clCreateCommandQueue(ctx.cl_context_handle(), ctx.cl_device_handle(), 0, &err);
    if (err != CL_SUCCESS)
      acl_fail(ACL_ERROR_RT_NO_STREAM_RESOURCE, "clCreateCommandQueue: {}", cannon::cl_error_name(err));
    auto handle = std::make_unique<StreamHandle>(StreamHandle{id, queue});
    *stream = handle.get();
    s.streams.emplace(handle.get(), std::move(handle));
  });
}

aclError aclrtDestroyStream(aclrtStream stream) {
  return acl_call("aclrtDestroyStream", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.streams.find(static_cast<StreamHandle*>(stream));
    if (it == s.streams.end())
      acl_fail(ACL_ERROR_RT_INVALID_HANDLE, "stream {}: not a live aclrtCreateStream stream", stream);
    clFinish(it->second->queue);  // work already queued completes, as on Ascend
    clReleaseCommandQueue(it->second->queue);
    s.streams.erase(it);
  });
}

aclError aclrtSynchronizeStream(aclrtStream stream) {
  return acl_call("aclrtSynchronizeStream", [&] {
    State& s = State::get();
    std::unique_lock<std::mutex> lock(s.mu);
    const StreamHandle h = s.stream(stream);
    const cannon::Context ctx = s.device(h.device);
    CANNON_CL(clRetainCommandQueue(h.queue));
    lock.unlock();
    struct Release {
      cl_command_queue q;
      ~Release() { clReleaseCommandQueue(q); }
    } release{h.queue};
    ctx.finish(h.queue);  // raises what a kernel found wrong in device data
  });
}

aclError aclrtSynchronizeDevice(void) {
  return acl_call("aclrtSynchronizeDevice", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    const int32_t id = s.current("aclrtSynchronizeDevice").device;
    s.finish_device(id);
    s.device(id).finish();
  });
}

aclnnStatus aclnnInit(const char* configPath) {
  (void)configPath;
  return ACLNN_SUCCESS;
}

aclnnStatus aclnnFinalize(void) { return ACLNN_SUCCESS; }

}  // extern "C"

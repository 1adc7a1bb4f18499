// The process-wide state behind the acl runtime calls (devices, contexts, streams, allocations) and the error
// plumbing every C entry point shares: internals throw, and acl_call/aclnn_call turn an exception into CANN's
// status code and this thread's aclGetRecentErrMsg() text, so no exception ever crosses the C boundary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "acl/acl.h"
#include "aclnn/acl_meta.h"
#include "cannon/context.hpp"
#include "cannon/error.hpp"

namespace cannon::aclnn {

// A runtime failure with its aclError code (ACL_ERROR_*, ACL_ERROR_RT_*).
class AclError : public std::runtime_error {
 public:
  AclError(aclError code, const std::string& message) : std::runtime_error(message), code_(code) {}
  aclError code() const { return code_; }

 private:
  aclError code_;
};

template <typename... Args>
[[noreturn]] void acl_fail(aclError code, fmt::format_string<Args...> format, Args&&... args) {
  throw AclError(code, fmt::format(format, std::forward<Args>(args)...));
}

// Records `message` as this thread's most recent error (aclGetRecentErrMsg).
void set_error(std::string message);

// Runs body() and returns ACL_SUCCESS, or the code of what it threw with the message recorded as "fn: message".
// cannon::Error statuses map to ACL_ERROR_INVALID_PARAM (argument errors) and ACL_ERROR_RT_FAILURE (OpenCL).
template <typename Body>
aclError acl_call(const char* fn, Body&& body) noexcept;
// The same for aclnn entry points: cannon::Error statuses are aclnn codes already; an AclError from the memory
// lookup is an argument error (ACLNN_ERR_PARAM_INVALID).
template <typename Body>
aclnnStatus aclnn_call(const char* fn, Body&& body) noexcept;

aclError acl_code(const Error& e);
void record(const char* fn, const char* what);

template <typename Body>
aclError acl_call(const char* fn, Body&& body) noexcept {
  try {
    body();
    return ACL_SUCCESS;
  } catch (const AclError& e) {
    record(fn, e.what());
    return e.code();
  } catch (const Error& e) {
    record(fn, e.what());
    return acl_code(e);
  } catch (const std::bad_alloc&) {
    record(fn, "out of host memory");
    return ACL_ERROR_BAD_ALLOC;
  } catch (const std::exception& e) {
    record(fn, e.what());
    return ACL_ERROR_INTERNAL_ERROR;
  }
}

template <typename Body>
aclnnStatus aclnn_call(const char* fn, Body&& body) noexcept {
  try {
    body();
    return ACLNN_SUCCESS;
  } catch (const AclError& e) {
    record(fn, e.what());
    return ACLNN_ERR_PARAM_INVALID;
  } catch (const Error& e) {
    record(fn, e.what());
    return static_cast<aclnnStatus>(e.status());
  } catch (const std::bad_alloc&) {
    record(fn, "out of host memory");
    return ACLNN_ERR_INNER;
  } catch (const std::exception& e) {
    record(fn, e.what());
    return ACLNN_ERR_INNER;
  }
}

// What an aclrtContext handle points at: a device's context (cannon keeps one OpenCL context per device; every
// aclrtContext of a device shares it and its memory).
struct ContextHandle {
  int32_t device = 0;
  bool is_default = false;  // the context aclrtSetDevice made; aclrtDestroyContext refuses it
};

// What an aclrtStream points at: an in-order queue on its device's OpenCL context.
struct StreamHandle {
  int32_t device = 0;
  cl_command_queue queue = nullptr;  // owned
};

// One aclrtMalloc allocation: its own OpenCL buffer behind `size` bytes of reserved, inaccessible host address
// space, so device addresses never collide with host memory or with each other.
struct Allocation {
  int32_t device = 0;
  cl_mem mem = nullptr;  // owned
  std::size_t size = 0;
};

// A device address resolved to its allocation: the buffer and the byte offset inside it.
struct DeviceRange {
  int32_t device = 0;
  cl_mem mem = nullptr;
  std::size_t offset = 0;
  std::size_t available = 0;  // bytes from offset to the allocation's end
};

// The device of the current context, the context of the stream, and everything above, under one lock.
class State {
 public:
  static State& get();  // never destroyed: OpenCL may already be gone when static destructors run

  std::mutex mu;
  bool initialized = false;

  // The Context of device `id` (created on first use); throws AclError(ACL_ERROR_RT_INVALID_DEVICEID).
  const Context& device(int32_t id);
  int32_t device_count();
  // The context current on this thread, or ACL_ERROR_RT_CONTEXT_NULL naming `fn`'s need.
  ContextHandle& current(const char* need);
  // The queue of `stream` (null: the current context's default queue), or ACL_ERROR_RT_INVALID_HANDLE.
  StreamHandle stream(aclrtStream stream);
  // The allocation containing [address, address + bytes) (bytes may be 0), or nothing when `address` is not inside
  // any allocation. Throws AclError(ACL_ERROR_INVALID_PARAM) when the range starts inside one and leaves it.
  bool find(const void* address, std::size_t bytes, DeviceRange& out, const char* what);
  // Waits for every queue of device `id` (the default queue and every stream).
  void finish_device(int32_t id);

  std::map<int32_t, std::unique_ptr<Context>> contexts;        // by device id
  std::map<int32_t, int> set_counts;                           // aclrtSetDevice calls not yet reset
  std::map<int32_t, std::unique_ptr<ContextHandle>> defaults;  // each device's default context
  std::map<ContextHandle*, std::unique_ptr<ContextHandle>> user_contexts;
  std::map<StreamHandle*, std::unique_ptr<StreamHandle>> streams;
  std::map<std::uintptr_t, Allocation> allocations;  // by base address

  // Releases every stream, allocation and context (aclFinalize).
  void release_all();

 private:
  State() = default;
  std::vector<int> order_;  // device id -> global OpenCL device index (CANNON_DEVICE's choice first)
  bool enumerated_ = false;
};

// This thread's current context (aclrtSetCurrentContext), or null.
ContextHandle*& current_context();

}  // namespace cannon::aclnn

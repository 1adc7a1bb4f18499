// aclrtMalloc memory on OpenCL (include/acl/acl_rt.h): each allocation is its own buffer behind a reserved,
// inaccessible range of host address space, so device addresses are unique, pointer arithmetic on them works, and
// an accidental dereference faults instead of touching host memory. Copies and sets check that every device range
// lies inside one allocation and never write past destMax.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "host/aclnn/state.hpp"
#include "host/runtime/check.hpp"

using cannon::aclnn::acl_call;
using cannon::aclnn::acl_fail;
using cannon::aclnn::Allocation;
using cannon::aclnn::DeviceRange;
using cannon::aclnn::State;
using cannon::aclnn::StreamHandle;

namespace {

// The device range at `address` of `bytes`, or ACL_ERROR_INVALID_PARAM naming `what`.
DeviceRange device_range(State& s, const void* address, std::size_t bytes, const char* what) {
  DeviceRange r;
  if (!address) acl_fail(ACL_ERROR_INVALID_PARAM, "{}: null", what);
  if (!s.find(address, bytes, r, what)) {
    acl_fail(ACL_ERROR_INVALID_PARAM, "{}: {} is not inside any live aclrtMalloc allocation", what, address);
  }
  return r;
}

// Which sides of a copy are device memory: from `kind`, or for ACL_MEMCPY_DEFAULT from the addresses.
void copy_sides(State& s, aclrtMemcpyKind kind, const void* dst, const void* src, bool& dst_dev, bool& src_dev) {
  DeviceRange ignored;
  switch (kind) {
    case ACL_MEMCPY_HOST_TO_HOST:
      dst_dev = false, src_dev = false;
      return;
    case ACL_MEMCPY_HOST_TO_DEVICE:
      dst_dev = true, src_dev = false;
      return;
    case ACL_MEMCPY_DEVICE_TO_HOST:
      dst_dev = false, src_dev = true;
      return;
    case ACL_MEMCPY_DEVICE_TO_DEVICE:
    case ACL_MEMCPY_INNER_DEVICE_TO_DEVICE:
      dst_dev = true, src_dev = true;
      return;
    case ACL_MEMCPY_DEFAULT:
      dst_dev = s.find(dst, 0, ignored, "dst");
      src_dev = s.find(src, 0, ignored, "src");
      return;
    default:
      acl_fail(ACL_ERROR_INVALID_PARAM,
               "kind {}: cannon copies HOST_TO_HOST, HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE (and "
               "INNER_DEVICE_TO_DEVICE) and DEFAULT",
               static_cast<int>(kind));
  }
}

// The device range at `address`, which must be memory of `device` (the queue's).
DeviceRange on_device(State& s, int32_t device, const void* address, std::size_t bytes, const char* what) {
  const DeviceRange r = device_range(s, address, bytes, what);
  if (r.device != device)
    acl_fail(ACL_ERROR_INVALID_PARAM, "{}: memory of device {}, used on device {}", what, r.device, device);
  return r;
}

// Enqueues the copy on `queue` of `device`; blocking makes it complete before return.
void enqueue_copy(State& s, void* dst, std::size_t dest_max, const void* src, std::size_t count, aclrtMemcpyKind kind,
                  int32_t device, cl_command_queue queue, bool blocking) {
  if (count > dest_max) acl_fail(ACL_ERROR_INVALID_PARAM, "count {} exceeds destMax {}", count, dest_max);
  if (!dst || !src) acl_fail(ACL_ERROR_INVALID_PARAM, "{}: null", dst ? "src" : "dst");
  bool dst_dev = false, src_dev = false;
  copy_sides(s, kind, dst, src, dst_dev, src_dev);
  if (count == 0) return;
  const cl_bool block = blocking ? CL_TRUE : CL_FALSE;
  if (!dst_dev && !src_dev) {
    std::memmove(dst, src, count);
  } else if (dst_dev && !src_dev) {
    const DeviceRange d = on_device(s, device, dst, count, "dst");
    CANNON_CL(clEnqueueWriteBuffer(queue, d.mem, block, d.offset, count, src, 0, nullptr, nullptr));
  } else if (!dst_dev && src_dev) {
    const DeviceRange r = on_device(s, device, src, count, "src");
    CANNON_CL(clEnqueueReadBuffer(queue, r.mem, block, r.offset, count, dst, 0, nullptr, nullptr));
  } else {
    const DeviceRange d = on_device(s, device, dst, count, "dst"), r = on_device(s, device, src, count, "src");
    if (d.mem == r.mem && d.offset < r.offset + count && r.offset < d.offset + count) {
      acl_fail(ACL_ERROR_INVALID_PARAM, "dst and src overlap ({} bytes at offsets {} and {})", count, d.offset,
               r.offset);
    }
    CANNON_CL(clEnqueueCopyBuffer(queue, r.mem, d.mem, r.offset, d.offset, count, 0, nullptr, nullptr));
    if (blocking) CANNON_CL(clFinish(queue));
  }
}

void enqueue_set(State& s, void* dev_ptr, std::size_t max_count, int32_t value, std::size_t count, int32_t device,
                 cl_command_queue queue, bool blocking) {
  if (count > max_count) acl_fail(ACL_ERROR_INVALID_PARAM, "count {} exceeds maxCount {}", count, max_count);
  const DeviceRange d = on_device(s, device, dev_ptr, count, "devPtr");
  if (count == 0) return;
  const auto byte = static_cast<unsigned char>(value);  // CANN sets bytes: the low 8 bits of value
  CANNON_CL(clEnqueueFillBuffer(queue, d.mem, &byte, 1, d.offset, count, 0, nullptr, nullptr));
  if (blocking) CANNON_CL(clFinish(queue));
}

}  // namespace

extern "C" {

aclError aclrtMalloc(void** devPtr, size_t size, aclrtMemMallocPolicy policy) {
  return acl_call("aclrtMalloc", [&] {
    (void)policy;  // huge pages and bandwidth classes do not exist on OpenCL; every policy gets a plain buffer
    if (!devPtr) acl_fail(ACL_ERROR_INVALID_PARAM, "devPtr: null");
    if (size == 0) acl_fail(ACL_ERROR_INVALID_PARAM, "size: 0 (CANN allocates at least one byte only when asked)");
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    const int32_t id = s.current("aclrtMalloc").device;
    const cannon::Context& ctx = s.device(id);
    if (size > ctx.info().max_alloc_size) {
      acl_fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "size {}: above the device's largest allocation ({} bytes)", size,
               ctx.info().max_alloc_size);
    }
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(ctx.cl_context_handle(), CL_MEM_READ_WRITE, size, nullptr, &err);
    if (err != CL_SUCCESS)
      acl_fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "clCreateBuffer of {} bytes: {}", size, cannon::cl_error_name(err));
    void* base = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      clReleaseMemObject(mem);
      acl_fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "reserving {} bytes of address space failed", size);
    }
    s.allocations.emplace(reinterpret_cast<std::uintptr_t>(base), Allocation{id, mem, size});
    *devPtr = base;
  });
}

aclError aclrtFree(void* devPtr) {
  return acl_call("aclrtFree", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.allocations.find(reinterpret_cast<std::uintptr_t>(devPtr));
    if (!devPtr || it == s.allocations.end()) {
      acl_fail(ACL_ERROR_INVALID_PARAM, "devPtr {}: not the start of a live aclrtMalloc allocation", devPtr);
    }
    s.finish_device(it->second.device);  // queued work may still use it
    clReleaseMemObject(it->second.mem);
    munmap(devPtr, it->second.size);
    s.allocations.erase(it);
  });
}

aclError aclrtMemcpy(void* dst, size_t destMax, const void* src, size_t count, aclrtMemcpyKind kind) {
  return acl_call("aclrtMemcpy", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    bool dst_dev = false, src_dev = false;
    copy_sides(s, kind, dst, src, dst_dev, src_dev);
    if (!dst_dev && !src_dev) {  // host to host: no device, no context needed
      enqueue_copy(s, dst, destMax, src, count, kind, -1, nullptr, true);
      return;
    }
    // The device of the device side; a device-side address outside every allocation is reported here, by name.
    const int32_t id = device_range(s, dst_dev ? dst : src, 0, dst_dev ? "dst" : "src").device;
    s.finish_device(id);  // a synchronous copy comes after everything queued on the device's streams
    enqueue_copy(s, dst, destMax, src, count, kind, id, s.device(id).cl_queue_handle(), true);
  });
}

aclError aclrtMemset(void* devPtr, size_t maxCount, int32_t value, size_t count) {
  return acl_call("aclrtMemset", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    const DeviceRange d = device_range(s, devPtr, 0, "devPtr");
    s.finish_device(d.device);
    enqueue_set(s, devPtr, maxCount, value, count, d.device, s.device(d.device).cl_queue_handle(), true);
  });
}

aclError aclrtMemcpyAsync(void* dst, size_t destMax, const void* src, size_t count, aclrtMemcpyKind kind,
                          aclrtStream stream) {
  return acl_call("aclrtMemcpyAsync", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    const StreamHandle h = s.stream(stream);
    enqueue_copy(s, dst, destMax, src, count, kind, h.device, h.queue, kind == ACL_MEMCPY_HOST_TO_HOST);
  });
}

aclError aclrtMemsetAsync(void* devPtr, size_t maxCount, int32_t value, size_t count, aclrtStream stream) {
  return acl_call("aclrtMemsetAsync", [&] {
    State& s = State::get();
    std::lock_guard<std::mutex> lock(s.mu);
    const StreamHandle h = s.stream(stream);
    enqueue_set(s, devPtr, maxCount, value, count, h.device, h.queue, false);
  });
}

}  // extern "C"

// Context creation (owned or adopted handles) and device property queries.
#include "cannon/context.hpp"

#include "cannon/config.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/device_select.hpp"

namespace cannon {
namespace {

template <typename T>
T device_value(cl_device_id device, cl_device_info what) {
  T value{};
  CANNON_CL(clGetDeviceInfo(device, what, sizeof value, &value, nullptr));
  return value;
}

std::string device_string(cl_device_id device, cl_device_info what) {
  std::size_t size = 0;
  CANNON_CL(clGetDeviceInfo(device, what, 0, nullptr, &size));
  std::string s(size, '\0');
  CANNON_CL(clGetDeviceInfo(device, what, size, s.data(), nullptr));
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string platform_string(cl_platform_id platform, cl_platform_info what) {
  std::size_t size = 0;
  CANNON_CL(clGetPlatformInfo(platform, what, 0, nullptr, &size));
  std::string s(size, '\0');
  CANNON_CL(clGetPlatformInfo(platform, what, size, s.data(), nullptr));
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace

// Mesa's gallivm (llvmpipe) caps loop iterations per invocation at LP_MAX_TGSI_LOOP_ITERATIONS = 65535, one counter
// for every loop of the kernel; past it each loop exits after one iteration and the kernel ends "successfully".
void classify_device(DeviceInfo& info) {
  info.pocl = info.platform_name == "Portable Computing Language" || info.platform_vendor == "The pocl project";
  const bool mesa = info.platform_vendor.rfind("Mesa", 0) == 0;
  info.loop_limit = mesa && info.name.rfind("llvmpipe", 0) == 0 ? 65535 : 0;
}

Context::Impl::~Impl() {
  if (queue) clReleaseCommandQueue(queue);
  if (context) clReleaseContext(context);
}

DeviceInfo query_device_info(cl_device_id device) {
  DeviceInfo info;
  info.name = device_string(device, CL_DEVICE_NAME);
  info.version = device_string(device, CL_DEVICE_VERSION);
  auto platform = device_value<cl_platform_id>(device, CL_DEVICE_PLATFORM);
  info.platform_name = platform_string(platform, CL_PLATFORM_NAME);
  info.platform_vendor = platform_string(platform, CL_PLATFORM_VENDOR);
  info.platform_version = platform_string(platform, CL_PLATFORM_VERSION);
  auto type = device_value<cl_device_type>(device, CL_DEVICE_TYPE);
  info.kind = (type & CL_DEVICE_TYPE_CPU)   ? DeviceKind::kCpu
              : (type & CL_DEVICE_TYPE_GPU) ? DeviceKind::kGpu
                                            : DeviceKind::kOther;
  classify_device(info);
  info.local_mem_size = device_value<cl_ulong>(device, CL_DEVICE_LOCAL_MEM_SIZE);
  info.native_float_width = device_value<cl_uint>(device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT);
  info.preferred_float_width = device_value<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT);
  // CL_DEVICE_MEM_BASE_ADDR_ALIGN is in bits.
  info.base_addr_align = std::max<std::size_t>(device_value<cl_uint>(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN) / 8, 1);
  info.max_work_group_size = device_value<std::size_t>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  info.compute_units = device_value<cl_uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS);
  info.global_mem_size = device_value<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE);
  info.max_alloc_size = device_value<cl_ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  info.global_mem_cache_size = device_value<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE);
  return info;
}

Context Context::create(const std::string& spec) { return create(spec, Config::global()); }

Context Context::create(const std::string& spec, const Config& config) {
  const std::string& chosen_spec = spec.empty() ? config.device : spec;
  std::vector<DeviceEntry> entries = enumerate_devices();
  DeviceChoice choice = select_device(entries, chosen_spec, spec.empty() ? "CANNON_DEVICE" : "device spec");
  auto impl = std::make_shared<Impl>();
  impl->config = config;
  impl->device = entries[choice.index].id;
  impl->reason = choice.reason;
  cl_int err = CL_SUCCESS;
  impl->context = clCreateContext(nullptr, 1, &impl->device, nullptr, nullptr, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateContext", __FILE__, __LINE__);
  impl->queue = clCreateCommandQueue(impl->context, impl->device, 0, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateCommandQueue", __FILE__, __LINE__);
  impl->info = query_device_info(impl->device);
  impl->errors.create(impl->context);
  if (config.verbose >= Verbosity::kDispatch) {
    fmt::print(stderr, "cannon: device '{}' ({})\n", impl->info.name, impl->reason);
  }
  return Context(std::move(impl));
}

Context Context::adopt(cl_context context, cl_device_id device, cl_command_queue queue) {
  return adopt(context, device, queue, Config::global());
}

Context Context::adopt(cl_context context, cl_device_id device, cl_command_queue queue, const Config& config) {
  if (!context || !device || !queue) {
    fail(Status::kParamNullptr, "Context::adopt: context, device and queue must all be non-null");
  }
  auto impl = std::make_shared<Impl>();
  impl->config = config;
  CANNON_CL(clRetainContext(context));
  impl->context = context;
  CANNON_CL(clRetainCommandQueue(queue));
  impl->queue = queue;
  impl->device = device;
  impl->reason = "adopted from the caller";
  impl->info = query_device_info(device);
  impl->errors.create(context);
  return Context(std::move(impl));
}

cl_context Context::cl_context_handle() const { return impl_->context; }
cl_device_id Context::cl_device_handle() const { return impl_->device; }
cl_command_queue Context::cl_queue_handle() const { return impl_->queue; }
const DeviceInfo& Context::info() const { return impl_->info; }
const std::string& Context::selection_reason() const { return impl_->reason; }
const Config& Context::config() const { return impl_->config; }

void Context::finish(cl_command_queue queue) const {
  if (!queue) queue = impl_->queue;
  CANNON_CL(clFinish(queue));
  impl_->errors.raise(queue);
}

}  // namespace cannon

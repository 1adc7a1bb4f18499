// Kernel: creation, argument setting and the one enqueue with its logging; see kernel.hpp.
#include "host/runtime/kernel.hpp"

#include <chrono>
#include <utility>

#include "host/runtime/check.hpp"

namespace cannon {

Kernel::Kernel(cl_program program, const std::string& name, Verbosity verbose, std::string options)
    : name_(name), options_(std::move(options)), verbose_(verbose) {
  cl_int err = CL_SUCCESS;
  kernel_ = clCreateKernel(program, name.c_str(), &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateKernel", __FILE__, __LINE__);
  CANNON_CL(clGetKernelInfo(kernel_, CL_KERNEL_NUM_ARGS, sizeof num_args_, &num_args_, nullptr));
  if (num_args_ > 64) fail(Status::kInnerError, "kernel {}: {} arguments (at most 64 are tracked)", name_, num_args_);
}

Kernel::Kernel(Kernel&& other) noexcept
    : kernel_(std::exchange(other.kernel_, nullptr)),
      name_(std::move(other.name_)),
      options_(std::move(other.options_)),
      verbose_(other.verbose_),
      num_args_(other.num_args_),
      set_args_(other.set_args_) {}

Kernel& Kernel::operator=(Kernel&& other) noexcept {
  if (this != &other) {
    if (kernel_) clReleaseKernel(kernel_);
    kernel_ = std::exchange(other.kernel_, nullptr);
    name_ = std::move(other.name_);
    options_ = std::move(other.options_);
    verbose_ = other.verbose_;
    num_args_ = other.num_args_;
    set_args_ = other.set_args_;
  }
  return *this;
}

Kernel::~Kernel() {
  if (kernel_) clReleaseKernel(kernel_);
}

std::size_t Kernel::max_local_size(cl_device_id device) const {
  std::size_t max_local = 0;
  CANNON_CL(
      clGetKernelWorkGroupInfo(kernel_, device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_local, &max_local, nullptr));
  return max_local;
}

void Kernel::check_local_size(cl_device_id device, std::size_t local) const {
  const std::size_t max_local = max_local_size(device);
  cl_ulong private_bytes = 0;
  CANNON_CL(clGetKernelWorkGroupInfo(kernel_, device, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof private_bytes, &private_bytes,
                                     nullptr));
  if (local > max_local) {
    fail(Status::kRuntimeError,
         "{}: local size {} exceeds the built kernel's CL_KERNEL_WORK_GROUP_SIZE {} ({} bytes of private memory per "
         "work-item); choose a smaller one with CANNON_TUNE",
         name_, local, max_local, private_bytes);
  }
}

void Kernel::set(cl_uint index, cl_mem buffer) { set_bytes(index, sizeof buffer, &buffer); }

void Kernel::set_bytes(cl_uint index, std::size_t size, const void* value) {
  if (index >= num_args_) fail(Status::kInnerError, "kernel {}: argument {} of {}", name_, index, num_args_);
  CANNON_CL(clSetKernelArg(kernel_, index, size, value));
  set_args_ |= uint64_t{1} << index;
}

Event Kernel::enqueue(cl_command_queue queue, std::size_t global, std::size_t local,
                      const std::vector<cl_event>& wait_for, const LaunchNote& note) const {
  const uint64_t all = num_args_ == 64 ? ~uint64_t{0} : (uint64_t{1} << num_args_) - 1;
  if (set_args_ != all) fail(Status::kInnerError, "kernel {}: not every argument is set", name_);
  const cl_uint waits = static_cast<cl_uint>(wait_for.size());
  const cl_event* wait_list = wait_for.empty() ? nullptr : wait_for.data();
  cl_event event = nullptr;
  if (global == 0) {
    CANNON_CL(clEnqueueMarkerWithWaitList(queue, waits, wait_list, &event));
    return Event(event);
  }
  if (verbose_ >= Verbosity::kDispatch) {
    fmt::print(stderr, "cannon: {} {} global={} local={}{}{}\n", name_, options_, global, local,
               note.detail.empty() ? "" : " ", note.detail);
  }
  const auto start = std::chrono::steady_clock::now();
  CANNON_CL(clEnqueueNDRangeKernel(queue, kernel_, 1, nullptr, &global, &local, waits, wait_list, &event));
  Event done(event);
  if (verbose_ >= Verbosity::kProfile) {
    done.wait();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (note.unit) {  // work per millisecond, 1e-6 of it per second and 1e9 units
      fmt::print(stderr, "cannon: {} {:.3f} ms, {:.2f} {}\n", name_, ms, note.work / ms * 1e-6, note.unit);
    } else {
      fmt::print(stderr, "cannon: {} {:.3f} ms\n", name_, ms);
    }
  }
  return done;
}

}  // namespace cannon

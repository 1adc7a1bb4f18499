// Launch checks every operator's planner runs after it chose a kernel shape and built the program.
#include "host/runtime/launch_check.hpp"

#include "host/runtime/check.hpp"

namespace cannon {

void check_loop_budget(const DeviceInfo& device, uint64_t steps, std::string_view kernel, std::string_view what) {
  if (device.loop_limit == 0 || steps <= device.loop_limit) return;
  fail(Status::kUnimplemented,
       "{} on '{}' ({}): {} needs about {} loop iterations per work-item, but this OpenCL implementation silently "
       "ends every loop of a kernel after {} (Mesa llvmpipe's LP_MAX_TGSI_LOOP_ITERATIONS; docs/devices.md)",
       kernel, device.name, device.platform_name, what, steps, device.loop_limit);
}

void check_work_group(cl_program program, cl_device_id device, const char* kernel, std::size_t local) {
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(program, kernel, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateKernel", __FILE__, __LINE__);
  std::size_t max_local = 0;
  cl_ulong private_bytes = 0;
  err = clGetKernelWorkGroupInfo(k, device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_local, &max_local, nullptr);
  if (err == CL_SUCCESS) {
    err =
        clGetKernelWorkGroupInfo(k, device, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof private_bytes, &private_bytes, nullptr);
  }
  clReleaseKernel(k);
  if (err != CL_SUCCESS) throw_cl_error(err, "clGetKernelWorkGroupInfo", __FILE__, __LINE__);
  if (local > max_local) {
    fail(Status::kRuntimeError,
         "{}: local size {} exceeds the built kernel's CL_KERNEL_WORK_GROUP_SIZE {} ({} bytes of private memory per "
         "work-item); choose a smaller one with CANNON_TUNE",
         kernel, local, max_local, private_bytes);
  }
}

}  // namespace cannon

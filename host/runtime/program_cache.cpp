// Builds and caches OpenCL programs; see program_cache.hpp.
#include "host/runtime/program_cache.hpp"

#include <functional>

#include "cannon/config.hpp"
#include "host/runtime/check.hpp"

namespace cannon {

ProgramCache::~ProgramCache() {
  for (auto& [key, program] : programs_) clReleaseProgram(program);
}

std::size_t ProgramCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return programs_.size();
}

cl_program ProgramCache::get(cl_context context, cl_device_id device, const std::string& source,
                             const std::string& options) {
  const std::string key = fmt::format("{}|{}|{:x}|{}", static_cast<void*>(device), source.size(),
                                      std::hash<std::string>{}(source), options);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = programs_.find(key);
  if (it != programs_.end()) return it->second;

  const char* text = source.c_str();
  std::size_t length = source.size();
  cl_int err = CL_SUCCESS;
  cl_program program = clCreateProgramWithSource(context, 1, &text, &length, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateProgramWithSource", __FILE__, __LINE__);
  if (Config::global().verbose >= Verbosity::kDispatch) fmt::print(stderr, "cannon: building program {}\n", options);
  err = clBuildProgram(program, 1, &device, options.c_str(), nullptr, nullptr);
  if (err != CL_SUCCESS) {
    std::size_t size = 0;
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
    std::string log(size, '\0');
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
    clReleaseProgram(program);
    fail(Status::kRuntimeError, "clBuildProgram failed ({}) with options '{}':\n{}", cl_error_name(err), options, log);
  }
  programs_.emplace(key, program);
  return program;
}

}  // namespace cannon

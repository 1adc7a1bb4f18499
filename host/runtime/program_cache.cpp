// Builds and caches OpenCL programs; see program_cache.hpp.
#include "host/runtime/program_cache.hpp"

#include <functional>

#include "host/runtime/check.hpp"

namespace cannon {
namespace {

std::string read_build_log(cl_program program, cl_device_id device) {
  std::size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS) return {};
  std::string log(size, '\0');
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr) != CL_SUCCESS) return {};
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n' || log.back() == ' ')) log.pop_back();
  return log;
}

}  // namespace

ProgramCache::~ProgramCache() {
  for (auto& [key, entry] : programs_) clReleaseProgram(entry.program);
}

std::size_t ProgramCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return programs_.size();
}

std::string ProgramCache::build_log(cl_program program) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, entry] : programs_) {
    if (entry.program == program) return entry.log;
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> ProgramCache::build_logs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, std::string>> logs;
  for (const auto& [key, entry] : programs_) logs.emplace_back(entry.options, entry.log);
  return logs;
}

cl_program ProgramCache::get(cl_context context, cl_device_id device, const std::string& source,
                             const std::string& options, Verbosity verbose) {
  const std::string key = fmt::format("{}|{}|{:x}|{}", static_cast<void*>(device), source.size(),
                                      std::hash<std::string>{}(source), options);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = programs_.find(key);
  if (it != programs_.end()) return it->second.program;

  const char* text = source.c_str();
  std::size_t length = source.size();
  cl_int err = CL_SUCCESS;
  cl_program program = clCreateProgramWithSource(context, 1, &text, &length, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateProgramWithSource", __FILE__, __LINE__);
  if (verbose >= Verbosity::kDispatch) fmt::print(stderr, "cannon: building program {}\n", options);
  err = clBuildProgram(program, 1, &device, options.c_str(), nullptr, nullptr);
  std::string log = read_build_log(program, device);
  if (err != CL_SUCCESS) {
    clReleaseProgram(program);
    fail(Status::kRuntimeError, "clBuildProgram failed ({}) with options '{}':\n{}", cl_error_name(err), options, log);
  }
  if (verbose >= Verbosity::kDispatch && !log.empty()) fmt::print(stderr, "cannon: build log:\n{}\n", log);
  programs_.emplace(key, Entry{program, options, std::move(log)});
  return program;
}

}  // namespace cannon

// Builds and caches OpenCL programs; see program_cache.hpp.
#include "host/runtime/program_cache.hpp"

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

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

std::string device_text(cl_device_id device, cl_device_info what) {
  std::size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS) return {};
  std::string s(size, '\0');
  if (clGetDeviceInfo(device, what, size, s.data(), nullptr) != CL_SUCCESS) return {};
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// 64-bit FNV-1a: a file name that is the same in every process and build (std::hash need not be).
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The on-disk cache of built program binaries in `dir` (Config::program_cache, CANNON_PROGRAM_CACHE; "" is off). Why:
// with PoCL's own cache warm, clBuildProgram from source still runs clang's preprocessor to compute PoCL's cache key
// (~50 ms of a ~67 ms build on a 2-core EPYC), while a build from the binary took ~17 ms; the first call of a process
// pays it once per program (docs/performance.md, "Start-up"). The file name hashes everything the binary depends on:
// platform and device names and versions, the driver version (a PoCL upgrade misses), the source and the full options;
// PoCL's device name carries its LLVM target, so an emulated ISA (POCL_KERNELLIB_NAME) gets its own entries. Any
// failure to read, create or build from a cached binary falls back to the source build.
std::string binary_cache_path(const std::string& dir, cl_device_id device, const std::string& source,
                              const std::string& options) {
  if (dir.empty()) return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // a failure only means no cache: reads and writes then fail quietly
  cl_platform_id platform = nullptr;
  if (clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, nullptr) != CL_SUCCESS) return {};
  std::size_t size = 0;
  std::string platform_version;
  if (clGetPlatformInfo(platform, CL_PLATFORM_VERSION, 0, nullptr, &size) == CL_SUCCESS) {
    platform_version.resize(size);
    clGetPlatformInfo(platform, CL_PLATFORM_VERSION, size, platform_version.data(), nullptr);
  }
  const std::string key =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", platform_version, device_text(device, CL_DEVICE_NAME),
                  device_text(device, CL_DEVICE_VERSION), device_text(device, CL_DRIVER_VERSION), options, source);
  return fmt::format("{}/{:016x}-{:016x}.bin", dir, fnv1a(key), fnv1a(source));
}

cl_program program_from_binary(cl_context context, cl_device_id device, const std::string& path,
                               const std::string& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  const std::string bin((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bin.empty()) return nullptr;
  const auto* bytes = reinterpret_cast<const unsigned char*>(bin.data());
  const std::size_t length = bin.size();
  cl_int status = CL_SUCCESS, err = CL_SUCCESS;
  cl_program program = clCreateProgramWithBinary(context, 1, &device, &length, &bytes, &status, &err);
  if (err != CL_SUCCESS || status != CL_SUCCESS) {
    if (program) clReleaseProgram(program);
    return nullptr;
  }
  if (clBuildProgram(program, 1, &device, options.c_str(), nullptr, nullptr) != CL_SUCCESS) {
    clReleaseProgram(program);
    return nullptr;
  }
  return program;
}

// Writes the program's binary to `path` through a temporary file and a rename, so a reader never sees half a file.
void store_binary(cl_program program, const std::string& path) {
  std::size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) != CL_SUCCESS || size == 0) {
    return;
  }
  std::string bin(size, '\0');
  unsigned char* data = reinterpret_cast<unsigned char*>(bin.data());
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof data, &data, nullptr) != CL_SUCCESS) return;
  const std::string tmp = fmt::format("{}.{}.tmp", path, static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out || !out.write(bin.data(), static_cast<std::streamsize>(bin.size()))) {
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
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
                             const std::string& options, Verbosity verbose, const std::string& binary_dir) {
  const std::string key = fmt::format("{}|{}|{:x}|{}", static_cast<void*>(device), source.size(),
                                      std::hash<std::string>{}(source), options);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = programs_.find(key);
  if (it != programs_.end()) return it->second.program;

  const std::string binary_path = binary_cache_path(binary_dir, device, source, options);
  if (!binary_path.empty()) {
    if (cl_program program = program_from_binary(context, device, binary_path, options)) {
      if (verbose >= Verbosity::kDispatch) fmt::print(stderr, "cannon: program from {} {}\n", binary_path, options);
      programs_.emplace(key, Entry{program, options, read_build_log(program, device)});
      return program;
    }
  }
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
  if (!binary_path.empty()) store_binary(program, binary_path);
  programs_.emplace(key, Entry{program, options, std::move(log)});
  return program;
}

}  // namespace cannon

// Implements CANNON_DEVICE: which OpenCL device an owned Context uses, and why.
#include "host/runtime/device_select.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "host/runtime/check.hpp"

namespace cannon {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A decimal index, or SIZE_MAX when it does not fit (no device has that index, and std::stoul's own
// out_of_range message would name stoul instead of the variable).
std::size_t parse_index(const std::string& digits) {
  std::size_t v = 0;
  for (char c : digits) {
    if (__builtin_mul_overflow(v, std::size_t{10}, &v) || __builtin_add_overflow(v, std::size_t(c - '0'), &v)) {
      return SIZE_MAX;
    }
  }
  return v;
}

[[noreturn]] void no_match(const std::vector<DeviceEntry>& entries, std::string_view source, const std::string& spec,
                           const char* why) {
  fail(Status::kParamInvalid, "{}='{}': {}. Devices:\n{}", source, spec, why,
       entries.empty() ? std::string("  (no OpenCL device found; is an ICD such as pocl-opencl-icd installed?)")
                       : describe_devices(entries));
}

std::string get_info_string(cl_device_id id, cl_device_info what) {
  std::size_t size = 0;
  CANNON_CL(clGetDeviceInfo(id, what, 0, nullptr, &size));
  std::string s(size, '\0');
  CANNON_CL(clGetDeviceInfo(id, what, size, s.data(), nullptr));
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace

std::string describe_devices(const std::vector<DeviceEntry>& entries) {
  std::string out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const DeviceEntry& e = entries[i];
    out += fmt::format("  {}: [{}:{}] {} ({}){}\n", i, e.platform, e.device, e.name, e.platform_name,
                       e.is_cpu   ? " cpu"
                       : e.is_gpu ? " gpu"
                                  : "");
  }
  return out;
}

DeviceChoice select_device(const std::vector<DeviceEntry>& entries, const std::string& raw_spec,
                           std::string_view source) {
  const std::string spec = lower(raw_spec);
  if (entries.empty()) no_match(entries, source, raw_spec, "no OpenCL device is available");
  if (spec.empty()) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].is_cpu) return {i, "CANNON_DEVICE unset: first CPU device"};
    }
    return {0, "CANNON_DEVICE unset and no CPU device: first device"};
  }
  if (all_digits(spec)) {
    const std::size_t idx = parse_index(spec);
    if (idx >= entries.size()) no_match(entries, source, raw_spec, "device index out of range");
    return {idx, fmt::format("{}={}: device index", source, raw_spec)};
  }
  auto colon = spec.find(':');
  if (colon != std::string::npos && all_digits(spec.substr(0, colon)) && all_digits(spec.substr(colon + 1))) {
    const std::size_t p = parse_index(spec.substr(0, colon));
    const std::size_t d = parse_index(spec.substr(colon + 1));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (static_cast<std::size_t>(entries[i].platform) == p && static_cast<std::size_t>(entries[i].device) == d) {
        return {i, fmt::format("{}={}: platform {} device {}", source, raw_spec, p, d)};
      }
    }
    no_match(entries, source, raw_spec, "no such platform:device");
  }
  if (spec == "cpu" || spec == "gpu") {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (spec == "cpu" ? entries[i].is_cpu : entries[i].is_gpu) {
        return {i, fmt::format("{}={}: first {} device", source, raw_spec, spec)};
      }
    }
    no_match(entries, source, raw_spec, spec == "cpu" ? "no CPU device" : "no GPU device");
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (lower(entries[i].name).find(spec) != std::string::npos ||
        lower(entries[i].platform_name).find(spec) != std::string::npos) {
      return {i, fmt::format("{}={}: first device whose name contains it", source, raw_spec)};
    }
  }
  no_match(entries, source, raw_spec, "no device name or platform name contains it");
}

std::vector<DeviceEntry> enumerate_devices() {
  std::vector<DeviceEntry> out;
  cl_uint nplat = 0;
  if (clGetPlatformIDs(0, nullptr, &nplat) != CL_SUCCESS || nplat == 0) return out;
  std::vector<cl_platform_id> plats(nplat);
  CANNON_CL(clGetPlatformIDs(nplat, plats.data(), nullptr));
  for (cl_uint p = 0; p < nplat; ++p) {
    std::size_t size = 0;
    CANNON_CL(clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, 0, nullptr, &size));
    std::string pname(size, '\0');
    CANNON_CL(clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, size, pname.data(), nullptr));
    while (!pname.empty() && pname.back() == '\0') pname.pop_back();
    cl_uint ndev = 0;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &ndev) != CL_SUCCESS || ndev == 0) continue;
    std::vector<cl_device_id> devs(ndev);
    CANNON_CL(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs.data(), nullptr));
    for (cl_uint d = 0; d < ndev; ++d) {
      cl_device_type type = 0;
      CANNON_CL(clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, nullptr));
      out.push_back(DeviceEntry{static_cast<int>(p), static_cast<int>(d), pname,
                                get_info_string(devs[d], CL_DEVICE_NAME), (type & CL_DEVICE_TYPE_CPU) != 0,
                                (type & CL_DEVICE_TYPE_GPU) != 0, devs[d]});
    }
  }
  return out;
}

}  // namespace cannon

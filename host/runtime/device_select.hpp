// Device selection from a CANNON_DEVICE spec. select_device() is pure (works on a list of entries),
// so every spec form is unit-tested without OpenCL; enumerate_devices() reads the real platforms.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cannon/cl.hpp"

namespace cannon {

struct DeviceEntry {
  int platform = 0;  // platform index
  int device = 0;    // device index within the platform
  std::string platform_name;
  std::string name;
  bool is_cpu = false;
  bool is_gpu = false;
  cl_device_id id = nullptr;
};

struct DeviceChoice {
  std::size_t index = 0;  // into the entries list
  std::string reason;
};

// spec: "" (first CPU, else first device), "N" (global index), "P:D", "cpu", "gpu", or a case-insensitive
// substring of the device or platform name. Throws Error(kParamInvalid) listing the devices on no match.
// `source` names where the spec came from, in the reason and in errors.
DeviceChoice select_device(const std::vector<DeviceEntry>& entries, const std::string& spec,
                           std::string_view source = "CANNON_DEVICE");

// All devices of all platforms, in platform then device order. Empty if there is no OpenCL platform.
std::vector<DeviceEntry> enumerate_devices();

// "0: [0:0] pthread-skylake (Portable Computing Language) cpu" lines, for errors and cannon-info.
std::string describe_devices(const std::vector<DeviceEntry>& entries);

}  // namespace cannon

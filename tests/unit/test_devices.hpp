// Devices described as query_device_info() would (names and vendors as the drivers report them), for the unit tests
// of everything that decides from a DeviceInfo: kernel configs, tuning keys and lookups.
#pragma once

#include <cstddef>

#include "cannon/context.hpp"
#include "host/runtime/context_impl.hpp"

namespace cannon::test {

inline DeviceInfo device(const char* platform, const char* vendor, const char* name, DeviceKind kind,
                         std::size_t max_work_group_size = 1024) {
  DeviceInfo d;
  d.platform_name = platform;
  d.platform_vendor = vendor;
  d.name = name;
  d.kind = kind;
  d.max_work_group_size = max_work_group_size;
  classify_device(d);
  return d;
}

}  // namespace cannon::test

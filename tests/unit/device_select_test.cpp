// Device selection by CANNON_DEVICE, on synthetic device lists (no OpenCL needed).
#include <gtest/gtest.h>

#include "cannon/error.hpp"
#include "host/runtime/device_select.hpp"

namespace cannon {
namespace {

std::vector<DeviceEntry> devices() {
  return {
      {0, 0, "NVIDIA CUDA", "NVIDIA H100", false, true, nullptr},
      {1, 0, "Portable Computing Language", "pthread-skylake-avx512", true, false, nullptr},
      {1, 1, "Portable Computing Language", "pthread-second", true, false, nullptr},
  };
}

TEST(DeviceSelect, DefaultIsFirstCpu) { EXPECT_EQ(select_device(devices(), "").index, 1u); }

TEST(DeviceSelect, DefaultFallsBackToFirstDevice) {
  auto list = devices();
  list.erase(list.begin() + 1, list.end());
  DeviceChoice c = select_device(list, "");
  EXPECT_EQ(c.index, 0u);
  EXPECT_NE(c.reason.find("no CPU"), std::string::npos);
}

TEST(DeviceSelect, IndexPlatformDeviceKindAndName) {
  EXPECT_EQ(select_device(devices(), "2").index, 2u);
  EXPECT_EQ(select_device(devices(), "1:1").index, 2u);
  EXPECT_EQ(select_device(devices(), "0:0").index, 0u);
  EXPECT_EQ(select_device(devices(), "gpu").index, 0u);
  EXPECT_EQ(select_device(devices(), "CPU").index, 1u);
  EXPECT_EQ(select_device(devices(), "h100").index, 0u);
  EXPECT_EQ(select_device(devices(), "SECOND").index, 2u);
  EXPECT_EQ(select_device(devices(), "portable").index, 1u);
}

TEST(DeviceSelect, NoMatchListsTheDevices) {
  // Indices too large for any integer type are out of range too (they used to fail inside std::stoul).
  for (const char* spec :
       {"7", "3:0", "tpu", "amd", "99999999999999999999999", "1:99999999999999", "18446744073709551616"}) {
    try {
      select_device(devices(), spec);
      FAIL() << spec;
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kParamInvalid);
      std::string msg = e.what();
      EXPECT_NE(msg.find(spec), std::string::npos) << msg;
      EXPECT_NE(msg.find("NVIDIA H100"), std::string::npos) << msg;
      EXPECT_NE(msg.find("pthread-second"), std::string::npos) << msg;
    }
  }
}

TEST(DeviceSelect, NoGpuIsAnError) {
  auto list = devices();
  list.erase(list.begin());
  EXPECT_THROW(select_device(list, "gpu"), Error);
  EXPECT_THROW(select_device({}, ""), Error);
}

}  // namespace
}  // namespace cannon

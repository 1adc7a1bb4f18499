// The build-options builder: every program gets the common flags, the typed -D list in order, and the Context's
// Config::kernel_defines, whose names are checked (they reach the compiler's command line).
#include <gtest/gtest.h>

#include <string>

#include "cannon/config.hpp"
#include "cannon/error.hpp"
#include "host/runtime/build_options.hpp"

namespace cannon {
namespace {

TEST(BuildOptions, CommonFlagsThenDefinesThenKernelDefines) {
  Config config;
  config.kernel_defines = {{"CANNON_FAULT", 3}};
  BuildOptions options;
  options.define("DTYPE", 2).define("DK", 64).define("GENERIC_ONLY");
  EXPECT_EQ(options.str(config),
            "-cl-std=CL1.2 -cl-denorms-are-zero -DDTYPE=2 -DDK=64 -DGENERIC_ONLY -DCANNON_FAULT=3");
  EXPECT_EQ(BuildOptions().str(Config{}), "-cl-std=CL1.2 -cl-denorms-are-zero");
}

TEST(BuildOptions, RejectsBadKernelDefines) {
  for (const char* name : {"", "1X", "A B", "A=1 -DB", "X-Y"}) {
    Config config;
    config.kernel_defines = {{name, 1}};
    EXPECT_THROW(BuildOptions().str(config), Error) << name;
  }
  Config config;
  config.kernel_defines = {{"DK", 1}};
  try {
    BuildOptions().define("DK", 64).str(config);
    FAIL() << "a kernel define overrode the kernel config";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid);
    EXPECT_NE(std::string(e.what()).find("kernel_defines"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cannon

// The one builder of clBuildProgram options: the flags every cannon kernel is written for, then the kernel config's
// -D macros in the order given, then the Context's Config::kernel_defines. The ProgramCache keys on the whole
// string, so anything that changes the binary is part of the key.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cannon/config.hpp"

namespace cannon {

// -cl-denorms-are-zero: probabilities far below a row's max (ALiBi at long distances) underflow into fp32
// denormals, and x86 FMAs on denormals take microcode assists (pse_type 2 at S = 2048 ran 2.2x slower than without
// pse). Flushing changes only terms below 1.2e-38 next to a row sum of at least 1.
inline constexpr const char* kCommonBuildFlags = "-cl-std=CL1.2 -cl-denorms-are-zero";

class BuildOptions {
 public:
  BuildOptions& define(std::string_view name, long value);
  BuildOptions& define(std::string_view name);  // -DNAME, a switch
  // The common flags, these macros and config.kernel_defines. Throws Error(kParamInvalid) naming
  // Config::kernel_defines for a name that is not an identifier or that the kernel config already sets.
  std::string str(const Config& config) const;

 private:
  std::vector<std::pair<std::string, std::optional<long>>> defines_;
};

}  // namespace cannon

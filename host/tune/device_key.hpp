// Database device keys: platform + device, never the device type alone (docs/tuning.md). A device has several
// keys, most specific first: "pocl/pthread-skylake-avx512-AMD EPYC" (the full name), then its code target
// "pocl/pthread-skylake-avx512", which every CPU of that ISA shares whatever PoCL appends for the model. Mesa's
// rusticl/llvmpipe is "rusticl/llvmpipe (LLVM 15.0.6, 256 bits)", then "rusticl/llvmpipe".
#pragma once

#include <string>
#include <vector>

#include "cannon/context.hpp"

namespace cannon::tune {

// "pocl" (PoCL), "rusticl", "clover", or the platform name as reported.
std::string platform_key(const DeviceInfo& device);

// The device name's target part: PoCL's "<driver>-<llvm cpu>" (the leading '-'-separated tokens that are lower
// case, digits or '_'), otherwise the name up to " (".
std::string target_part(const DeviceInfo& device);

// The keys a lookup tries, most specific first. `pocl_cpu_name` (POCL_LLVM_CPU_NAME, when set) replaces the PoCL
// target's CPU: code built for "haswell" on an AVX-512 box looks up "pocl/pthread-haswell", and the full name (the
// host's model) is not used.
std::vector<std::string> device_keys(const DeviceInfo& device, const std::string& pocl_cpu_name = "");

}  // namespace cannon::tune

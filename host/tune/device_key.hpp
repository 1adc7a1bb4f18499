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

// The keys a lookup tries, most specific first. PoCL names the device after the target it generates code for, so
// AVX2 code on an AVX-512 box (POCL_KERNELLIB_NAME=avx2 on Debian's PoCL) is "pthread-haswell-…" and finds the
// AVX2 entries (docs/tuning.md).
std::vector<std::string> device_keys(const DeviceInfo& device);

}  // namespace cannon::tune

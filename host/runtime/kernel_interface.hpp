// The host's side of kernels/interface.h: the shared header itself, plus compile-time proof that the argument
// structs have the layout the OpenCL compiler gives them (every field at the offset its position implies, no
// padding), and the trait Kernel::set uses to accept them by value.
#pragma once

#include <cstddef>
#include <type_traits>

#include "kernels/interface.h"

namespace cannon {

template <typename T>
struct IsKernelStruct : std::false_type {};
template <>
struct IsKernelStruct<FaArgs> : std::true_type {};
template <>
struct IsKernelStruct<FagArgs> : std::true_type {};
template <>
struct IsKernelStruct<RauArgs> : std::true_type {};
template <>
struct IsKernelStruct<NsaArgs> : std::true_type {};
template <>
struct IsKernelStruct<DropoutMaskArgs> : std::true_type {};

static_assert(std::is_standard_layout_v<FaArgs> && std::is_trivially_copyable_v<FaArgs>);
static_assert(offsetof(FaArgs, entries) == 27 * 8 && offsetof(FaArgs, group) == 28 * 8);
static_assert(offsetof(FaArgs, drop_threshold) == 28 * 8 + 8 * 4 && offsetof(FaArgs, reserved) == 28 * 8 + 9 * 4);
static_assert(std::is_standard_layout_v<FagArgs> && offsetof(FagArgs, ain_off) == sizeof(FaArgs));
static_assert(offsetof(FagArgs, parts) == sizeof(FaArgs) + 19 * 8 &&
              offsetof(FagArgs, batches) == sizeof(FaArgs) + 19 * 8 + 4);
static_assert(offsetof(FagArgs, chunk_rows) == sizeof(FaArgs) + 20 * 8 &&
              offsetof(FagArgs, dkv_entry) == sizeof(FagArgs) - 8);
static_assert(std::is_standard_layout_v<RauArgs> && offsetof(RauArgs, heads) == 13 * 8);
static_assert(std::is_standard_layout_v<NsaArgs> && offsetof(NsaArgs, entries) == 18 * 8);
static_assert(offsetof(NsaArgs, n2_count) == 19 * 8 && offsetof(NsaArgs, reserved) == 19 * 8 + 3 * 4);
static_assert(std::is_standard_layout_v<DropoutMaskArgs> && offsetof(DropoutMaskArgs, threshold) == 2 * 8 + 3 * 4);

}  // namespace cannon

// Error helpers used across the host code: argument checks that throw cannon::Error with a formatted
// message, and CANNON_CL, which checks an OpenCL call and reports the call's text and source location.
#pragma once

#include <fmt/format.h>

#include "cannon/cl.hpp"
#include "cannon/error.hpp"

namespace cannon {

template <typename... Args>
[[noreturn]] void fail(Status status, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(status, fmt::format(format, std::forward<Args>(args)...));
}

// Throws Error(kParamInvalid) with the message when cond is false.
template <typename... Args>
void require(bool cond, fmt::format_string<Args...> format, Args&&... args) {
  if (!cond) throw Error(Status::kParamInvalid, fmt::format(format, std::forward<Args>(args)...));
}

const char* cl_error_name(cl_int code);
[[noreturn]] void throw_cl_error(cl_int code, const char* call, const char* file, int line);

}  // namespace cannon

#define CANNON_CL(call)                                                                                          \
  do {                                                                                                           \
    cl_int cannon_cl_status_ = (call);                                                                           \
    if (cannon_cl_status_ != CL_SUCCESS) ::cannon::throw_cl_error(cannon_cl_status_, #call, __FILE__, __LINE__); \
  } while (0)

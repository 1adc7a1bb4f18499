// cannon::Error and the status codes of the public boundary.
// Internals throw Error with a message that names the argument and the rule it broke; the C API and
// the tools turn it into CANN's aclnn status values, so callers of either API see the same codes.
#pragma once

#include "cannon/export.hpp"

#include <stdexcept>
#include <string>

namespace cannon {

// Values follow CANN's aclnn status codes where CANN has one; kUnimplemented is cannon's own, for
// Ascend features that a later cannon release will add.
enum class Status : int {
  kSuccess = 0,
  kParamNullptr = 161001,   // ACLNN_ERR_PARAM_NULLPTR
  kParamInvalid = 161002,   // ACLNN_ERR_PARAM_INVALID
  kRuntimeError = 361001,   // ACLNN_ERR_RUNTIME_ERROR (OpenCL failures)
  kInnerError = 561000,     // ACLNN_ERR_INNER (a cannon bug)
  kUnimplemented = 561101,  // valid Ascend input that cannon does not implement yet
};

CANNON_API const char* status_name(Status status);

class CANNON_API Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const { return status_; }

 private:
  Status status_;
};

}  // namespace cannon

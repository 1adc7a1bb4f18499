// Names for cannon's status codes, for messages and the tools' reports.
#include "cannon/error.hpp"

namespace cannon {

const char* status_name(Status status) {
  switch (status) {
    case Status::kSuccess:
      return "success";
    case Status::kParamNullptr:
      return "null argument";
    case Status::kParamInvalid:
      return "invalid argument";
    case Status::kRuntimeError:
      return "runtime error";
    case Status::kInnerError:
      return "internal error";
    case Status::kUnimplemented:
      return "unimplemented";
  }
  return "unknown status";
}

}  // namespace cannon

// cannon::Event: reference counting of the cl_event a run returns, and waiting on it; see cannon/stream.hpp.
#include "cannon/error.hpp"
#include "cannon/stream.hpp"
#include "host/runtime/check.hpp"

namespace cannon {

Event::Event(const Event& other) : event_(other.event_) {
  if (event_) clRetainEvent(event_);
}

Event& Event::operator=(const Event& other) {
  if (this != &other) {
    if (other.event_) clRetainEvent(other.event_);
    if (event_) clReleaseEvent(event_);
    event_ = other.event_;
  }
  return *this;
}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    if (event_) clReleaseEvent(event_);
    event_ = other.event_;
    other.event_ = nullptr;
  }
  return *this;
}

Event::~Event() {
  if (event_) clReleaseEvent(event_);
}

void Event::wait() const {
  if (!event_) return;
  CANNON_CL(clWaitForEvents(1, &event_));
  cl_int status = CL_COMPLETE;
  CANNON_CL(clGetEventInfo(event_, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr));
  if (status < 0) fail(Status::kRuntimeError, "a cannon command failed on the device ({})", cl_error_name(status));
}

}  // namespace cannon

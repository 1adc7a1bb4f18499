// Where an operator's run is enqueued and what it waits for (aclnn's stream argument), and the event a run
// returns. Every run_* call only enqueues: it returns once its commands are queued, and its Event completes when
// the last of them has.
#pragma once

#include "cannon/export.hpp"

#include <vector>

#include "cannon/cl.hpp"

namespace cannon {

struct Stream {
  cl_command_queue queue = nullptr;  // null: the Context's own queue; otherwise a queue of the Context's cl_context
  std::vector<cl_event> wait_for;    // the run starts after these events complete (not retained; keep them alive)
};

// Owns one reference to a cl_event (or none). Copies retain, destruction releases.
class CANNON_API Event {
 public:
  Event() = default;
  // Takes over the caller's reference to `event` (no clRetainEvent).
  explicit Event(cl_event event) : event_(event) {}
  Event(const Event& other);
  Event& operator=(const Event& other);
  Event(Event&& other) noexcept : event_(other.event_) { other.event_ = nullptr; }
  Event& operator=(Event&& other) noexcept;
  ~Event();

  cl_event handle() const { return event_; }
  bool valid() const { return event_ != nullptr; }
  // Blocks until the event completes; throws Error(kRuntimeError) if its command failed. No-op without an event.
  void wait() const;

 private:
  cl_event event_ = nullptr;
};

}  // namespace cannon

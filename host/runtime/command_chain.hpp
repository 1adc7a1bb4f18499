// The commands of one operator run, in order on the Stream's queue: the first waits for the Stream's events, each
// later one for the one before it (so an out-of-order queue keeps the order too), and the run returns the last
// command's event. Nothing here blocks.
#pragma once

#include <cstddef>
#include <vector>

#include "cannon/context.hpp"
#include "cannon/stream.hpp"
#include "host/runtime/kernel.hpp"

namespace cannon {

class CommandChain {
 public:
  // Throws Error(kParamInvalid) naming stream.queue when it belongs to another cl_context, or a wait_for event is
  // null.
  CommandChain(const Context& ctx, const Stream& stream);

  cl_command_queue queue() const { return queue_; }
  // What the next command must wait for.
  const std::vector<cl_event>& wait_for() const { return waits_; }
  // Enqueues `kernel` (its arguments set) after the chain so far.
  void enqueue(const Kernel& kernel, std::size_t global, std::size_t local, const LaunchNote& note = {});
  // The last command's event; a marker on the Stream's events when nothing was enqueued.
  Event done();

 private:
  cl_command_queue queue_;
  std::vector<cl_event> waits_;
  Event last_;
};

}  // namespace cannon

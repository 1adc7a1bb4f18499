// CommandChain; see command_chain.hpp.
#include "host/runtime/command_chain.hpp"

#include "host/runtime/check.hpp"

namespace cannon {

CommandChain::CommandChain(const Context& ctx, const Stream& stream)
    : queue_(stream.queue ? stream.queue : ctx.cl_queue_handle()), waits_(stream.wait_for) {
  if (stream.queue) {
    cl_context owner = nullptr;
    CANNON_CL(clGetCommandQueueInfo(stream.queue, CL_QUEUE_CONTEXT, sizeof owner, &owner, nullptr));
    require(owner == ctx.cl_context_handle(), "stream.queue: belongs to another cl_context than the Context's");
  }
  for (cl_event e : waits_) require(e != nullptr, "stream.wait_for: holds a null event");
}

void CommandChain::enqueue(const Kernel& kernel, std::size_t global, std::size_t local, const LaunchNote& note) {
  last_ = kernel.enqueue(queue_, global, local, waits_, note);
  waits_.assign(1, last_.handle());
}

Event CommandChain::done() {
  if (last_.valid()) return last_;
  cl_event marker = nullptr;
  CANNON_CL(clEnqueueMarkerWithWaitList(queue_, static_cast<cl_uint>(waits_.size()),
                                        waits_.empty() ? nullptr : waits_.data(), &marker));
  last_ = Event(marker);
  return last_;
}

}  // namespace cannon

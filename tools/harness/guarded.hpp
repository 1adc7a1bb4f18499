// Running an operator the way a careful caller would, plus the checks a caller cannot make: every tensor and the
// workspace sit between guard bands, outputs and workspace are poisoned with NaN bytes before each run, and
// afterwards the guards, the inputs and "every output element written" are verified. One implementation for every
// operator: a driver only declares its named inputs and outputs and enqueues.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/context.hpp"
#include "cannon/tensor.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {

// A device buffer laid out as [guard][payload][guard]; the payload is what the op sees.
class GuardedBuffer {
 public:
  GuardedBuffer(const Context& ctx, TensorDesc desc, std::size_t guard);
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer();

  TensorView view() const;
  // A sub-buffer over the payload, for APIs that take a bare cl_mem (the workspace, which the op must accept
  // as a sub-buffer, as aclnn callers pass slices of a pool); null when the payload is empty.
  cl_mem payload_mem();
  // Writes the guards and `payload` (payload_bytes() bytes) in one transfer.
  void write(const std::vector<uint8_t>& payload);
  // Writes the guards and fills the payload with 0xFF: NaN in fp32, fp16 and bf16.
  void poison();
  // Downloads everything; appends a message to `problems` for each damaged guard band.
  std::vector<uint8_t> read(std::string_view name, std::vector<std::string>& problems);
  std::size_t payload_bytes() const { return payload_; }

 private:
  const Context* ctx_;
  TensorDesc desc_;
  std::size_t guard_, payload_;
  DeviceTensor buffer_;
  cl_mem sub_ = nullptr;
};

// The guarded tensors of one operator run.
class GuardedRun {
 public:
  explicit GuardedRun(const Context& ctx);
  // Allocates a guarded buffer, uploads `data` and remembers its bytes to check after the run.
  TensorView input(const std::string& name, const HostData& data);
  // Allocates a guarded output (poisoned before each run(), returned by read()).
  TensorView output(const std::string& name, const TensorDesc& desc);
  // Allocates a guarded tensor the operator may write but that is no result (poisoned, guards checked).
  TensorView scratch(const std::string& name, const TensorDesc& desc);
  // Allocates the guarded workspace (poisoned before each run()); a sub-buffer over its payload, or null.
  cl_mem workspace(std::size_t bytes);
  // Poisons outputs, scratch tensors and workspace, calls `enqueue` and waits.
  void run(const std::function<void()>& enqueue);
  // Calls `enqueue` and waits, without poisoning; returns seconds of wall time.
  double timed_run(const std::function<void()>& enqueue);
  // The outputs in the order they were declared; `problems` receives damaged guards, changed inputs and
  // unwritten output elements.
  std::vector<HostData> read(std::vector<std::string>& problems);
  const std::vector<std::string>& output_names() const { return output_names_; }

 private:
  // The one place a run is waited for, so errors a run reports at synchronisation surface here.
  void enqueue_and_wait(const std::function<void()>& enqueue);

  const Context& ctx_;
  std::size_t guard_;
  struct Named {
    std::string name;
    std::unique_ptr<GuardedBuffer> buffer;
    std::vector<uint8_t> bytes;  // inputs: what was uploaded
  };
  std::vector<Named> inputs_, scratch_;
  std::vector<std::string> output_names_;
  std::vector<TensorDesc> output_descs_;
  std::vector<std::unique_ptr<GuardedBuffer>> outputs_;
  std::unique_ptr<GuardedBuffer> workspace_;
};

// Number of elements of an fp32/fp16/bf16 tensor still holding the poison pattern (all bits set).
int64_t count_poisoned(const HostData& data, int64_t* first = nullptr);

}  // namespace cannon::tools

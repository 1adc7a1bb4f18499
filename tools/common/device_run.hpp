// Running a FaCase on the device the way a careful caller would, plus the checks a caller cannot make:
// every tensor and the workspace sit between guard bands, outputs and workspace are poisoned with NaN
// bytes before each run, and afterwards the guards, the inputs and "every output element written" are
// verified. Shared by cannon-conformance and cannon-bench.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/flash_attention_score.hpp"
#include "tools/common/fa_case.hpp"

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

struct FaDeviceOutputs {
  HostData attention_out, softmax_max, softmax_sum;
};

class FaDeviceRun {
 public:
  // Plans the case (throws cannon::Error from the operator's validation); allocates nothing yet.
  FaDeviceRun(const Context& ctx, const FaCase& c);
  const FlashAttentionScorePlan& plan() const { return plan_; }

  // Allocates guarded buffers and uploads the inputs of `c` (which must be the planned case).
  void prepare(const FaCase& c);
  // Poisons outputs and workspace, runs and waits.
  void run();
  // Runs and waits without poisoning (for timing); returns seconds of wall time.
  double timed_run();
  // Downloads the outputs. `problems` receives damaged guards, changed inputs and unwritten output elements.
  FaDeviceOutputs read(std::vector<std::string>& problems);

 private:
  std::unique_ptr<GuardedBuffer> make(const TensorDesc& desc);
  void enqueue();

  const Context& ctx_;
  FlashAttentionScorePlan plan_;
  std::size_t guard_;
  struct Input {
    std::string name;
    std::unique_ptr<GuardedBuffer> buffer;
    std::vector<uint8_t> bytes;
  };
  std::vector<Input> inputs_;  // query, key, value, then the optional ones present
  std::unique_ptr<GuardedBuffer> out_, max_, sum_, softmax_out_, workspace_;
  FlashAttentionScoreTensors tensors_;
};

// Number of elements of an fp32/fp16/bf16 tensor still holding the poison pattern (all bits set).
int64_t count_poisoned(const HostData& data, int64_t* first = nullptr);

}  // namespace cannon::tools

// Device runs of RingAttentionUpdate and NsaSelectedAttention with FaDeviceRun's checks (device_run.hpp): every
// tensor and the workspace between guard bands, outputs and workspace poisoned before each run, and afterwards
// guards, inputs and "every output element written" verified. GuardedRun holds the bookkeeping once, for any
// list of named inputs and outputs; the two op classes only plan, name their tensors and enqueue.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tools/common/device_run.hpp"
#include "tools/common/op_case.hpp"

namespace cannon::tools {

class GuardedRun {
 public:
  explicit GuardedRun(const Context& ctx);
  // Allocates a guarded buffer, uploads `data` and remembers its bytes to check after the run.
  TensorView input(const std::string& name, const HostData& data);
  // Allocates a guarded output (poisoned before each run()).
  TensorView output(const std::string& name, const TensorDesc& desc);
  // Allocates the guarded workspace (poisoned before each run()); a sub-buffer over its payload, or null.
  cl_mem workspace(std::size_t bytes);
  // Poisons outputs and workspace, calls `enqueue` and waits.
  void run(const std::function<void()>& enqueue);
  // Calls `enqueue` and waits, without poisoning; returns seconds of wall time.
  double timed_run(const std::function<void()>& enqueue);
  // The outputs in the order they were declared; `problems` receives damaged guards, changed inputs and
  // unwritten output elements.
  std::vector<HostData> read(std::vector<std::string>& problems);
  const std::vector<std::string>& output_names() const { return output_names_; }

 private:
  const Context& ctx_;
  std::size_t guard_;
  struct Input {
    std::string name;
    std::unique_ptr<GuardedBuffer> buffer;
    std::vector<uint8_t> bytes;
  };
  std::vector<Input> inputs_;
  std::vector<std::string> output_names_;
  std::vector<TensorDesc> output_descs_;
  std::vector<std::unique_ptr<GuardedBuffer>> outputs_;
  std::unique_ptr<GuardedBuffer> workspace_;
};

// Outputs are attn_out, softmax_max, softmax_sum (in this order, like FaDeviceOutputs).
class RauDeviceRun {
 public:
  RauDeviceRun(const Context& ctx, const RauCase& c);  // plans; throws cannon::Error from validation
  const RingAttentionUpdatePlan& plan() const { return plan_; }
  void prepare(const RauCase& c);
  void run();
  double timed_run();
  std::vector<HostData> read(std::vector<std::string>& problems) { return guarded_.read(problems); }

 private:
  const Context& ctx_;
  RingAttentionUpdatePlan plan_;
  GuardedRun guarded_;
  RingAttentionUpdateTensors tensors_;
  cl_mem workspace_ = nullptr;
};

// Outputs are attention_out, softmax_max, softmax_sum.
class NsaDeviceRun {
 public:
  NsaDeviceRun(const Context& ctx, const NsaCase& c);
  const NsaSelectedAttentionPlan& plan() const { return plan_; }
  void prepare(const NsaCase& c);
  void run();
  double timed_run();
  std::vector<HostData> read(std::vector<std::string>& problems) { return guarded_.read(problems); }

 private:
  const Context& ctx_;
  NsaSelectedAttentionPlan plan_;
  GuardedRun guarded_;
  NsaSelectedAttentionTensors tensors_;
  cl_mem workspace_ = nullptr;
};

}  // namespace cannon::tools

// The interface the harness runs every operator through, benchdnn's driver shape: a Driver names the operator
// (problem-string prefix, golden op name, outputs, work unit) and reads its problem strings and golden directories
// into an OpCase; an OpCase fills its inputs, plans (PlannedCase: bind tensors, enqueue) and computes its reference.
// cannon-conformance's modes, cannon-bench and the operator tests work through these. Drivers do not implement them
// by hand: they declare an OpSpec (op_spec.hpp), from which SpecCase and driver_for implement them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cannon/context.hpp"
#include "cannon/tensor.hpp"
#include "host/reference/attention_stats.hpp"
#include "tools/harness/compare.hpp"
#include "tools/harness/guarded.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/tolerance.hpp"
#include "tools/harness/tolerance_model.hpp"

namespace cannon::tools {

class OpCase;
struct GoldenDir;

// An operator's float64 reference: every output in the driver's order, and the problem's magnitudes the tolerance
// model derives the bounds from (all zero where the operator's error does not grow with them, or does not apply).
struct ReferenceValues {
  OutputValues outputs;
  reference::AttentionStats stats;
  reference::AttentionGradStats grad_stats{};  // a backward operator's (its gradients' bounds come from these)
};

// What one run's work is counted in: FLOPs (GFLOP/s) or bytes moved (GB/s).
enum class WorkUnit { kFlop, kByte };

// A parsed problem string of some operator.
class Problem {
 public:
  virtual ~Problem() = default;
  virtual std::string canonical() const = 0;             // parse(canonical()) gives this problem back
  virtual std::optional<uint64_t> seed() const = 0;      // the string's own :seed=
  virtual std::unique_ptr<OpCase> describe() const = 0;  // shapes and attributes, inputs not filled yet
};

// An operator, as the tools see it (built from its OpSpec by driver_for; listed in tools/drivers/registry.cpp).
struct Driver {
  const char* prefix;     // problem strings start "<prefix>:"
  const char* golden_op;  // case.json's "op"
  std::vector<OutputSpec> outputs;
  WorkUnit work_unit;
  // Throws Error(kParamInvalid) quoting the text and naming the key.
  std::unique_ptr<Problem> (*parse)(std::string_view text);
  // The case of an opened golden directory: attributes and inputs (expected outputs are read by the harness).
  std::unique_ptr<OpCase> (*golden_case)(const GoldenDir& dir);
};

// One case planned on a device: the operator's plan with the tensors it runs on.
class PlannedCase {
 public:
  virtual ~PlannedCase() = default;
  virtual double work() const = 0;  // of one run, in the driver's WorkUnit
  virtual std::size_t workspace_bytes() const = 0;
  virtual std::vector<TensorDesc> output_descs() const = 0;  // in the driver's output order
  // Declares the case's inputs (as they are now), its outputs in the driver's order and the workspace.
  virtual void bind(GuardedRun& run) = 0;
  // Enqueues one run on the bound tensors.
  virtual void enqueue() = 0;
};

// One concrete case of an operator: attributes and host inputs, generated from a problem string or loaded from a
// golden directory. Descriptions exist before data, so a case the operator rejects never allocates.
class OpCase {
 public:
  virtual ~OpCase() = default;
  virtual const Driver& driver() const = 0;
  virtual DType output_dtype() const = 0;
  // Fills the inputs from `seed`, each tensor from a stream of its own.
  virtual void generate(uint64_t seed) = 0;
  // The operator's plan (throws its cannon::Error when it rejects the case). The case must outlive the result.
  virtual std::unique_ptr<PlannedCase> plan(const Context& ctx) const = 0;
  // The inputs under their argument names, and the attributes under case.json's names.
  virtual std::vector<NamedTensor> named_inputs() const = 0;
  virtual nlohmann::json golden_attrs() const = 0;
  virtual ReferenceValues reference() const = 0;
  // The attention output computed with every intermediate in the low-precision input dtype (FlashAttention's rule);
  // none when the operator has no such reference.
  virtual std::optional<std::vector<double>> naive_reference() const { return std::nullopt; }
  // The float64 attention output with P not rounded to the input dtype (the P-rounding rule, compare.hpp); none when
  // the operator does not round P.
  virtual std::optional<std::vector<double>> unrounded_p_reference() const { return std::nullopt; }
  // What the tolerance model knows of the problem without a reference run (a golden replay whose reference could not
  // run): nothing by default, which gives the tolerance table.
  virtual reference::AttentionStats known_stats() const { return {}; }
  // Checks of a correctness run beyond the outputs: messages go to `problems` (the case FAILS), numbers to the
  // summary and `metrics`.
  virtual void check_run(std::vector<std::string>& problems, std::string& summary, nlohmann::json& metrics) const {
    (void)problems, (void)summary, (void)metrics;
  }

 protected:
  OpCase() = default;
  OpCase(const OpCase&) = default;
  OpCase& operator=(const OpCase&) = default;
  OpCase(OpCase&&) = default;
  OpCase& operator=(OpCase&&) = default;
};

// "GFLOP/s" or "GB/s", and the JSON metric names of the work and its rate.
const char* rate_unit(WorkUnit unit);
const char* work_metric(WorkUnit unit);
const char* rate_metric(WorkUnit unit);

}  // namespace cannon::tools

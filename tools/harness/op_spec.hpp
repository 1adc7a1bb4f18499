// What a driver declares about its operator, as data (OpSpec): its problem strings, attribute table and input
// generator, its inputs and outputs with where the case, the operator's descriptions, its plan and its run tensors
// hold each one, the plan and run calls, the work of a run and the references. From that one declaration SpecCase
// implements OpCase and PlannedCase, and driver_for the Driver, the same way for every operator, so a driver's folder
// holds only what is its own.
//
// A driver's case type C is a struct with members `attrs` (the operator's attributes) and `inputs` (its HostData
// inputs); it derives from SpecCase<C> (which also gives it descs(), the operator's descriptions of its inputs), and
// its header declares `const OpSpec<C, ...>& spec_of(const C*)`, defined in the driver's .cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cannon/stream.hpp"
#include "tools/harness/attr_table.hpp"
#include "tools/harness/driver.hpp"
#include "tools/harness/golden.hpp"

namespace cannon::tools {

// An operator input: its argument name and its member in the case's inputs, the operator's descriptions and the run's
// tensors; a required input uses the first three pointers, an optional one the last three.
template <class Inputs, class Descs, class Tensors>
struct SpecInput {
  const char* name;
  HostData Inputs::*data = nullptr;
  TensorDesc Descs::*desc = nullptr;
  TensorView Tensors::*view = nullptr;
  std::optional<HostData> Inputs::*optional_data = nullptr;
  std::optional<TensorDesc> Descs::*optional_desc = nullptr;
  std::optional<TensorView> Tensors::*optional_view = nullptr;
};

template <class Inputs, class Descs, class Tensors>
SpecInput<Inputs, Descs, Tensors> spec_input(const char* name, HostData Inputs::*data, TensorDesc Descs::*desc,
                                             TensorView Tensors::*view) {
  return {name, data, desc, view};
}
template <class Inputs, class Descs, class Tensors>
SpecInput<Inputs, Descs, Tensors> spec_input(const char* name, std::optional<HostData> Inputs::*data,
                                             std::optional<TensorDesc> Descs::*desc,
                                             std::optional<TensorView> Tensors::*view) {
  return {name, nullptr, nullptr, nullptr, data, desc, view};
}

// An operator output: its argument name (which the tolerance model knows it by), its role (the attention output, a
// softmax statistic or a gradient: mistrust and FlashAttention's rule look at the attention output), where the plan
// describes it and where the run's tensors take it. An optional output (FlashAttentionScoreGrad's dpse) names its
// optional view instead and is bound only where the plan describes elements for it; it must come last.
template <class Plan, class Tensors>
struct SpecOutput {
  const char* name;
  Quantity quantity;
  TensorDesc Plan::*desc;
  TensorView Tensors::*view = nullptr;
  std::optional<TensorView> Tensors::*optional_view = nullptr;
};

// A tensor the operator is given but that is no result (FlashAttentionScore's reserved softmax_out): guarded and
// poisoned like an output, its guards checked, its contents not.
template <class Plan, class Tensors>
struct SpecScratch {
  const char* name;
  TensorDesc Plan::*desc;
  std::optional<TensorView> Tensors::*view;
};

template <class C, class P, class Descs, class Plan, class Tensors>
struct OpSpec {
  using Case = C;
  using Problem = P;
  using DescsType = Descs;
  using PlanType = Plan;
  using TensorsType = Tensors;
  using Attrs = std::decay_t<decltype(std::declval<C&>().attrs)>;
  using Inputs = std::decay_t<decltype(std::declval<C&>().inputs)>;
  using Input = SpecInput<Inputs, Descs, Tensors>;
  using Output = SpecOutput<Plan, Tensors>;
  using Scratch = SpecScratch<Plan, Tensors>;

  // What the tools call the operator, and how its problem strings and golden attributes are read. The problem's
  // printer, the case describer and the input generator are found by argument-dependent lookup: to_string(P),
  // describe_case(P) -> C, generate_inputs(C&, seed).
  struct Naming {
    const char* prefix;     // problem strings start "<prefix>:"
    const char* golden_op;  // case.json's "op"
    WorkUnit work_unit;     // what Launch::work counts
    P (*parse)(std::string_view text);
    const AttrTable<P, Attrs>& (*attr_table)();
  } naming;
  std::vector<Input> inputs;    // the first one's dtype is the output dtype (query, prev_attn_out)
  std::vector<Output> outputs;  // the results, in the order of references and golden directories
  std::vector<Scratch> scratch;
  struct Launch {
    Plan (*plan)(const Context& ctx, const Descs& descs, const Attrs& attrs);
    Event (*run)(const Context& ctx, const Plan& plan, const Tensors& tensors, cl_mem workspace, const Stream& stream);
    double Plan::*work;
  } launch;
  // The float64 reference, and optionally the naive low-precision attention output (FlashAttention's rule), what the
  // tolerance model knows without a reference run (OpCase::known_stats), and checks of a correctness run beyond its
  // outputs.
  struct Checks {
    ReferenceValues (*reference)(const C& c);
    std::optional<std::vector<double>> (*naive_reference)(const C& c) = nullptr;
    reference::AttentionStats (*known_stats)(const C& c) = nullptr;
    void (*check_run)(const C& c, std::vector<std::string>& problems, std::string& summary,
                      nlohmann::json& metrics) = nullptr;
    std::optional<std::vector<double>> (*unrounded_p_reference)(const C& c) = nullptr;
  } checks;
};

// The inputs of an attention operator: query, key and value (named so in its inputs, descriptions and tensors), then
// `others`.
template <class Spec>
std::vector<typename Spec::Input> qkv_and(std::vector<typename Spec::Input> others) {
  using In = typename Spec::Inputs;
  using D = typename Spec::DescsType;
  using T = typename Spec::TensorsType;
  std::vector<typename Spec::Input> inputs{spec_input("query", &In::query, &D::query, &T::query),
                                           spec_input("key", &In::key, &D::key, &T::key),
                                           spec_input("value", &In::value, &D::value, &T::value)};
  inputs.insert(inputs.end(), others.begin(), others.end());
  return inputs;
}

// The outputs of an attention operator: its attention output `name`, then softmax_max and softmax_sum (named so in
// its plan and tensors), judged at the attention output's and the statistics' tolerance rows.
template <class Spec>
std::vector<typename Spec::Output> attention_outputs(const char* name, TensorDesc Spec::PlanType::*desc,
                                                     TensorView Spec::TensorsType::*view) {
  using P = typename Spec::PlanType;
  using T = typename Spec::TensorsType;
  return {{name, Quantity::kAttentionOut, desc, view},
          {"softmax_max", Quantity::kSoftmaxMax, &P::softmax_max, &T::softmax_max},
          {"softmax_sum", Quantity::kSoftmaxSum, &P::softmax_sum, &T::softmax_sum}};
}

// The spec of case type C (its driver's spec_of, found by argument-dependent lookup).
template <class C>
const auto& spec_for() {
  return spec_of(static_cast<const C*>(nullptr));
}

// The device side of a case of C: the plan, and the tensors bound to a guarded run.
template <class C>
class PlannedSpec final : public PlannedCase {
 public:
  using Spec = std::decay_t<decltype(spec_for<C>())>;

  PlannedSpec(const Context& ctx, const C& c)
      : ctx_(ctx), case_(c), plan_(spec_for<C>().launch.plan(ctx, c.descs(), c.attrs)) {}

  double work() const override { return plan_.*spec_for<C>().launch.work; }
  std::size_t workspace_bytes() const override { return plan_.workspace_size; }
  std::vector<TensorDesc> output_descs() const override {
    std::vector<TensorDesc> descs;
    for (const auto& out : spec_for<C>().outputs) descs.push_back(plan_.*out.desc);
    return descs;
  }
  void bind(GuardedRun& run) override {
    for (const auto& in : spec_for<C>().inputs) {
      if (in.data) tensors_.*in.view = run.input(in.name, case_.inputs.*in.data);
      if (in.optional_data && case_.inputs.*in.optional_data) {
        tensors_.*in.optional_view = run.input(in.name, *(case_.inputs.*in.optional_data));
      }
    }
    for (const auto& out : spec_for<C>().outputs) {
      const TensorDesc& desc = plan_.*out.desc;
      if (out.view) tensors_.*out.view = run.output(out.name, desc);
      if (out.optional_view && desc.numel() > 0) tensors_.*out.optional_view = run.output(out.name, desc);
    }
    for (const auto& out : spec_for<C>().scratch) tensors_.*out.view = run.scratch(out.name, plan_.*out.desc);
    workspace_ = run.workspace(plan_.workspace_size);
  }
  void enqueue() override { spec_for<C>().launch.run(ctx_, plan_, tensors_, workspace_, Stream{}); }

 private:
  const Context& ctx_;
  const C& case_;
  typename Spec::PlanType plan_;
  typename Spec::TensorsType tensors_{};
  cl_mem workspace_ = nullptr;
};

template <class C>
const Driver& driver_for();

// OpCase for a driver's case type Self (which derives from SpecCase<Self>), from its spec.
template <class Self>
class SpecCase : public OpCase {
 public:
  // The operator's descriptions of the inputs: shapes and dtypes, optional ones when present.
  auto descs() const {
    typename std::decay_t<decltype(spec_for<Self>())>::DescsType d{};
    for (const auto& in : spec_for<Self>().inputs) {
      if (in.data) d.*in.desc = (self().inputs.*in.data).desc;
      if (in.optional_data && self().inputs.*in.optional_data)
        d.*in.optional_desc = (self().inputs.*in.optional_data)->desc;
    }
    return d;
  }

  const Driver& driver() const override { return driver_for<Self>(); }
  DType output_dtype() const override { return (self().inputs.*spec_for<Self>().inputs.front().data).desc.dtype; }
  void generate(uint64_t seed) override { generate_inputs(static_cast<Self&>(*this), seed); }
  std::unique_ptr<PlannedCase> plan(const Context& ctx) const override {
    return std::make_unique<PlannedSpec<Self>>(ctx, self());
  }
  std::vector<NamedTensor> named_inputs() const override {
    std::vector<NamedTensor> named;
    for (const auto& in : spec_for<Self>().inputs) {
      if (in.data) named.push_back({in.name, self().inputs.*in.data});
      if (in.optional_data && self().inputs.*in.optional_data)
        named.push_back({in.name, *(self().inputs.*in.optional_data)});
    }
    return named;
  }
  nlohmann::json golden_attrs() const override {
    return op_attrs_json(spec_for<Self>().naming.attr_table(), self().attrs);
  }
  ReferenceValues reference() const override { return spec_for<Self>().checks.reference(self()); }
  std::optional<std::vector<double>> naive_reference() const override {
    const auto naive = spec_for<Self>().checks.naive_reference;
    return naive ? naive(self()) : std::nullopt;
  }
  std::optional<std::vector<double>> unrounded_p_reference() const override {
    const auto unrounded = spec_for<Self>().checks.unrounded_p_reference;
    return unrounded ? unrounded(self()) : std::nullopt;
  }
  reference::AttentionStats known_stats() const override {
    const auto known = spec_for<Self>().checks.known_stats;
    return known ? known(self()) : OpCase::known_stats();
  }
  void check_run(std::vector<std::string>& problems, std::string& summary, nlohmann::json& metrics) const override {
    if (const auto check = spec_for<Self>().checks.check_run) check(self(), problems, summary, metrics);
  }

 private:
  const Self& self() const { return static_cast<const Self&>(*this); }
};

// Problem for the problem type of case type C.
template <class C>
class SpecProblem final : public Problem {
 public:
  using P = typename std::decay_t<decltype(spec_for<C>())>::Problem;
  explicit SpecProblem(P problem) : problem_(std::move(problem)) {}
  std::string canonical() const override { return to_string(problem_); }
  std::optional<uint64_t> seed() const override { return problem_.seed; }
  std::unique_ptr<OpCase> describe() const override { return std::make_unique<C>(describe_case(problem_)); }

 private:
  P problem_;
};

// The Driver of case type C: one instance per driver, built from its spec on first use.
template <class C>
const Driver& driver_for() {
  static const Driver driver = [] {
    const auto& spec = spec_for<C>();
    std::vector<OutputSpec> outputs;
    for (const auto& out : spec.outputs) outputs.push_back({out.name, out.quantity});
    auto parse = [](std::string_view text) -> std::unique_ptr<Problem> {
      return std::make_unique<SpecProblem<C>>(spec_for<C>().naming.parse(text));
    };
    auto golden_case = [](const GoldenDir& d) -> std::unique_ptr<OpCase> {
      auto c = std::make_unique<C>();
      read_op_attrs(spec_for<C>().naming.attr_table(), d.attrs(), c->attrs, d.json_path);
      for (const auto& in : spec_for<C>().inputs) {
        if (in.data) c->inputs.*in.data = d.input(in.name);
        if (in.optional_data && d.has(in.name)) c->inputs.*in.optional_data = d.input(in.name);
      }
      return c;
    };
    return Driver{spec.naming.prefix, spec.naming.golden_op, outputs, spec.naming.work_unit, parse, golden_case};
  }();
  return driver;
}

}  // namespace cannon::tools

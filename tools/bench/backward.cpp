// Timing the backward pass of an fa: problem (backward.hpp).
#include "tools/bench/backward.hpp"

#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "cannon/error.hpp"
#include "cannon/flash_attention_score.hpp"
#include "cannon/flash_attention_score_grad.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/harness/guarded.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {
namespace {

std::optional<TensorDesc> desc_of(const std::optional<HostData>& data) {
  return data ? std::optional<TensorDesc>(data->desc) : std::nullopt;
}

DeviceTensor to_device(const Context& ctx, const HostData& data) {
  DeviceTensor t = allocate(ctx, data.desc);
  upload(ctx, t.view(), data.bytes.data(), data.bytes.size());
  return t;
}

HostData to_host(const Context& ctx, const DeviceTensor& t) {
  HostData h{t.desc(), std::vector<uint8_t>(t.desc().bytes())};
  download(ctx, t.view(), h.bytes.data(), h.bytes.size());
  return h;
}

// What the backward reads from the forward's run, as host data.
struct ForwardOutputs {
  HostData attention_out, softmax_max, softmax_sum;
};

// The forward through the public convenience call, as a training step runs it before its backward.
ForwardOutputs run_forward(const Context& ctx, const FaCase& c) {
  const DeviceTensor q = to_device(ctx, c.inputs.query), k = to_device(ctx, c.inputs.key),
                     v = to_device(ctx, c.inputs.value);
  std::optional<DeviceTensor> pse, drop, mask;
  FlashAttentionScoreOptionalInputs opt;
  if (c.inputs.pse) opt.pse = (pse = to_device(ctx, *c.inputs.pse))->view();
  if (c.inputs.drop_mask) opt.drop_mask = (drop = to_device(ctx, *c.inputs.drop_mask))->view();
  if (c.inputs.atten_mask) opt.atten_mask = (mask = to_device(ctx, *c.inputs.atten_mask))->view();
  const FlashAttentionScoreResult fwd = flash_attention_score(ctx, q.view(), k.view(), v.view(), opt, c.attrs);
  return {to_host(ctx, fwd.attention_out), to_host(ctx, fwd.softmax_max), to_host(ctx, fwd.softmax_sum)};
}

// dy: uniform in [-1, 1], stored in attention_out's dtype, from a stream of its own (tests/ops/fa_grad_test.cpp
// draws it the same way).
HostData random_dy(const TensorDesc& out, uint64_t seed) {
  std::mt19937_64 gen(seed ^ 0x9e3779b97f4a7c15ull);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::vector<double> values(static_cast<std::size_t>(out.numel()));
  for (double& x : values) x = uni(gen);
  return encode_values(out.dtype, out.shape, values);
}

}  // namespace

namespace {
// What the timed backward runs use, kept together for the sampler's lifetime.
struct BackwardState {
  explicit BackwardState(const Context& c) : ctx(c), run(c) {}
  const Context& ctx;
  GuardedRun run;
  std::optional<FlashAttentionScoreGradPlan> plan;
  FlashAttentionScoreGradTensors t{};
  cl_mem workspace = nullptr;
  void enqueue() const { run_flash_attention_score_grad(ctx, *plan, t, workspace); }
};
}  // namespace

Sampler prepare_backward(const Context& ctx, const std::string& text, uint64_t seed) {
  const FaProblem problem = parse_fa_problem(text);
  FaCase c = describe_case(problem);
  const FlashAttentionScorePlan fwd_plan = plan_flash_attention_score(ctx, c.descs(), c.attrs);
  const FlashAttentionScoreGradDescs descs{
      c.inputs.query.desc,   c.inputs.key.desc,           c.inputs.value.desc,          fwd_plan.attention_out,
      desc_of(c.inputs.pse), desc_of(c.inputs.drop_mask), desc_of(c.inputs.atten_mask), fwd_plan.softmax_max,
      fwd_plan.softmax_sum,  fwd_plan.attention_out};
  auto st = std::make_shared<BackwardState>(ctx);
  st->plan.emplace(plan_flash_attention_score_grad(ctx, descs, c.attrs));
  const FlashAttentionScoreGradPlan& plan = *st->plan;
  const uint64_t s = problem.seed.value_or(seed);
  generate_inputs(c, s);
  const ForwardOutputs fwd = run_forward(ctx, c);
  const HostData dy = random_dy(fwd.attention_out.desc, s);
  GuardedRun& run = st->run;
  FlashAttentionScoreGradTensors& t = st->t;
  t.query = run.input("query", c.inputs.query);
  t.key = run.input("key", c.inputs.key);
  t.value = run.input("value", c.inputs.value);
  t.dy = run.input("dy", dy);
  if (c.inputs.pse) t.pse = run.input("pse", *c.inputs.pse);
  if (c.inputs.drop_mask) t.drop_mask = run.input("drop_mask", *c.inputs.drop_mask);
  if (c.inputs.atten_mask) t.atten_mask = run.input("atten_mask", *c.inputs.atten_mask);
  t.softmax_max = run.input("softmax_max", fwd.softmax_max);
  t.softmax_sum = run.input("softmax_sum", fwd.softmax_sum);
  t.attention_in = run.input("attention_in", fwd.attention_out);
  t.dq = run.output("dq", plan.dq);
  t.dk = run.output("dk", plan.dk);
  t.dv = run.output("dv", plan.dv);
  st->workspace = run.workspace(plan.workspace_size);
  BackwardState* state = st.get();
  const auto enqueue = [state] { state->enqueue(); };
  run.run(enqueue);  // warm-up: compiles the kernels, warms caches; checked
  std::vector<std::string> problems;
  run.read(problems);
  if (!problems.empty()) throw Error(Status::kInnerError, "guard or output check failed: " + problems.front());
  return Sampler{std::move(st), [state, enqueue] { return state->run.timed_run(enqueue); }, plan.flops};
}

double backward_dense_flops(const FaProblem& p) {
  return 2.0 * static_cast<double>(3 * p.dk + 2 * p.dv) * static_cast<double>(p.b * p.n1) * static_cast<double>(p.s1) *
         static_cast<double>(p.s2);
}

}  // namespace cannon::tools

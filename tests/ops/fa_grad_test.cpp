// FlashAttentionScoreGrad on the device against the float64 backward reference: the forward runs on the device
// first (its attention_out, softmax_max and softmax_sum are what the backward is given, as in training), dy is drawn
// fresh per case, and dq, dk, dv (and dpse, for pse_type 0/1 with a pse) land in poisoned, guarded buffers (an
// unwritten element is NaN and fails; a write past the end damages a guard). Cases cover every layout and dtype, GQA
// 1/2/4/8, Dv < Dk, odd sizes with S1 < S2 and S1 > S2, TND with per-batch and empty sequences, every sparse mode, pse
// types 0-3 (every pse form, ALiBi-compressed included) and dropout from an explicit mask and from the generator; and
// both kernel variants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cannon/flash_attention_score_grad.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/flash_attention_score_grad_problem.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/reference/flash_attention_score_grad_ref.hpp"
#include "host/reference/rounding.hpp"
#include "host/tune/params.hpp"
#include "tests/ops/op_test_util.hpp"
#include "tests/unit/test_devices.hpp"
#include "tools/harness/tolerance_model.hpp"

namespace cannon::optest {
namespace {

struct GradRun {
  std::string problem;
  std::vector<std::string> problems;  // guard damage, unwritten elements, out-of-tolerance outputs
  bool generic_kernel = false;
  bool dpse_checked = false;  // the case had a dpse, computed and compared
};

std::optional<TensorDesc> desc_of_data(const std::optional<tools::HostData>& data) {
  return data ? std::optional<TensorDesc>(data->desc) : std::nullopt;
}

// Checks one output: every element finite (unwritten ones are the poison's NaN) and within the bound the
// conformance tolerance model gives the gradient (tools::gradient_bound, docs/conformance.md "Gradients").
void check_output(const tools::HostData& dev, const reference::HostTensor& ref, const reference::AttentionGradStats& s,
                  const char* what, std::vector<std::string>& problems) {
  const tools::Tolerance tol = tools::gradient_bound(what, dev.desc.dtype, s).tol;
  const std::vector<double> got = tools::decode_values(dev);
  if (got.size() != ref.values.size()) {
    problems.push_back(std::string(what) + ": element count differs from the reference");
    return;
  }
  double worst = 0;
  std::size_t at = 0, bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - ref.values[i]);
    if (!(e <= tol.atol + tol.rtol * std::fabs(ref.values[i]))) ++bad;
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (bad > 0) {
    problems.push_back(
        fmt::format("{}: {} of {} elements off; worst at {}: device {} reference {} (atol {:.3g}, rtol {:.3g})", what,
                    bad, got.size(), at, got[at], ref.values[at], tol.atol, tol.rtol));
  }
}

// One case on the device: inputs uploaded once, the forward run, dy drawn, and the backward run into guarded outputs.
struct DeviceGrad {
  const Context& ctx;
  tools::FaCase fa;
  DeviceTensor q, k, v;
  std::optional<DeviceTensor> pse, drop, mask;
  FlashAttentionScoreOptionalInputs opt;
  FlashAttentionScoreResult fwd;
  tools::HostData dy;
  std::optional<DeviceTensor> dy_dev;
  bool generic_kernel = false;
  int64_t batch = 0;  // B (TND: the sequence count), for dpse's sum length

  DeviceGrad(const Context& c, tools::FaCase f)
      : ctx(c),
        fa(std::move(f)),
        q(to_device(ctx, fa.inputs.query)),
        k(to_device(ctx, fa.inputs.key)),
        v(to_device(ctx, fa.inputs.value)) {
    if (fa.inputs.pse) opt.pse = (pse = to_device(ctx, *fa.inputs.pse))->view();
    if (fa.inputs.drop_mask) opt.drop_mask = (drop = to_device(ctx, *fa.inputs.drop_mask))->view();
    if (fa.inputs.atten_mask) opt.atten_mask = (mask = to_device(ctx, *fa.inputs.atten_mask))->view();
    fwd = flash_attention_score(ctx, q.view(), k.view(), v.view(), opt, fa.attrs);
  }

  // dy uniform in [-1, 1], stored in the input dtype, from `seed`.
  void draw_dy(uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    const TensorDesc desc = fwd.attention_out.desc();
    std::vector<double> values(static_cast<std::size_t>(desc.numel()));
    for (double& x : values) x = uni(gen);
    dy = tools::encode_values(desc.dtype, desc.shape, values);
    dy_dev = to_device(ctx, dy);
  }

  FlashAttentionScoreGradDescs descs() const {
    return {fa.inputs.query.desc,
            fa.inputs.key.desc,
            fa.inputs.value.desc,
            dy.desc,
            desc_of_data(fa.inputs.pse),
            desc_of_data(fa.inputs.drop_mask),
            desc_of_data(fa.inputs.atten_mask),
            fwd.softmax_max.desc(),
            fwd.softmax_sum.desc(),
            fwd.attention_out.desc()};
  }

  // The run's tensors: the case's inputs, the forward's outputs and dy, and the given outputs.
  FlashAttentionScoreGradTensors tensors(const TensorView& dq, const TensorView& dk, const TensorView& dv,
                                         const std::optional<TensorView>& dpse) const {
    return {q.view(),
            k.view(),
            v.view(),
            dy_dev->view(),
            opt.pse,
            opt.drop_mask,
            opt.atten_mask,
            fwd.softmax_max.view(),
            fwd.softmax_sum.view(),
            fwd.attention_out.view(),
            dq,
            dk,
            dv,
            dpse};
  }

  // The backward into poisoned, guarded dq, dk, dv, and dpse when the problem has one and `with_dpse` asks for it
  // (then the fourth output); guard damage goes to `problems`.
  std::vector<tools::HostData> run(std::vector<std::string>& problems, bool with_dpse = true) {
    const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(ctx, descs(), fa.attrs);
    const auto& data = detail::PlanAccess::data(plan);
    generic_kernel = data.kernel.variant == KernelVariant::kGeneric;
    batch = data.problem.batch;
    const Guarded dq(ctx, plan.dq), dk(ctx, plan.dk), dv(ctx, plan.dv);
    std::optional<Guarded> dpse;
    if (with_dpse && fag_has_dpse(data.problem)) dpse.emplace(ctx, plan.dpse);
    const DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
    run_flash_attention_score_grad(ctx, plan,
                                   tensors(dq.view, dk.view, dv.view, dpse ? std::optional(dpse->view) : std::nullopt),
                                   workspace.buffer());
    ctx.finish();
    std::vector<tools::HostData> out{dq.read(ctx, problems, "dq"), dk.read(ctx, problems, "dk"),
                                     dv.read(ctx, problems, "dv")};
    if (dpse) out.push_back(dpse->read(ctx, problems, "dpse"));
    return out;
  }
};

// With foreign_stats, softmax_max is lowered by 0.75 and softmax_sum raised by 30% before the backward: statistics
// that are not the forward's own (P above 1/sum, x - max > 0), which the backward must use as given.
GradRun run_grad_case(const std::string& text, const Context& ctx = test_context(), bool foreign_stats = false) {
  GradRun r{text, {}};
  DeviceGrad g(ctx, make_case(text));
  g.draw_dy(case_seed(text) ^ 0x9e3779b97f4a7c15ull);
  if (foreign_stats) {
    for (auto [t, shift, factor] : {std::tuple{&g.fwd.softmax_max, -0.75, 1.0}, {&g.fwd.softmax_sum, 0.0, 1.3}}) {
      std::vector<double> x = tools::decode_values({t->desc(), from_device(ctx, *t)});
      for (double& e : x) e = e * factor + shift;
      const tools::HostData changed = tools::encode_values(DType::kFloat32, t->desc().shape, x);
      upload(ctx, t->view(), changed.bytes.data(), changed.bytes.size());
    }
  }
  const std::vector<tools::HostData> dev = g.run(r.problems);
  r.generic_kernel = g.generic_kernel;

  const FaOutputs fwd_out = outputs_of(ctx, g.fwd.attention_out, g.fwd.softmax_max, g.fwd.softmax_sum);
  const tools::FaInputs& in = g.fa.inputs;
  reference::FlashAttentionScoreGradRefInputs ref_in{tools::to_host_tensor(in.query),
                                                     tools::to_host_tensor(in.key),
                                                     tools::to_host_tensor(in.value),
                                                     tools::to_host_tensor(g.dy),
                                                     tools::to_host_tensor(fwd_out.attention_out),
                                                     tools::to_host_tensor(fwd_out.softmax_max),
                                                     tools::to_host_tensor(fwd_out.softmax_sum),
                                                     {},
                                                     {},
                                                     {}};
  if (in.pse) ref_in.pse = tools::to_host_tensor(*in.pse);
  if (in.drop_mask) ref_in.drop_mask = tools::to_host_tensor(*in.drop_mask);
  if (in.atten_mask) ref_in.atten_mask = tools::to_host_tensor(*in.atten_mask);
  const reference::FlashAttentionScoreGradRefOutputs ref = reference::flash_attention_score_grad(ref_in, g.fa.attrs);
  const reference::AttentionGradStats& s = ref.stats;
  check_output(dev[0], ref.dq, s, "dq", r.problems);
  check_output(dev[1], ref.dk, s, "dk", r.problems);
  check_output(dev[2], ref.dv, s, "dv", r.problems);
  r.dpse_checked = dev.size() > 3;
  if (r.dpse_checked != ref.dpse.has_value()) {
    r.problems.push_back("dpse: the device and the reference disagree on whether the problem has one");
  } else if (r.dpse_checked) {
    check_output(dev[3], *ref.dpse, s, "dpse", r.problems);
  }
  return r;
}

void expect_grad_passes(const GradRun& r) {
  for (const std::string& p : r.problems) ADD_FAILURE() << r.problem << ": " << p;
}

// Each (dtype, Dk, Dv) costs a kernel build; the head dims rotate through a few.
constexpr const char* kCases[] = {
    // Layouts × dtypes, GQA, odd sizes, S1 < S2 and S1 > S2, Dv < Dk.
    "fa:b2n2g1s1=7s2=113d=64:layout=BSH:dt=fp32",
    "fa:b1n8g8s1=113s2=7dk=72dv=40:layout=BSH:dt=fp16",
    "fa:b2n4g2s1=1s2=113d=40:layout=SBH:dt=bf16",
    "fa:b2n4g2s1=113s2=1d=64:layout=SBH:dt=fp32",
    "fa:b2n8g8s1=1s2=7d=40:layout=BSND:dt=fp32",
    "fa:b2n4g2s1=7s2=113d=64:layout=BSND:dt=fp16",
    "fa:b1n3g1s1=113s2=7dk=72dv=40:layout=BSND:dt=bf16",
    "fa:b2n3g1s1=7s2=1d=64:layout=BNSD:dt=fp32",
    "fa:b2n4g2s1=113s2=113d=40:layout=BNSD:dt=bf16",
    "fa:b1n2g1s1=300s2=1023d=64:layout=BNSD:dt=fp32",
    // Head dims at the edges: 1, odd, and 256 (shorter key blocks keep the private tiles within the stack budget).
    "fa:b1n2g2s1=9s2=33d=1:layout=BNSD:dt=fp16",
    "fa:b2n3g3s1=70s2=45d=59:layout=BSH:dt=fp32",
    "fa:b1n2g1s1=70s2=150dk=256dv=200:layout=BSND:dt=bf16",
    // TND: per-batch lengths, S1 ≠ S2 per batch, an empty batch and key-less rows.
    "fa:n4g2d=40:layout=TND:dt=fp32:seqq=1,8,121:seqkv=7,120,121:softmax_layout=TND",
    "fa:n2g1d=64:layout=TND:dt=fp16:seqq=7,8,121:seqkv=113,120,127",
    "fa:n4g2d=64:layout=TND:dt=fp32:seqq=5,5,118,120,0:seqkv=0,3,116,116,0:softmax_layout=TND",
    // Masks: every sparse mode, bands with negative pre/next, prefixes, fully masked rows with and without
    // inner_precise=2.
    "fa:b2n4g2s=113d=64:layout=BNSD:dt=fp32:sparse=1:mask=11ss:mask_dt=bool",
    "fa:b1n4g4s1=113s2=203d=64:layout=BSND:dt=fp32:sparse=2",
    "fa:b2n2g1s1=113s2=300d=40:layout=SBH:dt=fp16:sparse=3:mask_dt=bool",
    "fa:b2n4g2s=130d=64:layout=BSH:dt=bf16:sparse=4:pre=8:next=8:mask_dt=bool",
    "fa:b2n2g1s=113d=64:layout=BSH:dt=fp32:sparse=4:pre=-3:next=10",
    "fa:b2n2g1s1=113s2=203d=64:layout=BSH:dt=fp32:sparse=6:prefix=203,90:mask_dt=bool",
    "fa:n4g2d=40:layout=TND:dt=fp32:seqq=113,170:seqkv=7,9:sparse=4",
    "fa:n2g1d=64:layout=TND:dt=fp32:seqq=103,205:seqkv=156,348:sparse=7:next=0",
    "fa:n2g1d=64:layout=TND:dt=bf16:seqq=7,11:seqkv=113,198:sparse=8",
    "fa:b2n4g2s1=113s2=203d=40:layout=BNSD:dt=fp32:sparse=0:mask=bnss:mask_density=0.3",
    "fa:b2n4g2s1=65s2=113d=40:layout=BNSD:dt=fp16:sparse=0:inner_precise=2:mask_rows=3",
    "fa:b2n4g2s1=65s2=113d=40:layout=BNSD:dt=fp32:sparse=0:mask_rows=3",
    // pse: types 0 and 1 in several shapes, ALiBi types 2 and 3, the ALiBi-compressed form.
    "fa:b1n2g1s1=7s2=113d=64:layout=SBH:dt=fp32:pse_type=0:pse=1nss",
    "fa:b2n4g2s1=130s2=64d=40:layout=BNSD:dt=fp16:pse_type=0:pse=bn1s",
    "fa:b1n3g3s=113d=40:layout=BSH:dt=bf16:pse=bnss",
    "fa:b1n2g1s=113d=64:layout=BNSD:dt=fp32:pse_type=2:pse=slopes_n:q_start=5:kv_start=-2",
    "fa:b2n4g2d=40:layout=TND:dt=fp32:seqq=103,205:seqkv=103,205:sparse=2:pse_type=3:pse=slopes_bn:q_start=3:"
    "kv_start=0",
    "fa:b1n2g2s=1024d=40:layout=BNSD:dt=fp32:sparse=2:pse=alibi1",
    // Dropout: an explicit mask and the generator.
    "fa:b1n2g1s1=7s2=113d=64:layout=SBH:dt=fp32:keep_prob=0.9:drop_mask=explicit",
    "fa:b2n2g1d=40:layout=TND:dt=fp16:seqq=103,205:seqkv=103,205:keep_prob=0.5:drop_mask=explicit",
    "fa:b2n3g3s1=113s2=7d=64:layout=SBH:dt=fp32:keep_prob=0.6:drop_seed=1099511627783:drop_offset=37",
    "fa:b1n3g3s1=113s2=65d=40:layout=BNSD:dt=bf16:keep_prob=0.5:sparse=3",
};

// Cases with a dpse (pse_type 0/1 with a pse) check it beside dq, dk and dv; these add every pse form for both types
// (full, batch-shared, row-broadcast, ALiBi-compressed at S1 > 1024, TND packed and compressed), GQA, every dtype,
// band skipping, prefix keys, fully masked rows and both dropout sources.
constexpr const char* kDpseCases[] = {
    "fa:b2n4g2s1=7s2=113d=64:layout=BNSD:dt=fp32:pse_type=0:pse=bnss",
    "fa:b2n2g1s1=113s2=7d=40:layout=BSH:dt=fp16:pse_type=1:pse=1nss",
    "fa:b3n4g2s1=65s2=113d=64:layout=BSND:dt=bf16:pse_type=0:pse=bn1s",
    "fa:b3n2g1s1=113s2=65d=40:layout=SBH:dt=fp32:sparse=4:pre=9:next=-2:pse_type=1:pse=1n1s",
    "fa:b2n2g1s1=113s2=300d=40:layout=SBH:dt=fp16:sparse=3:mask_dt=bool:pse_type=0:pse=1n1s",
    "fa:b2n2g1s1=113s2=203d=64:layout=BSH:dt=fp32:sparse=6:prefix=203,90:mask_dt=bool:pse_type=0:pse=bn1s",
    "fa:b2n4g2s1=65s2=113d=40:layout=BNSD:dt=fp32:sparse=0:mask_rows=3:pse_type=1:pse=bnss",
    "fa:b2n2g1s=1100d=16:layout=BNSD:dt=fp32:sparse=3:pse_type=0:pse=alibi",
    "fa:b2n2g2s=1100d=16:layout=BNSD:dt=fp32:sparse=2:pse_type=1:pse=alibi1",
    "fa:n2g1d=64:layout=TND:dt=fp16:seqq=7,8,121:seqkv=113,120,127:pse_type=1:pse=bnss",
    "fa:n4g2d=40:layout=TND:dt=bf16:seqq=7,120,170:seqkv=113,120,180:pse_type=0:pse=bn1s",
    "fa:n2g1d=40:layout=TND:dt=fp32:seqq=103,205:seqkv=103,205:sparse=3:pse_type=0:pse=alibi",
    "fa:n2g2d=16:layout=TND:dt=fp32:seqq=1030,1330:seqkv=1030,1330:sparse=2:pse_type=1:pse=alibi1",
    "fa:b2n2g1s1=65s2=113d=40:layout=BNSD:dt=fp16:keep_prob=0.7:drop_mask=explicit:pse_type=0:pse=1nss",
    "fa:b2n3g3s1=113s2=7d=64:layout=SBH:dt=fp32:keep_prob=0.6:drop_seed=1099511627783:drop_offset=37:pse_type=1:"
    "pse=bn1s",
};

class FaGradDpse : public testing::TestWithParam<const char*> {};

TEST_P(FaGradDpse, MatchesReference) {
  const GradRun r = run_grad_case(GetParam());
  expect_grad_passes(r);
  EXPECT_TRUE(r.dpse_checked);
}

INSTANTIATE_TEST_SUITE_P(Forms, FaGradDpse, testing::ValuesIn(kDpseCases), problem_case_name);

class FaGrad : public testing::TestWithParam<const char*> {};

TEST_P(FaGrad, MatchesReference) { expect_grad_passes(run_grad_case(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Sampled, FaGrad, testing::ValuesIn(kCases), problem_case_name);

// Statistics that are not the forward's own are used as given (Ascend trusts softmax_max/sum, §2).
TEST(FaGradForeignStats, UsedAsGiven) {
  for (const char* text : {"fa:b1n4g2s1=113s2=70d=64:layout=BSND:dt=fp32",
                           "fa:b1n2g1s1=50s2=90d=40:layout=BNSD:dt=bf16:keep_prob=0.8:sparse=3"}) {
    expect_grad_passes(run_grad_case(text, test_context(), true));
  }
}

constexpr const char* kGenericCases[] = {
    "fa:b2n4g2s1=7s2=113d=40:layout=BSH:dt=fp32",
    "fa:b1n4g2s1=113s2=7dk=72dv=40:layout=BNSD:dt=bf16:sparse=4:pre=9:next=-2",
    "fa:n4g2d=64:layout=TND:dt=fp16:seqq=5,5,118,120,0:seqkv=0,3,116,116,0:softmax_layout=TND",
    "fa:b2n2g1s1=113s2=203d=40:layout=SBH:dt=fp32:sparse=6:prefix=150,90:mask_dt=bool",
    "fa:b2n4g2s1=65s2=113d=40:layout=BNSD:dt=fp32:sparse=0:mask=bnss:mask_density=0.3:pse_type=0:pse=bnss",
    "fa:b1n2g2s=113d=40:layout=BSND:dt=bf16:pse_type=3:pse=slopes_n:keep_prob=0.7",
    // dpse: batch-shared row-broadcast with dropout, compressed, TND packed rows and TND compressed.
    "fa:b2n2g1s1=7s2=113d=40:layout=BSH:dt=fp32:keep_prob=0.8:drop_mask=explicit:pse_type=1:pse=1n1s",
    "fa:b2n1g1s=1100d=40:layout=BNSD:dt=fp32:sparse=2:pse_type=0:pse=alibi1",
    "fa:n4g2d=64:layout=TND:dt=fp16:seqq=7,120,170:seqkv=113,120,180:pse_type=0:pse=bn1s",
    "fa:n2g1d=40:layout=TND:dt=bf16:seqq=103,205:seqkv=103,205:sparse=3:pse_type=1:pse=alibi1",
};

class FaGradGeneric : public testing::TestWithParam<const char*> {};

TEST_P(FaGradGeneric, MatchesReference) {
  const GradRun r = run_grad_case(GetParam(), generic_context());
  expect_grad_passes(r);
  EXPECT_TRUE(r.generic_kernel) << "a Context with tune fa.VARIANT=1 did not pick the generic variant";
}

INSTANTIATE_TEST_SUITE_P(InProcess, FaGradGeneric, testing::ValuesIn(kGenericCases), problem_case_name);

// The backward of the device's own forward is the gradient of that forward's output: loss = Σ dy ∘ attention_out,
// central differences of the device forward (fp32, step 2^-7: truncation and fp32 rounding both near 1e-4 of the
// gradient's scale) at sampled elements of q, k and v, against the device backward. With the built-in dropout
// generator (the backward regenerates the forward's bits from seed/offset), a causal band and an ALiBi pse.
TEST(FaGradEndToEnd, MatchesFiniteDifferencesOfTheDeviceForward) {
  const Context& ctx = test_context();
  for (const char* text : {"fa:b1n2g1s=13d=16:layout=BSND:dt=fp32:sparse=3:pse_type=2:pse=slopes_n:keep_prob=0.8:"
                           "drop_seed=77:drop_offset=5",
                           "fa:b1n4g2s=11d=16:layout=BNSD:dt=fp32:sparse=4:pre=3:next=0:pse_type=3:pse=slopes_n:"
                           "keep_prob=0.7"}) {
    SCOPED_TRACE(text);
    DeviceGrad g(ctx, make_case(text));
    g.draw_dy(case_seed(text));
    std::vector<std::string> problems;
    const std::vector<tools::HostData> grads = g.run(problems);
    for (const std::string& p : problems) ADD_FAILURE() << p;
    const std::vector<double> dy = tools::decode_values(g.dy);
    // loss of the device forward with one input replaced.
    auto loss = [&](int which, const tools::HostData& x) {
      const DeviceTensor t = to_device(ctx, x);
      const TensorView views[3] = {which == 0 ? t.view() : g.q.view(), which == 1 ? t.view() : g.k.view(),
                                   which == 2 ? t.view() : g.v.view()};
      const FlashAttentionScoreResult out = flash_attention_score(ctx, views[0], views[1], views[2], g.opt, g.fa.attrs);
      const std::vector<double> o =
          tools::decode_values({out.attention_out.desc(), from_device(ctx, out.attention_out)});
      double l = 0;
      for (std::size_t i = 0; i < o.size(); ++i) l += dy[i] * o[i];
      return l;
    };
    const tools::HostData* inputs[3] = {&g.fa.inputs.query, &g.fa.inputs.key, &g.fa.inputs.value};
    const char* names[3] = {"dq", "dk", "dv"};
    std::mt19937_64 pick(case_seed(text) + 1);
    for (int which = 0; which < 3; ++which) {
      const std::vector<double> base = tools::decode_values(*inputs[which]);
      const std::vector<double> grad = tools::decode_values(grads[which]);
      double scale = 0;
      for (double x : grad) scale = std::max(scale, std::fabs(x));
      ASSERT_GT(scale, 0) << names[which] << " is all zero";
      for (int sample = 0; sample < 12; ++sample) {
        const std::size_t e = pick() % base.size();
        const double h = 0x1p-7;
        std::vector<double> plus = base, minus = base;
        plus[e] += h;
        minus[e] -= h;
        const double fd = (loss(which, tools::encode_values(DType::kFloat32, inputs[which]->desc.shape, plus)) -
                           loss(which, tools::encode_values(DType::kFloat32, inputs[which]->desc.shape, minus))) /
                          (2 * h);
        EXPECT_NEAR(grad[e], fd, 2e-3 * scale + 1e-6) << names[which] << " element " << e;
      }
    }
  }
}

// Pd and dS are rounded to the input dtype before their matmuls (CAST_ROUND): the device's outputs land on the
// rounded reference's values (after the output cast) far more often than on the unrounded one's.
TEST(FaGradRounding, PdAndDsAreRoundedBeforeTheirMatmuls) {
  const Context& ctx = test_context();
  for (const char* text :
       {"fa:b1n2g1s1=64s2=1023d=64:layout=BSND:dt=bf16", "fa:b1n2g1s1=64s2=1023d=64:layout=BSND:dt=fp16"}) {
    SCOPED_TRACE(text);
    DeviceGrad g(ctx, make_case(text));
    g.draw_dy(7);
    std::vector<std::string> problems;
    const std::vector<tools::HostData> dev = g.run(problems);
    const FaOutputs fwd = outputs_of(ctx, g.fwd.attention_out, g.fwd.softmax_max, g.fwd.softmax_sum);
    reference::FlashAttentionScoreGradRefInputs in{tools::to_host_tensor(g.fa.inputs.query),
                                                   tools::to_host_tensor(g.fa.inputs.key),
                                                   tools::to_host_tensor(g.fa.inputs.value),
                                                   tools::to_host_tensor(g.dy),
                                                   tools::to_host_tensor(fwd.attention_out),
                                                   tools::to_host_tensor(fwd.softmax_max),
                                                   tools::to_host_tensor(fwd.softmax_sum),
                                                   {},
                                                   {},
                                                   {}};
    const auto rounded = reference::flash_attention_score_grad(in, g.fa.attrs, reference::GradPrecision::kAscend);
    const auto exact = reference::flash_attention_score_grad(in, g.fa.attrs, reference::GradPrecision::kExact);
    const DType dt = g.fa.inputs.query.desc.dtype;
    const reference::HostTensor* refs[3][2] = {
        {&rounded.dq, &exact.dq}, {&rounded.dk, &exact.dk}, {&rounded.dv, &exact.dv}};
    for (int o = 0; o < 3; ++o) {
      const std::vector<double> got = tools::decode_values(dev[o]);
      int64_t on_rounded = 0, on_exact = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        on_rounded += got[i] == reference::round_ties_away(dt, refs[o][0]->values[i]);
        on_exact += got[i] == reference::round_ties_away(dt, refs[o][1]->values[i]);
      }
      // Measured: about 99.9% of the elements on the rounded reference, 57% on the unrounded one.
      EXPECT_GT(on_rounded, on_exact + static_cast<int64_t>(got.size()) / 10)
          << "output " << o << ": " << on_rounded << " on the rounded reference, " << on_exact
          << " on the unrounded one, of " << got.size();
    }
  }
}

// plan.flops counts every score the band rule computes (prefix keys past the band included) at 2·(3·Dk + 2·Dv).
TEST(FaGradPlan, FlopsCountEveryComputedScore) {
  const Context& ctx = test_context();
  for (const char* text :
       {"fa:b2n2g1s1=40s2=70d=16:layout=BSND:dt=fp32", "fa:b1n2g1s1=40s2=70d=16:layout=BSND:dt=fp32:sparse=3",
        "fa:b1n2g1s=50d=16:layout=BSND:dt=fp32:sparse=4:pre=5:next=-2",
        "fa:b2n2g1s1=40s2=70d=16:layout=BSND:dt=fp32:sparse=6:prefix=60,31:mask_dt=bool"}) {
    SCOPED_TRACE(text);
    DeviceGrad g(ctx, make_case(text));
    g.draw_dy(1);
    const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(ctx, g.descs(), g.fa.attrs);
    const FaProblem& p = detail::PlanAccess::data(plan).problem;
    double scores = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      const schedule::BandRule& r = p.masks.rules[b];
      for (int64_t i = 0; i < p.seqs.q_len[b]; ++i) {
        for (int64_t j = 0; j < p.seqs.kv_len[b]; ++j) scores += r.visible(i, j);
      }
    }
    EXPECT_EQ(plan.flops, scores * static_cast<double>(p.n1) * 2 * static_cast<double>(3 * p.dk + 2 * p.dv));
  }
}

// A PoCL CPU device named `name` with room for any plan and 2 compute units, for host-only plans.
DeviceInfo plan_device(const char* name) {
  DeviceInfo dev = test::device("Portable Computing Language", "The pocl project", name, DeviceKind::kCpu);
  dev.max_alloc_size = UINT64_MAX / 2;
  dev.global_mem_size = UINT64_MAX;
  dev.compute_units = 2;
  return dev;
}

// The backward's plan for B = 1, S = s, N = n (BSND) at head dim d on `dev`, with CANNON_TUNE's `tune` and no shipped
// database.
FlashAttentionScoreGradPlan grad_plan(const DeviceInfo& dev, DType dtype, int64_t d,
                                      const std::map<std::string, long>& tune, int64_t s = 256, int64_t n = 2) {
  const TensorDesc q{dtype, {1, s, n, d}}, stats{DType::kFloat32, {1, n, s, 8}};
  const FlashAttentionScoreGradDescs descs{q, q, q, q, std::nullopt, std::nullopt, std::nullopt, stats, stats, q};
  FlashAttentionScoreAttrs attrs;
  attrs.head_num = n;
  Config config;
  config.tune_shipped_db = false;
  config.tune = tune;
  return plan_flash_attention_score_grad(PlanTarget{dev, config, nullptr}, descs, attrs);
}

// fag.BLOCK_M: the backward's rows per block are its own. On AVX-512 code (16 lanes, 32 registers) the heuristic takes
// 48 at head dims over 64 and the forward's rows at 64; CANNON_TUNE's fag.BLOCK_M is taken as given, the private-memory
// budget is judged with it, and a value that passes the budget is refused naming it.
TEST(FaGradPlan, RowsPerBlockAreFagsOwn) {
  const DeviceInfo dev = plan_device("pthread-skylake-avx512-Intel(R) Xeon(R) Processor");
  auto block_m = [&](int64_t d, const std::map<std::string, long>& tune) {
    return detail::PlanAccess::data(grad_plan(dev, DType::kFloat32, d, tune)).kernel.block_m;
  };
  EXPECT_EQ(block_m(128, {}), 48);
  EXPECT_EQ(block_m(64, {}), 96);
  EXPECT_EQ(block_m(128, {{"fag.BLOCK_M", 32}}), 32);
  // 96 keys per block fit beside 48 rows at D = 128 (about 132 KiB), not beside 96 rows (168 KiB).
  EXPECT_EQ(block_m(128, {{"fag.BLOCK_N", 96}}), 48);
  expect_error(
      [&] {
        block_m(128, {{"fag.BLOCK_M", 96}, {"fag.BLOCK_N", 96}});
      },
      Status::kParamInvalid, {"CANNON_TUNE", "fag.BLOCK_M=96", "private memory"});
}

// fag.BF16_DOT: the bf16 pair tiles (kernels/cube/bf16_pair_cpu.clh) go into a bf16 plan for a 16-lane PoCL CPU
// device exactly when this process's CPU has avx512_bf16; never for fp32, never on AVX2 code (8 lanes), and not under
// CANNON_TUNE's 0. Their private tiles count in the budget: 96 keys beside 48 rows at D = 128 still fit with them.
TEST(FaGradPlan, Bf16PairsWhereTheCpuHasThem) {
  const DeviceInfo avx512 = plan_device("pthread-skylake-avx512-AMD EPYC"),
                   avx2 = plan_device("pthread-haswell-AMD EPYC");
  auto pairs = [&](const DeviceInfo& dev, DType dtype, const std::map<std::string, long>& tune) {
    return detail::PlanAccess::data(grad_plan(dev, dtype, 128, tune)).bf16_pairs;
  };
  const bool host = __builtin_cpu_supports("avx512bf16");
  EXPECT_EQ(cpu_has_bf16_pairs(avx512), host);
  EXPECT_FALSE(cpu_has_bf16_pairs(avx2));
  EXPECT_EQ(pairs(avx512, DType::kBFloat16, {}), host);
  EXPECT_EQ(pairs(avx512, DType::kBFloat16, {{"fag.BLOCK_N", 96}}), host);
  EXPECT_FALSE(pairs(avx512, DType::kBFloat16, {{"fag.BF16_DOT", 0}}));
  EXPECT_FALSE(pairs(avx512, DType::kFloat32, {}));
  EXPECT_FALSE(pairs(avx512, DType::kFloat16, {}));
  EXPECT_FALSE(pairs(avx2, DType::kBFloat16, {}));
  for (const long bad : {-1L, 2L}) {
    expect_error(
        [&] {
          pairs(avx512, DType::kBFloat16, {{"fag.BF16_DOT", bad}});
        },
        Status::kParamInvalid, {"CANNON_TUNE", "fag.BF16_DOT"});
  }
  const std::size_t without = tune::fag_cpu_private_bytes(48, 96, 16, 128, 128, 8, 6, false),
                    with = tune::fag_cpu_private_bytes(48, 96, 16, 128, 128, 8, 6, true);
  EXPECT_EQ(with - without, std::size_t{2 * 2 * 96 * 48 + 4 * 48 * 48});
  EXPECT_LE(with, tune::kMaxCpuPrivateBytes);
}

// The automatic key entries per kv head (fag.PARTS 0): two entries per compute unit; more, up to one per compute unit
// and at most 4, where the row records of the heads that run at once pass a quarter of the device's global memory
// cache (host/ops/flash_attention_score_grad.cpp automatic_parts); CANNON_TUNE's fag.PARTS as given.
TEST(FaGradPlan, PartsShareHeadsWhereRecordsFillTheCache) {
  auto parts = [](unsigned cus, std::size_t cache, int64_t n, int64_t s, const std::map<std::string, long>& tune) {
    DeviceInfo dev = plan_device("pthread-haswell-AMD EPYC");
    dev.compute_units = cus;
    dev.global_mem_cache_size = cache;
    const FlashAttentionScoreGradPlan plan = grad_plan(dev, DType::kFloat32, 128, tune, s, n);
    const auto& d = detail::PlanAccess::data(plan);
    EXPECT_EQ(d.keys.size(), static_cast<std::size_t>(5 * n * d.parts));  // GK_STRIDE ints per entry
    return d.parts;
  };
  // AVX2 code, 96-row blocks at D = 128: a head's records are about 193 KiB per 96 rows, 8.1 MiB at S = 4096.
  EXPECT_EQ(parts(2, 32u << 20, 8, 1024, {}), 1);     // 2 heads at once: 4.1 MiB
  EXPECT_EQ(parts(2, 32u << 20, 8, 4096, {}), 2);     // 16.2 MiB against 8: both threads on one head
  EXPECT_EQ(parts(2, 0, 8, 4096, {}), 1);             // cache size unknown
  EXPECT_EQ(parts(2, 32u << 20, 1, 1024, {}), 4);     // one head: two entries per compute unit
  EXPECT_EQ(parts(16, 32u << 20, 32, 4096, {}), 4);   // 16 heads at once: at most 4 parts
  EXPECT_EQ(parts(16, 512u << 20, 32, 4096, {}), 2);  // 16 heads: 130 MiB against 128, 8 heads: 65
  EXPECT_EQ(parts(16, 1u << 30, 32, 4096, {}), 1);    // 16 heads' records fit a quarter of this cache
  EXPECT_EQ(parts(2, 32u << 20, 8, 4096, {{"fag.PARTS", 1}}), 1);
  EXPECT_EQ(parts(2, 32u << 20, 8, 1024, {{"fag.PARTS", 3}}), 3);
}

// Row chunks (fag.ROW_CHUNK 0): one chunk while a head's records fit a sixth of the device's memory cache; past that
// the fewest equal chunks under it, each key entry then carrying its key blocks' fp32 dK/dV in the workspace
// (host/ops/flash_attention_score_grad.cpp automatic_chunk_blocks). CANNON_TUNE's fag.ROW_CHUNK as given.
TEST(FaGradPlan, RowChunksWhereAHeadsRecordsPassTheCache) {
  struct Chunks {
    int64_t rows, dkv;
    std::size_t workspace;
  };
  auto chunks = [](std::size_t cache, int64_t s, const std::map<std::string, long>& tune) {
    DeviceInfo dev = plan_device("pthread-haswell-AMD EPYC");
    dev.global_mem_cache_size = cache;
    const FlashAttentionScoreGradPlan plan = grad_plan(dev, DType::kFloat32, 128, tune, s, 8);
    const auto& d = detail::PlanAccess::data(plan);
    EXPECT_EQ(d.kernel.block_m, 96);
    return Chunks{d.chunk_rows, d.dkv_entry_floats, plan.workspace_size};
  };
  // AVX2 code at D = 128: 193 KiB of records per 96-row block; a sixth of 32 MiB holds 28 blocks.
  EXPECT_EQ(chunks(32u << 20, 2048, {}).rows, 0);  // 22 blocks: one chunk
  const Chunks s4096 = chunks(32u << 20, 4096, {});
  EXPECT_EQ(s4096.rows, 22 * 96);  // 43 blocks: two chunks of 22 and 21
  // Two key entries per head (parts 2), 32 of the 64 key blocks each, 66 rows (64 keys in 6-key outer groups) of
  // 128 + 128 floats per block.
  EXPECT_EQ(s4096.dkv, 32 * 66 * 256);
  const Chunks whole = chunks(32u << 20, 4096, {{"fag.ROW_CHUNK", 43}});
  EXPECT_EQ(whole.rows, 0);
  EXPECT_EQ(s4096.workspace - whole.workspace, std::size_t{16} * 32 * 66 * 256 * sizeof(float));
  EXPECT_EQ(chunks(0, 4096, {}).rows, 0);  // cache size unknown
  EXPECT_EQ(chunks(32u << 20, 1024, {{"fag.ROW_CHUNK", 3}}).rows, 3 * 96);
}

// On a device that ends loops early (Mesa's llvmpipe), plan refuses a backward whose generic loops would pass the
// limit instead of leaving outputs unwritten; elsewhere the same problem plans.
TEST(FaGradLoopBudget, RefusedWhereLoopsEndEarly) {
  const Context& ctx = test_context();
  const TensorDesc q{DType::kFloat32, {1, 4096, 2, 128}}, stats{DType::kFloat32, {1, 2, 4096, 8}};
  const FlashAttentionScoreGradDescs descs{q, q, q, q, std::nullopt, std::nullopt, std::nullopt, stats, stats, q};
  FlashAttentionScoreAttrs attrs;
  attrs.head_num = 2;
  if (ctx.info().loop_limit == 0) {
    EXPECT_NO_THROW(plan_flash_attention_score_grad(ctx, descs, attrs));
    return;
  }
  expect_error([&] { plan_flash_attention_score_grad(ctx, descs, attrs); }, Status::kUnimplemented,
               {"fag_dkdv_generic", "4096"});
}

// fag_dpse's loops are checked by run, which alone knows whether a dpse is asked for: there a batch-shared,
// row-broadcast pse over 64 batches of 40 rows (about 97000 loop steps per element) is refused, while the same
// problem without a dpse view runs.
TEST(FaGradLoopBudget, DpseRefusedAtRunWhereLoopsEndEarly) {
  const Context& ctx = test_context();
  const char* text = "fa:b64n1g1s=40d=16:layout=BSND:dt=fp32:pse_type=1:pse=1n1s";
  if (ctx.info().loop_limit == 0) {
    const tools::FaCase fa = make_case(text);
    const TensorDesc stats{DType::kFloat32, {64, 1, 40, 8}};
    const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(
        ctx,
        {fa.inputs.query.desc, fa.inputs.key.desc, fa.inputs.value.desc, fa.inputs.query.desc, fa.inputs.pse->desc,
         std::nullopt, std::nullopt, stats, stats, fa.inputs.query.desc},
        fa.attrs);
    EXPECT_GT(detail::PlanAccess::data(plan).dpse_loop_steps, 65535u);
    return;
  }
  DeviceGrad g(ctx, make_case(text));
  g.draw_dy(9);
  const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(ctx, g.descs(), g.fa.attrs);
  DeviceTensor dq = allocate(ctx, plan.dq), dk = allocate(ctx, plan.dk), dv = allocate(ctx, plan.dv);
  DeviceTensor dpse = allocate(ctx, plan.dpse);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  expect_error(
      [&] {
        run_flash_attention_score_grad(ctx, plan, g.tensors(dq.view(), dk.view(), dv.view(), dpse.view()), ws.buffer());
      },
      Status::kUnimplemented, {"fag_dpse", "dpse"});
  EXPECT_NO_THROW(
      run_flash_attention_score_grad(ctx, plan, g.tensors(dq.view(), dk.view(), dv.view(), std::nullopt), ws.buffer()));
  ctx.finish();
}

// Bad input: the argument and the rule in the message, kParamInvalid, nothing run.
TEST(FaGradErrors, NameTheArgumentAndTheRule) {
  const Context& ctx = test_context();
  DeviceGrad g(ctx, make_case("fa:b1n2g1s1=5s2=7d=16:layout=BSND:dt=fp32"));
  g.draw_dy(3);
  const FlashAttentionScoreGradDescs good = g.descs();
  auto plan_with = [&](FlashAttentionScoreGradDescs d, FlashAttentionScoreAttrs a) {
    return [=, &ctx] { plan_flash_attention_score_grad(ctx, d, a); };
  };
  FlashAttentionScoreGradDescs d = good;
  d.dy.shape[1] += 1;
  expect_error(plan_with(d, g.fa.attrs), Status::kParamInvalid, {"dy", "shape"});
  d = good;
  d.dy.dtype = DType::kBFloat16;
  expect_error(plan_with(d, g.fa.attrs), Status::kParamInvalid, {"dy", "dtype"});
  d = good;
  d.attention_in.shape[3] = 8;
  expect_error(plan_with(d, g.fa.attrs), Status::kParamInvalid, {"attention_in"});
  d = good;
  d.softmax_max.dtype = DType::kFloat16;
  expect_error(plan_with(d, g.fa.attrs), Status::kParamInvalid, {"softmax_max", "fp32"});
  d = good;
  d.softmax_sum.shape = {1, 2, 5, 1};
  expect_error(plan_with(d, g.fa.attrs), Status::kParamInvalid, {"softmax_sum", "shape"});
  FlashAttentionScoreAttrs a = g.fa.attrs;
  a.pse_type = 0;  // Ascend's grad rejects a non-default pse_type without a pse (§3.4)
  expect_error(plan_with(good, a), Status::kParamInvalid, {"pse_type", "pse"});
  a = g.fa.attrs;
  a.head_num = 3;
  expect_error(plan_with(good, a), Status::kParamInvalid, {"head_num"});

  // A run with a dpse view but no pse, a short workspace and a view the plan did not describe.
  const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(ctx, good, g.fa.attrs);
  EXPECT_EQ(plan.dpse.shape, std::vector<int64_t>{0});
  DeviceTensor dq = allocate(ctx, plan.dq), dk = allocate(ctx, plan.dk), dv = allocate(ctx, plan.dv);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  FlashAttentionScoreGradTensors t = g.tensors(dq.view(), dk.view(), dv.view(), dq.view());
  expect_error([&] { run_flash_attention_score_grad(ctx, plan, t, ws.buffer()); }, Status::kParamInvalid,
               {"dpse", "without a pse"});
  t.dpse.reset();
  DeviceTensor small = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size / 2)}});
  expect_error([&] { run_flash_attention_score_grad(ctx, plan, t, small.buffer()); }, Status::kParamInvalid,
               {"workspace"});
  t.dq = g.k.view();
  expect_error([&] { run_flash_attention_score_grad(ctx, plan, t, ws.buffer()); }, Status::kParamInvalid, {"dq"});
  t.dq = dq.view();
  t.dk = dq.view();
  expect_error([&] { run_flash_attention_score_grad(ctx, plan, t, ws.buffer()); }, Status::kParamInvalid, {"dk"});
}

// A dpse view the problem has no gradient for (ALiBi slopes), or one unlike plan.dpse (shape, dtype) or overlapping
// an input: kParamInvalid naming dpse, nothing run.
TEST(FaGradErrors, DpseViews) {
  const Context& ctx = test_context();
  for (const char* text : {"fa:b1n2g1s=9d=16:layout=BSND:dt=fp32:pse_type=2:pse=slopes_n",
                           "fa:b2n2g1s=9d=16:layout=BSND:dt=fp32:pse_type=3:pse=slopes_bn"}) {
    SCOPED_TRACE(text);
    DeviceGrad g(ctx, make_case(text));
    g.draw_dy(3);
    const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(ctx, g.descs(), g.fa.attrs);
    EXPECT_EQ(plan.dpse.shape, std::vector<int64_t>{0});
    DeviceTensor dq = allocate(ctx, plan.dq), dk = allocate(ctx, plan.dk), dv = allocate(ctx, plan.dv);
    DeviceTensor dpse = allocate(ctx, {DType::kFloat32, {2}});
    DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
    expect_error(
        [&] {
          run_flash_attention_score_grad(ctx, plan, g.tensors(dq.view(), dk.view(), dv.view(), dpse.view()),
                                         ws.buffer());
        },
        Status::kParamInvalid, {"dpse", g.fa.attrs.pse_type == 2 ? "pse_type 2" : "pse_type 3"});
  }
  DeviceGrad g(ctx, make_case("fa:b2n2g1s1=5s2=7d=16:layout=BSND:dt=fp32:pse_type=0:pse=1nss"));
  g.draw_dy(3);
  const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(ctx, g.descs(), g.fa.attrs);
  EXPECT_EQ(plan.dpse, g.fa.inputs.pse->desc);
  DeviceTensor dq = allocate(ctx, plan.dq), dk = allocate(ctx, plan.dk), dv = allocate(ctx, plan.dv);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  TensorDesc wrong_shape = plan.dpse, wrong_dtype = plan.dpse;
  wrong_shape.shape[0] = 2;
  wrong_dtype.dtype = DType::kFloat16;
  for (const TensorDesc& desc : {wrong_shape, wrong_dtype}) {
    DeviceTensor dpse = allocate(ctx, desc);
    expect_error(
        [&] {
          run_flash_attention_score_grad(ctx, plan, g.tensors(dq.view(), dk.view(), dv.view(), dpse.view()),
                                         ws.buffer());
        },
        Status::kParamInvalid, {"dpse", "plan expects"});
  }
  expect_error(
      [&] {
        run_flash_attention_score_grad(ctx, plan, g.tensors(dq.view(), dk.view(), dv.view(), g.pse->view()),
                                       ws.buffer());
      },
      Status::kParamInvalid, {"dpse:", "overlap pse"});
}

// A dpse view changes nothing else: dq, dk and dv are bit for bit those of a run without one, and dpse is bit for bit
// the same on a second run (a fixed summation order, no atomics). The allocating call returns it for pse_type 0/1
// and [0] for ALiBi.
TEST(FaGradDpseRuns, OptionalDeterministicAndAllocated) {
  const Context& ctx = test_context();
  DeviceGrad g(ctx,
               make_case("fa:b2n2g1s1=40s2=70d=16:layout=BSND:dt=fp32:sparse=4:pre=20:next=5:pse_type=1:pse=1n1s"));
  g.draw_dy(5);
  std::vector<std::string> problems;
  const std::vector<tools::HostData> with = g.run(problems), again = g.run(problems), without = g.run(problems, false);
  for (const std::string& p : problems) ADD_FAILURE() << p;
  ASSERT_EQ(with.size(), 4u);
  ASSERT_EQ(without.size(), 3u);
  for (std::size_t o = 0; o < 3; ++o) EXPECT_EQ(with[o].bytes, without[o].bytes) << "output " << o;
  EXPECT_EQ(with[3].bytes, again[3].bytes);
  auto allocated = [&](const DeviceGrad& c) {
    return flash_attention_score_grad(ctx, c.q.view(), c.k.view(), c.v.view(), c.dy_dev->view(),
                                      c.fwd.softmax_max.view(), c.fwd.softmax_sum.view(), c.fwd.attention_out.view(),
                                      {c.opt.pse, c.opt.drop_mask, c.opt.atten_mask}, c.fa.attrs);
  };
  EXPECT_EQ(from_device(ctx, allocated(g).dpse), with[3].bytes);
  DeviceGrad alibi(ctx, make_case("fa:b1n2g1s=9d=16:layout=BSND:dt=fp32:pse_type=2:pse=slopes_n"));
  alibi.draw_dy(5);
  EXPECT_EQ(allocated(alibi).dpse.desc().shape, std::vector<int64_t>{0});
}

}  // namespace
}  // namespace cannon::optest

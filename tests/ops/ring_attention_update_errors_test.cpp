// RingAttentionUpdate's rejections, each a cannon::Error with the right status and a message naming the argument:
// plan-time shape/dtype/layout rules, the Atlas A2 limits under strict, run()'s checks of views, and
// actual_seq_qlen's values (checked on the device and raised by ctx.finish(); by run itself under CANNON_STRICT).
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "host/ops/ring_attention_update_problem.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon {
namespace {

using optest::expect_error;

RingAttentionUpdateDescs sbh(DType dt, int64_t s, int64_t b, int64_t n, int64_t d) {
  const TensorDesc attn{dt, {s, b, n * d}}, sm{DType::kFloat32, {b, n, s, 8}};
  return {attn, sm, sm, attn, sm, sm, std::nullopt};
}

RingAttentionUpdateDescs tnd(DType dt, int64_t t, int64_t n, int64_t d, int64_t batches) {
  const TensorDesc attn{dt, {t, n, d}}, sm{DType::kFloat32, {t, n, 8}};
  return {attn, sm, sm, attn, sm, sm, TensorDesc{DType::kInt64, {batches + 1}}};
}

const RingAttentionUpdateAttrs kSbh{"SBH", ""}, kTnd{"TND", ""}, kTndTnd{"TND", "TND"};

void expect_invalid(const RingAttentionUpdateDescs& d, const RingAttentionUpdateAttrs& a, const char* needle,
                    bool strict = false) {
  expect_error([&] { validate_ring_attention_update(d, a, strict); }, Status::kParamInvalid, {needle});
}

TEST(RauValidate, LayoutsAndDtypes) {
  expect_invalid(sbh(DType::kFloat16, 4, 2, 2, 64), {"BSH", ""}, "input_layout");
  expect_invalid(sbh(DType::kFloat16, 4, 2, 2, 64), {"SBH", "BNSD"}, "softmax_layout");
  expect_invalid(sbh(DType::kInt32, 4, 2, 2, 64), kSbh, "prev_attn_out");
  auto d = sbh(DType::kFloat16, 4, 2, 2, 64);
  d.cur_attn_out.dtype = DType::kBFloat16;
  expect_invalid(d, kSbh, "cur_attn_out");
  d = sbh(DType::kFloat16, 4, 2, 2, 64);
  d.prev_softmax_max.dtype = d.prev_softmax_sum.dtype = d.cur_softmax_max.dtype = d.cur_softmax_sum.dtype =
      DType::kFloat16;
  expect_invalid(d, kSbh, "prev_softmax_max");
  d = sbh(DType::kFloat16, 4, 2, 2, 64);
  d.cur_softmax_sum.dtype = DType::kFloat16;
  expect_invalid(d, kSbh, "cur_softmax_sum");
}

TEST(RauValidate, SbhShapes) {
  auto d = sbh(DType::kFloat32, 4, 2, 2, 64);
  d.prev_softmax_max.shape = {2, 2, 5, 8};
  d.prev_softmax_sum = d.cur_softmax_max = d.cur_softmax_sum = d.prev_softmax_max;
  expect_invalid(d, kSbh, "prev_softmax_max");
  d = sbh(DType::kFloat32, 4, 2, 2, 64);
  d.prev_softmax_max.shape = {2, 2, 4, 4};
  d.prev_softmax_sum = d.cur_softmax_max = d.cur_softmax_sum = d.prev_softmax_max;
  expect_invalid(d, kSbh, "last dimension must be 8");
  d = sbh(DType::kFloat32, 4, 2, 3, 64);
  d.prev_attn_out.shape = d.cur_attn_out.shape = {4, 2, 190};
  expect_invalid(d, kSbh, "not a multiple of N");
  d = sbh(DType::kFloat32, 4, 2, 2, 64);
  d.cur_attn_out.shape = {4, 2, 64};
  expect_invalid(d, kSbh, "cur_attn_out");
  d = sbh(DType::kFloat32, 4, 2, 2, 64);
  d.prev_softmax_sum.shape = {2, 2, 4, 9};
  expect_invalid(d, kSbh, "prev_softmax_sum");
  expect_invalid(sbh(DType::kFloat32, 0, 2, 2, 64), kSbh, "empty");
  EXPECT_NO_THROW(validate_ring_attention_update(sbh(DType::kBFloat16, 3, 1, 1, 5), kSbh, true));
}

TEST(RauValidate, TndShapesAndSeqQlen) {
  auto d = tnd(DType::kFloat16, 10, 2, 64, 2);
  d.actual_seq_qlen.reset();
  expect_error([&] { validate_ring_attention_update(d, kTnd, false); }, Status::kParamNullptr, {"actual_seq_qlen"});
  d = tnd(DType::kFloat16, 10, 2, 64, 2);
  d.actual_seq_qlen->dtype = DType::kInt32;
  expect_invalid(d, kTnd, "actual_seq_qlen");
  d.actual_seq_qlen = TensorDesc{DType::kInt64, {1}};
  expect_invalid(d, kTnd, "actual_seq_qlen");
  d = tnd(DType::kFloat16, 10, 2, 64, 2);
  d.prev_softmax_max.shape = {10, 3, 8};
  d.prev_softmax_sum = d.cur_softmax_max = d.cur_softmax_sum = d.prev_softmax_max;
  expect_invalid(d, kTnd, "prev_softmax_max");
  // Without strict cannon takes any D and N (docs: "What cannon accepts beyond Ascend").
  EXPECT_NO_THROW(validate_ring_attention_update(tnd(DType::kFloat32, 10, 300, 59, 2), kTnd, false));
  EXPECT_NO_THROW(validate_ring_attention_update(tnd(DType::kFloat32, 10, 2, 832, 2), kTndTnd, false));
}

TEST(RauValidate, StrictAtlasA2Limits) {
  expect_invalid(tnd(DType::kFloat16, 10, 2, 96, 2), kTnd, "multiple of 64", true);
  expect_invalid(tnd(DType::kFloat16, 10, 2, 832, 2), kTnd, "exceeds 768", true);
  expect_invalid(tnd(DType::kFloat16, 10, 257, 64, 2), kTnd, "exceeds 256", true);
  EXPECT_NO_THROW(validate_ring_attention_update(tnd(DType::kFloat32, 10, 256, 768, 2), kTnd, true));
  // SBH has no D or N limit on Ascend's A2 tiling (it loops over D in 64-element chunks).
  EXPECT_NO_THROW(validate_ring_attention_update(sbh(DType::kFloat32, 4, 2, 2, 96), kSbh, true));
}

TEST(RauValidate, SeqQlenValues) {
  const RauProblem p = validate_ring_attention_update(tnd(DType::kFloat32, 10, 2, 64, 2), kTnd, false);
  EXPECT_NO_THROW(check_actual_seq_qlen(p, {0, 4, 10}));
  EXPECT_NO_THROW(check_actual_seq_qlen(p, {0, 10, 10}));
  expect_error([&] { check_actual_seq_qlen(p, {1, 4, 10}); }, Status::kParamInvalid, {"actual_seq_qlen", "start"});
  expect_error([&] { check_actual_seq_qlen(p, {0, 6, 4}); }, Status::kParamInvalid, {"actual_seq_qlen", "decreases"});
  expect_error([&] { check_actual_seq_qlen(p, {0, 4, 9}); }, Status::kParamInvalid, {"actual_seq_qlen", "T = 10"});
}

// run(): null buffers, views that differ from the plan or overrun their buffer.
TEST(RauRun, ViewChecks) {
  const Context& ctx = optest::test_context();
  const auto d = tnd(DType::kFloat16, 10, 2, 64, 2);
  const RingAttentionUpdatePlan plan = plan_ring_attention_update(ctx, d, kTnd);
  EXPECT_GT(plan.workspace_size, 0u);
  DeviceTensor attn = allocate(ctx, d.prev_attn_out), sm = allocate(ctx, d.prev_softmax_max);
  DeviceTensor o = allocate(ctx, plan.attn_out), m = allocate(ctx, plan.softmax_max),
               s = allocate(ctx, plan.softmax_sum);
  DeviceTensor qlen = allocate(ctx, *d.actual_seq_qlen);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  const std::vector<int64_t> seq{0, 3, 10};
  upload(ctx, qlen.view(), seq.data(), seq.size() * 8);
  auto tensors = [&] {
    return RingAttentionUpdateTensors{attn.view(), sm.view(),   sm.view(), attn.view(), sm.view(),
                                      sm.view(),   qlen.view(), o.view(),  m.view(),    s.view()};
  };
  EXPECT_NO_THROW(run_ring_attention_update(ctx, plan, tensors(), ws.buffer()));
  ctx.finish();
  auto t = tensors();
  t.cur_attn_out.buffer = nullptr;
  expect_error([&] { run_ring_attention_update(ctx, plan, t, ws.buffer()); }, Status::kParamNullptr, {"cur_attn_out"});
  t = tensors();
  t.actual_seq_qlen.reset();
  expect_error([&] { run_ring_attention_update(ctx, plan, t, ws.buffer()); }, Status::kParamNullptr,
               {"actual_seq_qlen"});
  t = tensors();
  t.softmax_sum.desc.shape = {10, 2, 4};
  expect_error([&] { run_ring_attention_update(ctx, plan, t, ws.buffer()); }, Status::kParamInvalid, {"softmax_sum"});
  t = tensors();
  t.attn_out.offset = 2;
  expect_error([&] { run_ring_attention_update(ctx, plan, t, ws.buffer()); }, Status::kParamInvalid,
               {"attn_out", "ends at byte"});
  expect_error([&] { run_ring_attention_update(ctx, plan, tensors(), nullptr); }, Status::kParamNullptr, {"workspace"});
}

// Bad actual_seq_qlen values, in both TND softmax layouts: run only enqueues, ctx.finish() raises the rule naming
// actual_seq_qlen, and nothing outside the outputs is written (the per-token table falls back to addresses inside
// the tensors; guard bytes on both sides stay intact). Under CANNON_STRICT run reads the values back and throws.
TEST(RauRun, BadSeqValuesAreReportedAtFinish) {
  Config strict_config = optest::test_context().config();
  strict_config.strict = true;
  const Context strict = Context::create("", strict_config);
  const struct {
    std::vector<int64_t> values;
    const char* rule;
  } bad[] = {{{0, 11, 10}, "decreases at index 2 (10 after 11)"},
             {{0, 3, 12}, "ends at 12, but T = 10"},
             {{4, 3, 10}, "must start at 0, starts at 4"},
             {{0, -5, 10}, "decreases at index 1 (-5 after 0)"},
             {{0, int64_t{1} << 40, 10}, "decreases at index 2"}};
  for (const Context* ctx : {&optest::test_context(), &strict}) {
    for (const RingAttentionUpdateAttrs& attrs : {kTnd, kTndTnd}) {
      const auto d = tnd(DType::kFloat32, 10, 2, 64, 2);
      const RingAttentionUpdatePlan plan = plan_ring_attention_update(*ctx, d, attrs);
      DeviceTensor attn = allocate(*ctx, d.prev_attn_out), sm = allocate(*ctx, d.prev_softmax_max);
      const std::vector<float> ones(static_cast<std::size_t>(d.prev_attn_out.numel()), 1.0f);
      upload(*ctx, attn.view(), ones.data(), ones.size() * 4);
      upload(*ctx, sm.view(), ones.data(), static_cast<std::size_t>(d.prev_softmax_max.numel()) * 4);
      DeviceTensor qlen = allocate(*ctx, *d.actual_seq_qlen);
      DeviceTensor ws = allocate(*ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
      for (const auto& [values, rule] : bad) {
        SCOPED_TRACE(std::string(rule) + (attrs.softmax_layout.empty() ? " per-batch blocks" : " token-major") +
                     (ctx == &strict ? " strict" : ""));
        upload(*ctx, qlen.view(), values.data(), values.size() * 8);
        optest::Guarded o(*ctx, plan.attn_out), m(*ctx, plan.softmax_max), s(*ctx, plan.softmax_sum);
        auto run = [&] {
          run_ring_attention_update(*ctx, plan,
                                    {attn.view(), sm.view(), sm.view(), attn.view(), sm.view(), sm.view(), qlen.view(),
                                     o.view, m.view, s.view},
                                    ws.buffer());
        };
        if (ctx == &strict) {
          expect_error(run, Status::kParamInvalid, {"actual_seq_qlen", rule});
        } else {
          EXPECT_NO_THROW(run());
          expect_error([&] { ctx->finish(); }, Status::kParamInvalid, {"actual_seq_qlen", rule});
          EXPECT_NO_THROW(ctx->finish()) << "the error is raised once";
        }
        std::vector<std::string> problems;
        o.read(*ctx, problems, "attn_out");
        m.read(*ctx, problems, "softmax_max");
        s.read(*ctx, problems, "softmax_sum");
        for (const std::string& p : problems) ADD_FAILURE() << p;
      }
    }
  }
}

TEST(RauRun, ConvenienceCallSbh) {
  const Context& ctx = optest::test_context();
  const auto d = sbh(DType::kFloat32, 3, 2, 2, 16);
  DeviceTensor attn = allocate(ctx, d.prev_attn_out), sm = allocate(ctx, d.prev_softmax_max);
  std::vector<float> ones(d.prev_attn_out.numel(), 1.0f), stats(d.prev_softmax_max.numel(), 2.0f);
  upload(ctx, attn.view(), ones.data(), ones.size() * 4);
  upload(ctx, sm.view(), stats.data(), stats.size() * 4);
  auto r = ring_attention_update(ctx, attn.view(), sm.view(), sm.view(), attn.view(), sm.view(), sm.view(),
                                 std::nullopt, kSbh);
  std::vector<float> out(ones.size()), sum(stats.size());
  download(ctx, r.attn_out.view(), out.data(), out.size() * 4);
  download(ctx, r.softmax_sum.view(), sum.data(), sum.size() * 4);
  for (float v : out) EXPECT_FLOAT_EQ(v, 1.0f);
  for (float v : sum) EXPECT_FLOAT_EQ(v, 4.0f);
}

}  // namespace
}  // namespace cannon

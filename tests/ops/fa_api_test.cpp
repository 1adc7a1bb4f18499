// The public FlashAttentionScore API as a caller uses it: the convenience call against plan + run, a Context
// adopted from the caller's own OpenCL handles (which must outlive it), strided and offset input views against
// contiguous ones, a workspace that is a sub-buffer of the caller's arena, and bitwise determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

struct Outputs {
  DeviceTensor out, max, sum, softmax_out;
};

Outputs allocate_outputs(const Context& ctx, const FlashAttentionScorePlan& plan) {
  return {allocate(ctx, plan.attention_out), allocate(ctx, plan.softmax_max), allocate(ctx, plan.softmax_sum),
          allocate(ctx, plan.softmax_out)};
}

FlashAttentionScoreTensors tensors_of(const TensorView& q, const TensorView& k, const TensorView& v, const Outputs& o) {
  return {q, k, v, {}, {}, {}, o.out.view(), o.max.view(), o.sum.view(), o.softmax_out.view()};
}

void expect_same_bytes(const FaOutputs& a, const FaOutputs& b, const std::string& what) {
  EXPECT_TRUE(a.attention_out.bytes == b.attention_out.bytes) << what << ": attention_out differs";
  EXPECT_TRUE(a.softmax_max.bytes == b.softmax_max.bytes) << what << ": softmax_max differs";
  EXPECT_TRUE(a.softmax_sum.bytes == b.softmax_sum.bytes) << what << ": softmax_sum differs";
}

// Plans and runs `fa` on ctx with the given input views, through the two-phase API.
FaOutputs plan_and_run(const Context& ctx, const tools::FaCase& fa, const TensorView& q, const TensorView& k,
                       const TensorView& v) {
  FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, fa.descs(), fa.attrs);
  Outputs o = allocate_outputs(ctx, plan);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  run_flash_attention_score(ctx, plan, tensors_of(q, k, v, o), ws.buffer());
  ctx.finish();
  return outputs_of(ctx, o.out, o.max, o.sum);
}

TEST(FaApi, ConvenienceCallMatchesPlanAndRun) {
  const Context& ctx = test_context();
  tools::FaCase fa = make_case("fa:b2n4g2s1=7s2=113d=64:layout=BSND:dt=bf16");
  DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
               v = to_device(ctx, fa.inputs.value);

  FlashAttentionScoreResult res = flash_attention_score(ctx, q.view(), k.view(), v.view(), fa.attrs);
  FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, fa.descs(), fa.attrs);
  EXPECT_EQ(res.attention_out.desc(), plan.attention_out);
  EXPECT_EQ(res.softmax_max.desc(), plan.softmax_max);
  EXPECT_EQ(res.softmax_sum.desc(), plan.softmax_sum);
  EXPECT_EQ(res.softmax_out.desc(), plan.softmax_out);

  FaOutputs convenient = outputs_of(ctx, res.attention_out, res.softmax_max, res.softmax_sum);
  tools::Verdict verdict = judge_outputs(fa, convenient);
  EXPECT_TRUE(verdict.passed()) << verdict.summary();
  expect_same_bytes(convenient, plan_and_run(ctx, fa, q.view(), k.view(), v.view()), "convenience vs plan+run");
}

TEST(FaApi, AdoptedHandlesWorkAndOutliveTheContext) {
  cl_device_id device = test_context().cl_device_handle();
  cl_int err = CL_SUCCESS;
  cl_context cl_ctx = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
  ASSERT_EQ(err, CL_SUCCESS);
  cl_command_queue queue = clCreateCommandQueue(cl_ctx, device, 0, &err);
  ASSERT_EQ(err, CL_SUCCESS);

  // Counts before adopting (the queue itself holds a reference to its context on some platforms).
  cl_uint context_refs = 0, queue_refs = 0, refs = 0;
  ASSERT_EQ(clGetContextInfo(cl_ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &context_refs, nullptr), CL_SUCCESS);
  ASSERT_EQ(clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &queue_refs, nullptr), CL_SUCCESS);

  tools::FaCase fa = make_case("fa:b1n8g8s1=113s2=7d=64:layout=BNSD:dt=fp32");
  FaOutputs own_result, adopted_result;
  {
    Context adopted = Context::adopt(cl_ctx, device, queue);
    EXPECT_EQ(adopted.cl_context_handle(), cl_ctx);
    EXPECT_EQ(adopted.cl_device_handle(), device);
    EXPECT_EQ(adopted.cl_queue_handle(), queue);
    DeviceTensor q = to_device(adopted, fa.inputs.query), k = to_device(adopted, fa.inputs.key),
                 v = to_device(adopted, fa.inputs.value);
    FlashAttentionScoreResult res = flash_attention_score(adopted, q.view(), k.view(), v.view(), fa.attrs);
    adopted_result = outputs_of(adopted, res.attention_out, res.softmax_max, res.softmax_sum);
  }
  tools::Verdict verdict = judge_outputs(fa, adopted_result);
  EXPECT_TRUE(verdict.passed()) << verdict.summary();
  {
    const Context& ctx = test_context();
    DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
                 v = to_device(ctx, fa.inputs.value);
    own_result = plan_and_run(ctx, fa, q.view(), k.view(), v.view());
  }
  expect_same_bytes(adopted_result, own_result, "adopted context vs cannon's own context");

  // Everything cannon retained is released, and the caller's handles still work.
  ASSERT_EQ(clGetContextInfo(cl_ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, nullptr), CL_SUCCESS);
  EXPECT_EQ(refs, context_refs) << "cl_context references leaked or over-released";
  ASSERT_EQ(clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, nullptr), CL_SUCCESS);
  EXPECT_EQ(refs, queue_refs) << "cl_command_queue references leaked or over-released";
  const int sent[4] = {1, -2, 3, -4};
  int got[4] = {};
  cl_mem mem = clCreateBuffer(cl_ctx, CL_MEM_READ_WRITE, sizeof sent, nullptr, &err);
  ASSERT_EQ(err, CL_SUCCESS);
  EXPECT_EQ(clEnqueueWriteBuffer(queue, mem, CL_TRUE, 0, sizeof sent, sent, 0, nullptr, nullptr), CL_SUCCESS);
  EXPECT_EQ(clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, sizeof got, got, 0, nullptr, nullptr), CL_SUCCESS);
  EXPECT_TRUE(std::equal(sent, sent + 4, got));
  EXPECT_EQ(clFinish(queue), CL_SUCCESS);
  clReleaseMemObject(mem);
  clReleaseCommandQueue(queue);
  clReleaseContext(cl_ctx);
}

// Stores `data` in a buffer of `padded` shape (the view's strides are that shape's contiguous strides) after
// `offset` elements; every byte the view does not cover is 0xFF (NaN), so a kernel that reads one shows it.
DeviceTensor place_strided(const Context& ctx, const tools::HostData& data, const std::vector<int64_t>& padded,
                           int64_t offset, TensorView& view) {
  const std::size_t item = dtype_size(data.desc.dtype);
  const std::vector<int64_t> strides = contiguous_strides(padded), shape = data.desc.shape;
  int64_t span = 1;
  for (int64_t d : padded) span *= d;
  std::vector<uint8_t> bytes(static_cast<std::size_t>(offset + span + 7) * item, 0xFF);
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t flat = 0; flat < data.desc.numel(); ++flat) {
    int64_t at = offset;
    for (std::size_t i = 0; i < shape.size(); ++i) at += index[i] * strides[i];
    std::copy_n(data.bytes.begin() + flat * static_cast<int64_t>(item), item, bytes.begin() + at * item);
    for (std::size_t i = shape.size(); i-- > 0 && ++index[i] == shape[i];) index[i] = 0;
  }
  DeviceTensor t = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(bytes.size())}});
  upload(ctx, t.view(), bytes.data(), bytes.size());
  view = TensorView{t.buffer(), static_cast<std::size_t>(offset) * item, data.desc, strides};
  return t;
}

struct StridedCase {
  const char* problem;
  std::vector<int64_t> q_padded, k_padded, v_padded;  // each >= the tensor's shape
  int64_t q_offset, k_offset, v_offset;               // elements
};

// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const StridedCase& sc, std::ostream* os) { *os << sc.problem; }

class FaApiStrided : public testing::TestWithParam<StridedCase> {};

TEST_P(FaApiStrided, MatchesContiguousBitwise) {
  const Context& ctx = test_context();
  const StridedCase& sc = GetParam();
  tools::FaCase fa = make_case(sc.problem);
  DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
               v = to_device(ctx, fa.inputs.value);
  FaOutputs contiguous = plan_and_run(ctx, fa, q.view(), k.view(), v.view());
  tools::Verdict verdict = judge_outputs(fa, contiguous);
  EXPECT_TRUE(verdict.passed()) << verdict.summary();

  TensorView qs, ks, vs;
  DeviceTensor qb = place_strided(ctx, fa.inputs.query, sc.q_padded, sc.q_offset, qs);
  DeviceTensor kb = place_strided(ctx, fa.inputs.key, sc.k_padded, sc.k_offset, ks);
  DeviceTensor vb = place_strided(ctx, fa.inputs.value, sc.v_padded, sc.v_offset, vs);
  ASSERT_FALSE(qs.is_contiguous() && ks.is_contiguous() && vs.is_contiguous());
  expect_same_bytes(plan_and_run(ctx, fa, qs, ks, vs), contiguous, std::string(sc.problem) + " strided vs contiguous");
}

INSTANTIATE_TEST_SUITE_P(
    Views, FaApiStrided,
    testing::Values(
        // BSND: query seq stride padded (an unused head slot per row), key at a 6-byte offset, value with a
        // padded head stride (70 for Dv 64).
        StridedCase{
            "fa:b2n4g2s1=7s2=113d=64:layout=BSND:dt=fp16", {2, 7, 5, 64}, {2, 113, 2, 64}, {2, 113, 2, 70}, 0, 3, 0},
        // BNSD: padded sequence (head stride), padded head dim rows, and an odd element offset.
        StridedCase{"fa:b1n4g2s1=113s2=7dk=192dv=128:layout=BNSD:dt=bf16",
                    {1, 4, 120, 192},
                    {1, 2, 7, 200},
                    {1, 3, 7, 128},
                    5,
                    0,
                    1},
        // BSH and SBH: H padded, so the seq (batch) stride is not N*D.
        StridedCase{"fa:b2n2g1s1=113s2=7d=59:layout=BSH:dt=fp32", {2, 113, 131}, {2, 7, 118}, {3, 7, 120}, 0, 1, 2},
        StridedCase{"fa:b3n2g1s1=113s2=7d=40:layout=SBH:dt=fp16", {113, 4, 80}, {7, 3, 96}, {7, 3, 80}, 2, 0, 0},
        // GQA decode folds the heads of a group into rows one head stride apart (fa_decode_fold_test.cpp): padded
        // head strides and a padded head count on the query.
        StridedCase{"fa:b2n8g4s1=1s2=113d=64:layout=BSND:dt=bf16", {2, 1, 9, 70}, {2, 113, 2, 64}, {2, 113, 3, 64}, 3,
                    0, 1},
        StridedCase{"fa:b1n4g2s1=1s2=7d=40:layout=BNSD:dt=fp32", {1, 5, 2, 44}, {1, 2, 7, 40}, {1, 2, 9, 40}, 0, 2, 0}),
    [](const testing::TestParamInfo<StridedCase>& info) { return std::to_string(info.index); });

// aclnn callers hand out workspace from their own arena; a sub-buffer must work like a plain buffer. The dense
// mask makes the plan book workspace (the mask prepass's refined tile lists).
TEST(FaApi, WorkspaceMayBeASubBuffer) {
  const Context& ctx = test_context();
  tools::FaCase fa = make_case("fa:b2n2g1s1=7s2=113d=64:layout=BSH:dt=fp32:mask=b1ss");
  DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
               v = to_device(ctx, fa.inputs.value), mask = to_device(ctx, *fa.inputs.atten_mask);
  FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, fa.descs(), fa.attrs);
  ASSERT_GT(plan.workspace_size, 0u);
  Outputs o = allocate_outputs(ctx, plan);
  const std::size_t origin = std::max<std::size_t>(ctx.info().base_addr_align, 1) * 2;
  DeviceTensor arena = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(origin + plan.workspace_size + 64)}});
  cl_buffer_region region{origin, plan.workspace_size};
  cl_int err = CL_SUCCESS;
  cl_mem ws = clCreateSubBuffer(arena.buffer(), CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
  ASSERT_EQ(err, CL_SUCCESS);
  FlashAttentionScoreTensors t = tensors_of(q.view(), k.view(), v.view(), o);
  t.atten_mask = mask.view();
  EXPECT_NO_THROW({
    run_flash_attention_score(ctx, plan, t, ws);
    ctx.finish();
  });
  clReleaseMemObject(ws);
  tools::Verdict verdict = judge_outputs(fa, outputs_of(ctx, o.out, o.max, o.sum));
  EXPECT_TRUE(verdict.passed()) << verdict.summary();
}

TEST(FaApi, RunsAreBitwiseDeterministic) {
  const Context& ctx = test_context();
  tools::FaCase fa = make_case("fa:b2n8g2s1=113s2=113dk=192dv=128:layout=BSND:dt=bf16");
  std::vector<FaOutputs> runs;
  for (int plan_index = 0; plan_index < 2; ++plan_index) {  // a fresh plan and fresh buffers, then a rerun
    tools::DeviceRun run(ctx, fa);
    run.prepare();
    for (int rep = 0; rep < (plan_index == 0 ? 2 : 1); ++rep) {
      std::vector<std::string> problems;
      run.run();
      runs.push_back(FaOutputs::from(run.read(problems)));
      for (const std::string& problem : problems) ADD_FAILURE() << problem;
    }
  }
  tools::Verdict verdict = judge_outputs(fa, runs[0]);
  EXPECT_TRUE(verdict.passed()) << verdict.summary();
  expect_same_bytes(runs[0], runs[1], "rerun of one plan");
  expect_same_bytes(runs[0], runs[2], "a second plan");
}

}  // namespace
}  // namespace cannon::optest

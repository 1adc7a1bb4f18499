// Misuse of the FlashAttentionScore API at run time and plan time: each must end in a clean cannon::Error with
// the right Status and a message naming the argument, and a rejected run must not write anything (outputs stay
// poisoned, a canary past a too-small output view stays intact). Validation rules themselves are covered by
// tests/unit/validate_test.cpp; these tests check the public entry points and run()'s own view checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

constexpr uint8_t kPoison = 0xFF;

void fill(const Context& ctx, cl_mem mem, std::size_t bytes, uint8_t value) {
  std::vector<uint8_t> host(bytes, value);
  upload(ctx, TensorView{mem, 0, {DType::kUInt8, {static_cast<int64_t>(bytes)}}, {}}, host.data(), bytes);
}

std::vector<uint8_t> read_all(const Context& ctx, cl_mem mem, std::size_t bytes) {
  std::vector<uint8_t> host(bytes);
  download(ctx, TensorView{mem, 0, {DType::kUInt8, {static_cast<int64_t>(bytes)}}, {}}, host.data(), bytes);
  return host;
}

// A valid planned problem with poisoned outputs; each test breaks one thing and checks nothing was written. Its
// dense atten_mask makes the plan use the mask prepass, whose refined tile lists need a workspace.
class FaRunErrors : public testing::Test {
 protected:
  void SetUp() override {
    fa_ = make_case("fa:b1n2g1s1=7s2=7d=64:layout=BSND:dt=fp32:mask=ss");
    plan_ = plan_flash_attention_score(ctx_, fa_.descs(), fa_.attrs);
    q_ = to_device(ctx_, fa_.inputs.query);
    k_ = to_device(ctx_, fa_.inputs.key);
    v_ = to_device(ctx_, fa_.inputs.value);
    mask_ = to_device(ctx_, *fa_.inputs.atten_mask);
    out_ = allocate(ctx_, plan_.attention_out);
    max_ = allocate(ctx_, plan_.softmax_max);
    sum_ = allocate(ctx_, plan_.softmax_sum);
    softmax_out_ = allocate(ctx_, plan_.softmax_out);
    ws_ = allocate(ctx_, {DType::kUInt8, {static_cast<int64_t>(plan_.workspace_size)}});
    for (const DeviceTensor* t : {&out_, &max_, &sum_}) fill(ctx_, t->buffer(), t->desc().bytes(), kPoison);
  }

  FlashAttentionScoreTensors valid() const {
    return {q_.view(),    k_.view(),   v_.view(),   {},          {},
            mask_.view(), out_.view(), max_.view(), sum_.view(), softmax_out_.view()};
  }

  void expect_run_error(const FlashAttentionScoreTensors& t, cl_mem ws, Status status,
                        std::initializer_list<const char*> needles) {
    expect_error(
        [&] {
          run_flash_attention_score(ctx_, plan_, t, ws);
          ctx_.finish();
        },
        status, needles);
  }

  // True while no output element has been written since SetUp.
  bool outputs_untouched() const {
    for (const DeviceTensor* t : {&out_, &max_, &sum_}) {
      std::vector<uint8_t> bytes = read_all(ctx_, t->buffer(), t->desc().bytes());
      if (!std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == kPoison; })) return false;
    }
    return true;
  }

  const Context& ctx_ = test_context();
  tools::FaCase fa_;
  FlashAttentionScorePlan plan_;
  DeviceTensor q_, k_, v_, mask_, out_, max_, sum_, softmax_out_, ws_;
};

TEST_F(FaRunErrors, ValidTensorsRun) {
  EXPECT_NO_THROW(run_flash_attention_score(ctx_, plan_, valid(), ws_.buffer()));
  ctx_.finish();
  EXPECT_FALSE(outputs_untouched());
}

TEST_F(FaRunErrors, NullBuffers) {
  FlashAttentionScoreTensors t = valid();
  t.query.buffer = nullptr;
  expect_run_error(t, ws_.buffer(), Status::kParamNullptr, {"query", "null"});
  t = valid();
  t.softmax_sum.buffer = nullptr;
  expect_run_error(t, ws_.buffer(), Status::kParamNullptr, {"softmax_sum", "null"});
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(FaRunErrors, ViewDescriptionDiffersFromPlan) {
  FlashAttentionScoreTensors t = valid();
  t.key.desc.shape[1] = 6;  // fewer keys than planned, still inside the buffer
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"key", "plan"});
  t = valid();
  t.value.desc.dtype = DType::kFloat16;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"value", "plan"});
  t = valid();
  t.softmax_max.desc.shape.back() = 1;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"softmax_max", "plan"});
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(FaRunErrors, OutputViewLargerThanItsBufferWritesNothing) {
  // The output view sits on a sub-buffer 4 bytes too small; the parent's bytes past it are a canary.
  const std::size_t bytes = plan_.attention_out.bytes(), canary = 512;
  DeviceTensor parent = allocate(ctx_, {DType::kUInt8, {static_cast<int64_t>(bytes + canary)}});
  fill(ctx_, parent.buffer(), bytes + canary, 0xA5);
  cl_buffer_region region{0, bytes - 4};
  cl_int err = CL_SUCCESS;
  cl_mem small = clCreateSubBuffer(parent.buffer(), CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
  ASSERT_EQ(err, CL_SUCCESS);
  FlashAttentionScoreTensors t = valid();
  t.attention_out.buffer = small;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"attention_out", "bytes"});
  clReleaseMemObject(small);
  std::vector<uint8_t> after = read_all(ctx_, parent.buffer(), bytes + canary);
  EXPECT_TRUE(std::all_of(after.begin(), after.end(), [](uint8_t b) { return b == 0xA5; }));

  // A right-sized buffer with a byte offset pushes the view's end past it.
  t = valid();
  t.softmax_sum.offset = 4;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"softmax_sum", "bytes"});
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(FaRunErrors, OutputViewsMustBeContiguous) {
  FlashAttentionScoreTensors t = valid();
  t.attention_out.strides = contiguous_strides(plan_.attention_out.shape);
  std::swap(t.attention_out.strides[1], t.attention_out.strides[2]);  // BSND out stored as BNSD
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"attention_out", "contiguous"});
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(FaRunErrors, WorkspaceNullOrTooSmall) {
  ASSERT_GT(plan_.workspace_size, 0u);
  expect_run_error(valid(), nullptr, Status::kParamNullptr, {"workspace"});
  DeviceTensor small = allocate(ctx_, {DType::kUInt8, {static_cast<int64_t>(plan_.workspace_size - 1)}});
  expect_run_error(valid(), small.buffer(), Status::kParamInvalid, {"workspace"});
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(FaRunErrors, MisalignedByteOffset) {
  DeviceTensor roomy = allocate(ctx_, {DType::kUInt8, {static_cast<int64_t>(fa_.inputs.query.bytes.size() + 16)}});
  FlashAttentionScoreTensors t = valid();
  t.query = TensorView{roomy.buffer(), 2, detail::PlanAccess::data(plan_).descs.query, {}};  // fp32 at byte 2
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"query", "offset"});
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(FaRunErrors, OptionalInputsAndPlanMustAgree) {
  FlashAttentionScoreTensors t = valid();
  t.pse = q_.view();
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"pse"});
  expect_error([&] { run_flash_attention_score(ctx_, FlashAttentionScorePlan{}, valid(), ws_.buffer()); },
               Status::kParamInvalid, {"plan"});
  EXPECT_TRUE(outputs_untouched());
}

// A byte offset near 2^64 used to make offset + size wrap: the view passed and the kernel read before the
// query buffer (or wrote before the output buffer, corrupting the heap).
TEST_F(FaRunErrors, ByteOffsetNear2To64IsRefused) {
  for (std::size_t offset : {~std::size_t{0} - 63, ~std::size_t{0} - plan_.attention_out.bytes() + 1}) {
    FlashAttentionScoreTensors t = valid();
    t.query.offset = offset / 4 * 4;
    expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"query"});
    t = valid();
    t.attention_out.offset = offset / 4 * 4;
    expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"attention_out"});
  }
  EXPECT_TRUE(outputs_untouched());
}

// A stride whose (shape - 1)·stride overflows int64 used to pass (signed overflow, then a segfault in the kernel).
TEST_F(FaRunErrors, StrideWhoseExtentOverflowsIsRefused) {
  FlashAttentionScoreTensors t = valid();
  t.key.strides = contiguous_strides(t.key.desc.shape);
  t.key.strides[1] = int64_t{1} << 61;  // 6 · 2^61 > 2^63
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"key"});
  t = valid();
  t.value.strides = contiguous_strides(t.value.desc.shape);
  t.value.strides[3] = INT64_MAX;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"value"});
  t = valid();
  t.query.strides = contiguous_strides(t.query.desc.shape);
  t.query.strides[2] = -64;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"query", "negative"});
  EXPECT_TRUE(outputs_untouched());
}

// Outputs and workspace may not share a byte with an input or with each other, also through sub-buffers.
TEST_F(FaRunErrors, OverlappingOutputsAreRefused) {
  FlashAttentionScoreTensors t = valid();
  t.softmax_sum = t.softmax_max;
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"softmax_max", "softmax_sum", "overlap"});
  expect_run_error(valid(), out_.buffer(), Status::kParamInvalid, {"workspace", "attention_out", "overlap"});

  // attention_out written over the query it reads: the same shape and dtype, so only the overlap is wrong.
  DeviceTensor shared = to_device(ctx_, fa_.inputs.query);
  t = valid();
  t.query = shared.view();
  t.attention_out = shared.view();
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"attention_out", "query", "input"});

  // A sub-buffer of a pool and a view of the pool itself that overlap by one float, then sit side by side.
  const std::size_t stat_bytes = plan_.softmax_max.bytes();
  DeviceTensor pool = allocate(ctx_, {DType::kUInt8, {static_cast<int64_t>(2 * stat_bytes)}});
  cl_buffer_region head{0, stat_bytes};
  cl_int err = CL_SUCCESS;
  cl_mem sub = clCreateSubBuffer(pool.buffer(), CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &head, &err);
  ASSERT_EQ(err, CL_SUCCESS);
  t = valid();
  t.softmax_max.buffer = sub;
  t.softmax_sum = TensorView{pool.buffer(), stat_bytes - 4, plan_.softmax_sum, {}};
  expect_run_error(t, ws_.buffer(), Status::kParamInvalid, {"softmax_max", "softmax_sum", "overlap"});
  EXPECT_TRUE(outputs_untouched());
  t.softmax_sum.offset = stat_bytes;
  EXPECT_NO_THROW(run_flash_attention_score(ctx_, plan_, t, ws_.buffer()));
  ctx_.finish();
  clReleaseMemObject(sub);
}

// Plan-time errors reach callers of both entry points as the same cannon::Error.
TEST(FaPlanErrors, BadArgumentsThroughPublicEntryPoints) {
  const Context& ctx = test_context();
  tools::FaCase fa = make_case("fa:b1n4g2s1=7s2=9d=64:layout=BSND:dt=fp16");
  DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
               v = to_device(ctx, fa.inputs.value);

  FlashAttentionScoreAttrs attrs = fa.attrs;
  attrs.head_num = 2;
  expect_error([&] { flash_attention_score(ctx, q.view(), k.view(), v.view(), attrs); }, Status::kParamInvalid,
               {"head_num"});
  attrs = fa.attrs;
  attrs.input_layout = "bsnd";  // Ascend spells layouts in upper case only
  expect_error([&] { plan_flash_attention_score(ctx, fa.descs(), attrs); }, Status::kParamInvalid, {"input_layout"});

  FlashAttentionScoreDescs descs = fa.descs();
  descs.pse = TensorDesc{DType::kFloat16, {1, 4, 7, 8}};  // S2 is 9
  expect_error([&] { plan_flash_attention_score(ctx, descs, fa.attrs); }, Status::kParamInvalid, {"pse"});

  // TND: a non-zero entry after a zero one is not a trailing zero.
  tools::FaCase tnd = make_case("fa:n2g1d=64:layout=TND:dt=fp16:seqq=2,4,6:seqkv=3,5,8");
  attrs = tnd.attrs;
  attrs.actual_seq_kvlen = {3, 0, 8};
  expect_error([&] { plan_flash_attention_score(ctx, tnd.descs(), attrs); }, Status::kParamInvalid,
               {"actual_seq_kvlen"});
}

}  // namespace
}  // namespace cannon::optest
